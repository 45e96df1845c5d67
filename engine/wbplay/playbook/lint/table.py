"""The lint rules (id -> severity, what each catches) and the finding they produce."""

from __future__ import annotations

from dataclasses import dataclass

ERROR, WARNING = "error", "warning"

RULES: dict[str, tuple[str, str]] = {
    "WB000": (ERROR, "the file does not validate against the playbook schema"),
    "WB001": (ERROR, "the remedy cannot satisfy the step's own expect"),
    "WB002": (ERROR, "the verify can never pass after the remedy"),
    "WB003": (ERROR, "when: refers to an unknown or later step"),
    "WB004": (ERROR, "a variable is used but never defined"),
    "WB005": (WARNING, "a variable is defined but never used"),
    "WB006": (WARNING, "the step can never run (its when: can never hold)"),
    "WB007": (ERROR, "an irreversible remedy without opt_in"),
    "WB008": (ERROR, "a manual step without an instruction"),
    "WB009": (WARNING, "on_failure: continue after a change that later steps depend on"),
    "WB010": (WARNING, "the step cites no source in why or references"),
    "WB011": (WARNING, "a service name Windows does not have (not in the known list)"),
    "WB012": (WARNING, "a registry path outside the hives and roots Windows has"),
    "WB013": (WARNING, "the playbook has no scenario file"),
    "WB014": (WARNING, "two steps make the same check with the same expectation"),
    "WB015": (ERROR, "risk: is lower than the remedy's derived risk"),
    "WB016": (WARNING, "a TODO placeholder from wbplay new is still there"),
    "WB017": (WARNING, "no scenario runs the step (wbplay lint --scenarios)"),
}


@dataclass(frozen=True, slots=True)
class Finding:
    path: str
    line: int
    column: int
    rule: str
    message: str
    hint: str

    @property
    def severity(self) -> str:
        return RULES[self.rule][0]
