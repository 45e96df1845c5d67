"""Property: for random host states, a dry-run of any shipped playbook never mutates anything."""

from __future__ import annotations

import copy
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wbplay.errors import ReadOnlyHostError
from wbplay.hosts.sim import SimHost
from wbplay.playbook import load as playbook
from wbplay.playbook.schema import check_value
from wbplay.playbook.variables import bind
from wbplay.run.journal import Journal
from wbplay.run.options import Options
from wbplay.run.runner import Runner
from wbplay.sim.state import load_host_model, read_state, save_state
from wbplay.vocab.ops import OP_SPECS, Op

MODES = ["Automatic", "AutomaticDelayed", "Manual", "Disabled"]
STATES = ["Running", "Stopped", "StartPending", "StopPending", "Paused"]
BASE = load_host_model("pc42").state


@st.composite
def host_states(draw: st.DrawFn) -> dict:
    state = copy.deepcopy(BASE)
    names = list(state["services"])
    for name in names:
        svc = state["services"][name]
        svc["start_mode"] = draw(st.sampled_from(MODES))
        svc["state"] = draw(st.sampled_from(STATES))
        svc["depends_on"] = draw(st.lists(st.sampled_from(names), max_size=2, unique=True))
    for name in draw(st.lists(st.sampled_from(names), max_size=3, unique=True)):
        del state["services"][name]
    state["os"]["product_type"] = draw(st.sampled_from(["workstation", "server"]))
    state["os"]["locale"] = draw(st.sampled_from(["ja-JP", "en-US"]))
    if draw(st.booleans()):
        del state["files"]["E:\\WindowsImageBackup\\PC42"]
    return state


class Quiet:
    def event(self, name: str, fields: object) -> None:
        pass


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(state=host_states(), book=st.sampled_from(playbook.library_files()))
def test_dry_run_never_mutates(tmp_path: Path, state: dict, book: Path) -> None:
    assert check_value(state, "hoststate") == []
    path = tmp_path / "state.yml"
    save_state(path, state)
    before_bytes = path.read_bytes()
    before = read_state(path)
    pb = playbook.load(book)
    values = bind(pb.vars, {})
    host = SimHost(path, read_only=True)
    j = Journal("prop", tmp_path / "runs")
    report = Runner(
        pb,
        host,
        variables=values,
        options=Options(dry_run=True),
        journal=j,
        listener=Quiet(),
        confirm=lambda r: False,
    ).run()
    j.close()
    assert report.mode == "dry-run"
    assert host.model.state == before
    assert path.read_bytes() == before_bytes


# No deadline: a property test asserts behaviour, not speed (a loaded CI machine is slow).
@settings(deadline=None)
@given(op=st.sampled_from(sorted(n for n, s in OP_SPECS.items() if s.writes)))
def test_read_only_host_refuses_every_write_op(tmp_path_factory, op: str) -> None:
    path = tmp_path_factory.mktemp("ro") / "s.yml"
    save_state(path, BASE)
    host = SimHost(path, read_only=True)
    try:
        host.apply(Op(op, {}))
    except ReadOnlyHostError:
        return
    raise AssertionError(f"{op} was not refused")
