"""The shipped playbook library: valid, cited, consistent with the op/probe/action vocabulary."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from wbplay.cli import app
from wbplay.library.scenarios import scenarios_dir
from wbplay.playbook import load as playbook_mod
from wbplay.playbook.model import Probe, Risk
from wbplay.resources import schemas_dir
from wbplay.vocab import actions, ops, probes

LIBRARY = sorted(playbook_mod.library_files())
REQUIRED = {
    "fix-0x80070422",
    "fix-0x8007045d",
    "check-image-destination",
    "fix-backup-settings-not-current",
    "fix-vss-writers",
    "fix-shadow-storage",
    "check-user-folders",
    "check-easy-print-driver",
    "fix-0x81000031",
}
# A "why" names where its claim comes from: the seed, docs/domain.md, a KB/Microsoft doc, or
# a confidence mark; "As for pass 1 (...)" style steps cite through their parenthesis.
CITATION = re.compile(r"seed|docs/domain\.md|KB\d{6,7}|\[(V|3P|U)\]|\.md\b|\[V\d?\]", re.IGNORECASE)


def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((schemas_dir() / "playbook.schema.json").read_text(encoding="utf-8"))
    return data


def test_the_library_holds_every_troubleshooting_path() -> None:
    assert {p.stem for p in LIBRARY} >= REQUIRED


@pytest.mark.parametrize("path", LIBRARY, ids=[p.stem for p in LIBRARY])
def test_playbook_loads_and_is_cited(path: Path) -> None:
    pb = playbook_mod.load(path)
    assert pb.id == path.stem
    assert pb.references and pb.applies_to.os
    for step in pb.steps:
        assert CITATION.search(step.why), f"{pb.id}/{step.id}: the why cites no source"
    whys = " ".join(s.why for s in pb.steps)
    if "[U]" in whys:
        assert "[U]" in pb.notes or "Unverified" in pb.notes, f"{pb.id}: [U] steps but no note saying so"
    for step in pb.steps:
        if step.risk == Risk.IRREVERSIBLE:
            assert step.opt_in and pb.vars[step.opt_in].default is False, f"{pb.id}/{step.id}"
    assert (scenarios_dir() / f"{pb.id}.yml").is_file(), f"{pb.id}: no scenarios"


def _kinds(node: dict[str, Any]) -> tuple[set[str], set[str]]:
    enum = set(node["properties"]["kind"]["enum"])
    branches = {b["if"]["properties"]["kind"]["const"] for b in node["allOf"]}
    return enum, branches


def test_schema_kinds_match_the_vocabulary() -> None:
    defs = schema()["$defs"]
    check_enum, check_branches = _kinds(defs["check"])
    action_enum, action_branches = _kinds(defs["action"])
    assert check_enum == check_branches == set(probes.PROBES)
    assert action_enum == action_branches == set(actions.ACTIONS)


def test_irreversible_actions() -> None:
    irreversible = {k for k, a in actions.ACTIONS.items() if a.risk == Risk.IRREVERSIBLE}
    assert irreversible == {
        "path.delete",
        "chkdsk.schedule",
        "chkdsk.run",
        "sfc.scannow",
        "dism.restorehealth",
        "host.reboot",
        "shadowstorage.delete",
    }


def test_before_probes_are_single_reads_of_read_ops() -> None:
    sample = {
        "name": "VSS",
        "volume": "C:",
        "mode": "r",
        "for_volume": "@system",
        "on_volume": "C:",
        "max_size_mb": 1024,
        "reason": "test",
        "key": "HKLM\\SOFTWARE",
        "type": "REG_SZ",
        "value": "x",
        "path": "E:\\WindowsImageBackup",
        "new_name": "x",
        "start_mode": "Manual",
    }
    for kind, spec in actions.ACTIONS.items():
        if spec.before is None:
            continue
        probe = spec.before({k: v for k, v in sample.items() if k in spec.args})
        assert probes.single_read(probe.kind), kind  # rollback re-reads it alone
        assert not ops.OP_SPECS[probes.to_op(probe).name].writes


@pytest.mark.parametrize("kind", sorted(probes.PROBES))
def test_every_probe_reads_with_valid_arguments(kind: str) -> None:
    args = {
        "name": "System Writer",
        "volume": "C:",
        "target": "E:",
        "for_volume": "@system",
        "on_volume": "C:",
        "storage_volume": "@boot",
        "since_days": 7,
        "provider": "Microsoft-Windows-Backup",
        "key": "HKLM\\SOFTWARE",
        "path": "C:\\Users",
    }
    branch = next(
        b for b in schema()["$defs"]["check"]["allOf"] if b["if"]["properties"]["kind"]["const"] == kind
    )
    probe = Probe(kind, {k: v for k, v in args.items() if k in branch["then"]["properties"]})
    for op in probes.to_ops(probe):
        assert not op.writes and ops.check_args(op) == [], (kind, op)


def test_every_read_op_documents_its_result_shape() -> None:
    doc = ops.__doc__ or ""
    for name, spec in ops.OP_SPECS.items():
        if not spec.writes:
            assert f"``{name}``" in doc, name
    assert ops.OP_SPECS["host.reboot"].reboots and not any(
        s.reboots for n, s in ops.OP_SPECS.items() if n != "host.reboot"
    )


def test_wbplay_list_shows_the_library() -> None:
    result = CliRunner().invoke(app, ["list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for pb_id in REQUIRED:
        assert pb_id in result.output
    for code in ("0x80070422", "0x8007045D", "0x80780119", "0x81000031"):
        assert code in result.output
