"""The package's layers, as engine/wbplay/README.md draws them: no module imports upward.

Every import counts, including the lazy ones inside functions: a lazy import
still makes the lower layer depend on the higher one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "engine" / "wbplay"

# Each layer and the layers it may import (besides itself).  The order of the
# README's map; a new module joins the layer of the subpackage it sits in.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "format": {"core"},
    "vocab": {"core", "format"},
    "loader": {"core", "format", "vocab"},
    "agent": {"core", "vocab"},
    "sim": {"core", "format", "vocab"},
    "hosts": {"core", "format", "vocab", "agent", "sim"},
    "lab": {"core", "format", "vocab", "agent", "sim"},
    "run": {"core", "format", "vocab", "loader", "hosts"},
    "report": {"core", "format", "vocab", "run"},
    "library": {"core", "format", "vocab", "loader", "agent", "sim", "hosts", "run"},
    "app": {"core", "format", "vocab", "loader", "agent", "sim", "hosts", "lab", "run", "report", "library"},
}
ALLOWED["cli"] = {*ALLOWED["app"], "app"}
# Third-party packages only the edges may import.
EDGE_ONLY = {"rich": {"cli"}, "typer": {"cli"}}


def layer_of(module: str) -> str:
    parts = module.split(".")
    if parts[:2] == ["wbplay", "playbook"] and len(parts) > 2 and parts[2] in {"load", "lint"}:
        return "loader"
    sub = parts[1] if len(parts) > 1 else ""
    return {
        "playbook": "format",
        "vocab": "vocab",
        "agent": "agent",
        "sim": "sim",
        "hosts": "hosts",
        "lab": "lab",
        "run": "run",
        "report": "report",
        "library": "library",
        "app": "app",
        "cli": "cli",
        "__main__": "cli",
    }.get(sub, "core")


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    where = PACKAGE.parent / name.replace(".", "/")
    return where.with_suffix(".py").exists() or (where / "__init__.py").exists()


def _imports(module: str, source: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, imported module) for every import in ``source``, absolute or relative."""
    here = module.split(".")
    package = here if is_package else here[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *([base] if base else [])])
            # `from wbplay import x` imports the submodule wbplay.x when there is one.
            for a in node.names:
                sub = f"{base}.{a.name}"
                found.append((node.lineno, sub if _is_module(sub) else base))
    return found


def violations(module: str, source: str, is_package: bool = False) -> list[str]:
    mine = layer_of(module)
    wrong = []
    for line, target in _imports(module, source, is_package):
        top = target.split(".")[0]
        if top == "wbplay":
            theirs = layer_of(target)
            if theirs != mine and theirs not in ALLOWED[mine]:
                wrong.append(f"{module}:{line} ({mine}) imports {target} ({theirs})")
        elif top in EDGE_ONLY and mine not in EDGE_ONLY[top]:
            wrong.append(f"{module}:{line} ({mine}) imports {top}, which only {sorted(EDGE_ONLY[top])} may")
    return wrong


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_layer(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert not violations(_module_name(path), source, path.name == "__init__.py")


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("wbplay.playbook.model", "from wbplay.run.runner import Runner\n"),
        ("wbplay.vocab.probes", "def f():\n    from wbplay.hosts import base\n"),  # lazy imports count
        ("wbplay.sim.executor", "from wbplay import lab\n"),
        ("wbplay.lab.server", "from ..hosts.base import Host\n"),  # relative imports count
        ("wbplay.run.journal", "import rich\n"),
        ("wbplay.playbook.schema", "from wbplay.playbook import load\n"),
    ],
)
def test_the_rule_catches_an_upward_import(module: str, source: str) -> None:
    assert violations(module, source)


def test_the_rule_allows_a_downward_import() -> None:
    source = "from wbplay.playbook.model import Step\nfrom wbplay import paths\n"
    assert not violations("wbplay.run.runner", source)
    assert not violations("wbplay.playbook.load", "from wbplay.vocab import actions\n")


def test_every_subpackage_has_a_layer_and_the_map_names_it() -> None:
    readme = (PACKAGE / "README.md").read_text(encoding="utf-8")
    for sub in sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()):
        assert f"`{sub}/`" in readme, f"engine/wbplay/README.md does not describe {sub}/"
        assert layer_of(f"wbplay.{sub}.x") != "core", f"{sub}/ has no layer in ALLOWED"
