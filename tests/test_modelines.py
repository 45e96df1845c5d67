"""Every shipped playbook, scenario file and simulated PC names its schema for the editor
(`# yaml-language-server: $schema=...`), by a path that resolves in a checkout and, for the
playbooks and their scenarios, in an installed wheel too."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The checkout's files, not the installed ones: CI installs a wheel, where the paths differ; the
# wheel layout is checked below by mapping each checkout path through pyproject's wheel config.
PLAYBOOKS = ROOT / "playbooks"
STATES = ROOT / "engine" / "wbplay" / "sim" / "states"
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)\n")
FILES = (
    [(p, "playbook") for p in sorted(PLAYBOOKS.glob("*.yml"))]
    + [(p, "scenarios") for p in sorted((PLAYBOOKS / "scenarios").glob("*.yml"))]
    + [(p, "hoststate") for p in sorted(STATES.glob("*.yml"))]
)


def _target(path: Path) -> str:
    m = MODELINE.match(path.read_text(encoding="utf-8"))
    assert m, f"{path}: the first line is not a yaml-language-server modeline"
    return m.group(1)


@pytest.mark.parametrize(("path", "schema"), FILES, ids=[f"{s}:{p.name}" for p, s in FILES])
def test_every_shipped_file_names_its_schema(path: Path, schema: str) -> None:
    target = _target(path)
    assert target.endswith(f"/{schema}.schema.json")
    assert (path.parent / target).resolve().is_file(), target


def _wheel_path(repo_path: str) -> str | None:
    """Where a checkout path lands in the wheel (pyproject's packages and force-include)."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = config["tool"]["hatch"]["build"]["targets"]["wheel"]
    mapping = {src: dst for src, dst in wheel["force-include"].items()}
    mapping.update({pkg: posixpath.basename(pkg) for pkg in wheel["packages"]})
    for src, dst in mapping.items():
        if repo_path == src or repo_path.startswith(src + "/"):
            return dst + repo_path[len(src) :]
    return None


@pytest.mark.parametrize("kind", ["playbook", "scenarios"])
def test_modelines_resolve_in_the_wheel_layout(kind: str) -> None:
    for path, schema in FILES:
        if schema != kind:
            continue
        rel = path.resolve().relative_to(ROOT).as_posix()
        in_wheel = _wheel_path(rel)
        assert in_wheel is not None, rel
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(in_wheel), _target(path)))
        assert resolved == _wheel_path(f"schemas/{schema}.schema.json"), (rel, resolved)
