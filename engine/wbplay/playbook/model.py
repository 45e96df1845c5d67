"""The playbook model: frozen dataclasses built by :mod:`wbplay.playbook`.

Matchers and conditions stay as validated plain data (``Mapping``); they are
interpreted by :mod:`wbplay.matchers` and :mod:`wbplay.conditions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class Risk(IntEnum):
    """How dangerous a remedy is; ordered so a playbook can raise it, never lower it."""

    READ_ONLY = 0
    REVERSIBLE = 1
    IRREVERSIBLE = 2

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")

    @staticmethod
    def parse(text: str) -> Risk:
        return Risk[text.upper().replace("-", "_")]


@dataclass(frozen=True, slots=True)
class VarSpec:
    name: str
    type: str  # string | integer | boolean | list
    description: str = ""
    default: Any = None
    required: bool = False
    choices: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class Probe:
    """A check: a read of the host plus an optional field to select from it."""

    kind: str
    args: Mapping[str, Any]
    field: str | None = None


@dataclass(frozen=True, slots=True)
class Action:
    """A typed remedy (or undo).  ``kind == "manual"`` is an instruction for a human."""

    kind: str
    args: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Verify:
    probe: Probe
    expect: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    title: str
    why: str
    check: Probe
    expect: Mapping[str, Any]
    remedy: Action | None = None
    verify: Verify | None = None
    undo: Action | None = None
    when: Any = None  # a condition tree, see wbplay.conditions
    risk: Risk = Risk.READ_ONLY  # effective risk: max(derived, declared)
    opt_in: str | None = None  # boolean variable that allows an irreversible remedy
    on_failure: str = "rollback"  # rollback | stop | continue
    references: tuple[str, ...] = ()
    line: int | None = None  # where the step starts in its file, for messages

    @property
    def is_manual(self) -> bool:
        return self.remedy is not None and self.remedy.kind == "manual"


@dataclass(frozen=True, slots=True)
class AppliesTo:
    os: tuple[str, ...] = ()
    error_codes: tuple[str, ...] = ()
    messages: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # lang -> verbatim texts


@dataclass(frozen=True, slots=True)
class Playbook:
    id: str
    title: str
    description: str
    path: str
    sha256: str  # of the file bytes: plans and journals pin exactly what was reviewed
    applies_to: AppliesTo
    references: tuple[str, ...]
    vars: Mapping[str, VarSpec]
    steps: tuple[Step, ...]
    notes: str = ""

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)
