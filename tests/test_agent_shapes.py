"""The agent and the simulator answer identically shaped results.

No PowerShell here, so the agent's side is read from its source: every
``ConvertTo-WbJsonObject @('key', (ConvertTo-WbJsonBool ...), ...)`` in an op's
handler gives one object shape (its keys, and for each key the JSON kinds its
converter can emit).  The simulator's side is what it really answers for the
same ops on every built-in PC.  Both must name the same objects with the same
keys, and every value the simulator gives must be a kind the agent can emit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import pwsh_lint
from wbplay.agent import protocol
from wbplay.sim.executor import execute
from wbplay.sim.state import builtin_names, load_host_model
from wbplay.vocab.ops import OP_SPECS, Op

# Which agent functions build an op's objects (nested ones included).
HANDLERS: dict[str, tuple[str, ...]] = {
    "os.info": ("Get-WbOsInfo",),
    "service.list": ("ConvertTo-WbServiceJson",),
    "events.query": ("ConvertTo-WbEventJson",),
    "disk.list": ("ConvertTo-WbDiskJson",),
    "volume.list": ("Get-WbVolumeList",),
    "shadowstorage.list": ("Get-WbShadowStorageList", "ConvertTo-WbVolumeRef"),
    "backup.catalog": ("Get-WbBackupCatalog",),
    "session.info": ("Get-WbSessionInfo",),
    "session.interactive": ("Get-WbInteractiveSessions",),
    "user.libraries": ("Get-WbUserLibraries",),
    "service.policy": ("Get-WbServicePolicy",),
    "agent.environment": ("Get-WbAgentEnvironment",),
    "user.shell_folders": ("Get-WbShellFolders",),
    "printer.list": ("Get-WbPrinters",),
    "printer.drivers": ("Get-WbPrinterDrivers",),
    "chkdsk.scan": ("Get-WbCommandRead",),
    "chkntfs.query": ("Get-WbCommandRead",),
    "fsutil.dirty_query": ("Get-WbCommandRead",),
    "fsutil.ntfsinfo": ("Get-WbCommandRead",),
    "vssadmin.list_writers": ("Get-WbCommandRead",),
    "vssadmin.list_shadowstorage": ("Get-WbCommandRead",),
    "vssadmin.list_providers": ("Get-WbCommandRead",),
    "wbadmin.get_disks": ("Get-WbCommandRead",),
    "user.international": ("Get-WbUserInternational",),
    "wbadmin.get_versions": ("Get-WbCommandRead",),
    "reagentc.info": ("Get-WbCommandRead",),
    "sfc.verifyonly": ("Get-WbSfcVerify",),
    "cbs.sr_lines": ("Get-WbCbsLines",),
    "dism.scanhealth": ("Get-WbCommandRead",),
}
# Objects whose keys are data (value names, event fields), not shape.
DYNAMIC = {"folders", "fields", "values"}

KINDS = {
    "convertto-wbjsonbool": {"bool"},
    "convertto-wbjsonnumber": {"int", "null"},
    "convertto-wbjsonstring": {"str", "null"},
    "convertto-wbjsonlist": {"list"},
}
Shape = frozenset[str]


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    return {int: "int", str: "str", list: "list", dict: "object"}[type(value)]


def _value_kinds(node: Any) -> set[str]:
    """The JSON kinds one ``ConvertTo-WbJsonObject`` value expression can emit."""
    text = pwsh_lint._text(node).strip()
    if text in ("'null'", "'true'", "'false'"):
        return {"null"} if text == "'null'" else {"bool"}
    command = next((n for n in pwsh_lint._walk(node) if n.type == "command"), None)
    if command is None:
        return {"bool", "int", "str", "null", "list", "object"}  # a variable: JSON text built elsewhere
    name = pwsh_lint._text(command.children[0]).lower()
    return KINDS.get(name, {"object"})


def agent_shapes(script: str, function: str) -> dict[Shape, dict[str, set[str]]]:
    """``{keys: {key: kinds}}`` of every literal object the function builds."""
    node = pwsh_lint.function_node(script, function)
    assert node is not None, function
    shapes: dict[Shape, dict[str, set[str]]] = {}
    for command in pwsh_lint._walk(node):
        if command.type != "command" or pwsh_lint._text(command.children[0]) != "ConvertTo-WbJsonObject":
            continue
        array = next((n for n in pwsh_lint._walk(command) if n.type == "array_expression"), None)
        pairs = (
            next(
                (
                    n
                    for n in pwsh_lint._walk(array)
                    if n.type == "array_literal_expression" and n.child_count > 1
                ),
                None,
            )
            if array is not None
            else None
        )
        if pairs is None:
            continue  # built from a variable: keys are data
        items = [c for c in pairs.children if c.type != ","]
        keys = {pwsh_lint._literal(k): _value_kinds(v) for k, v in zip(items[::2], items[1::2], strict=True)}
        shapes[frozenset(keys)] = keys
    return shapes


def sim_objects(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for key, item in value.items():
            if key not in DYNAMIC:
                yield from sim_objects(item)
    elif isinstance(value, list):
        for item in value:
            yield from sim_objects(item)


def sample_ops(volumes: list[dict[str, Any]], providers: set[str]) -> Iterator[Op]:
    letters = [v["letter"] for v in volumes if v.get("letter")]
    for name in HANDLERS:
        spec = OP_SPECS[name]
        if name == "events.query":
            yield from (Op(name, {"provider": p}) for p in sorted(providers))
        elif any(a.name in ("volume", "target") and a.required for a in spec.args):
            arg = spec.args[0].name
            yield from (Op(name, {arg: sel}) for sel in [*letters, "@boot", "@system"])
        else:
            yield Op(name, {})


@pytest.fixture(scope="module")
def sim_shapes() -> dict[str, list[dict[str, Any]]]:
    """Every object the simulator answers per op, over every built-in PC."""
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in HANDLERS}
    for state in builtin_names():
        model = load_host_model(state)
        volumes = execute(model, Op("volume.list")).value
        providers = {e["provider"] for e in model.state["events"]}
        for op in sample_ops(volumes, providers):
            result = execute(model, op)
            if result.ok:
                found[op.name].extend(sim_objects(result.value))
    return found


def test_every_storage_and_command_read_is_compared() -> None:
    new_reads = {name for name, spec in OP_SPECS.items() if not spec.writes} - {
        "service.get",  # same handler as service.list
        "registry.get",
        "registry.list",
        "path.get",
        "path.list",
        "journal.read",  # a file's text or a list of names (tests/test_export_journal.py)
    }
    assert new_reads == set(HANDLERS)


@pytest.mark.parametrize("op", sorted(HANDLERS))
def test_agent_and_simulator_build_the_same_objects(
    op: str, sim_shapes: dict[str, list[dict[str, Any]]]
) -> None:
    script = protocol.agent_source()
    agent: dict[Shape, dict[str, set[str]]] = {}
    for function in HANDLERS[op]:
        agent.update(agent_shapes(script, function))
    objects = sim_shapes[op]
    assert objects, f"no built-in PC gives {op} anything to compare"
    sim = {frozenset(o) for o in objects}
    assert sim == set(agent), (
        f"{op}: simulator {sorted(map(sorted, sim))} vs agent {sorted(map(sorted, agent))}"
    )
    for o in objects:
        kinds = agent[frozenset(o)]
        for key, value in o.items():
            assert _kind(value) in kinds[key] or (key in DYNAMIC and _kind(value) == "object"), (
                op,
                key,
                value,
            )


def test_shape_extraction_sees_keys_and_kinds() -> None:
    script = (
        "function Get-WbX {\n"
        "    return (ConvertTo-WbJsonObject @('a', (ConvertTo-WbJsonBool $b), 'n', 'null',\n"
        "            'o', (ConvertTo-WbJsonObject @('k', (ConvertTo-WbJsonNumber 1))), 'p', $x))\n"
        "}\n"
    )
    shapes = agent_shapes(script, "Get-WbX")
    assert shapes[frozenset({"a", "n", "o", "p"})]["a"] == {"bool"}
    assert shapes[frozenset({"a", "n", "o", "p"})]["o"] == {"object"}
    assert shapes[frozenset({"a", "n", "o", "p"})]["n"] == {"null"}
    assert shapes[frozenset({"k"})] == {"k": {"int", "null"}}
