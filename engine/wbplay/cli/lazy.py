"""Modules the commands import on first use, so ``wbplay --help`` and ``--version`` stay light.

``lazy_module("wbplay.app")`` returns the module object at once and runs its
code at the first attribute access (importlib's ``LazyLoader``): the command
modules keep writing ``app_mod.run(...)``, and only the command that runs pays
for the engine, jsonschema, pywinrm or the simulator.  ``tests/test_startup.py``
guards what ``wbplay --help`` imports.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """``name``, imported when first used (at once if it already is)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"no module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)
    return module
