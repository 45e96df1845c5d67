"""chkdsk's questions and how ``chkdsk.schedule`` answers them (docs/agent-review.md D2).

``chkdsk X: /F|/R`` on a volume it cannot lock asks "force a dismount? (Y/N)" and then
"check the next time the system restarts? (Y/N)"; on the boot volume only the second.  The
agent answers each by its *words*, never by its position: N to the dismount question however
often it is asked, Y once to the restart question, and anything else (a question neither or
both, the restart question again after its Y, more than :data:`MAX_PROMPTS`) stops chkdsk and
fails the op.  The patterns are .NET and Python regex alike; the agent's commands.ps1 holds
the same two strings (a test keeps them equal), and the simulator answers by them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

DISMOUNT_WORDS = r"(?i)dismount|\u30DE\u30A6\u30F3\u30C8"
"""English "dismount", Japanese マウント ("mount", of 強制的にマウントを解除) [U: ja wording]."""

RESTART_WORDS = r"(?i)restart|\u518D\u8D77\u52D5"
"""English "restart(s)", Japanese 再起動 [U: ja wording]."""

MAX_PROMPTS = 4

_DISMOUNT = re.compile(DISMOUNT_WORDS)
_RESTART = re.compile(RESTART_WORDS)


def question(text: str) -> str:
    """``"dismount"``, ``"restart"`` or ``""``: the text since the last answer must name
    exactly one of the two questions."""
    dismount = bool(_DISMOUNT.search(text))
    restart = bool(_RESTART.search(text))
    if dismount != restart:
        return "dismount" if dismount else "restart"
    return ""


@dataclass(frozen=True, slots=True)
class Dialog:
    """How a chkdsk.schedule dialogue ended: the answers given, and why chkdsk was stopped
    (``None`` when it ran to its end)."""

    answers: tuple[bool, ...]
    stopped: str | None = None

    @property
    def yes(self) -> int:
        return sum(self.answers)


def answer_schedule(prompts: Iterable[str]) -> Dialog:
    """The agent's ``chkdsk-schedule`` policy over chkdsk's prompts in the order it prints
    them (commands.ps1 ``Get-WbPromptReply``)."""
    answers: list[bool] = []
    for n, text in enumerate(prompts, start=1):
        if n > MAX_PROMPTS:
            return Dialog(tuple(answers), "chkdsk asked more questions than expected and was stopped")
        kind = question(text)
        if kind == "dismount":
            answers.append(False)
        elif kind == "restart" and not any(answers):
            answers.append(True)
        elif kind == "restart":
            return Dialog(
                tuple(answers), "chkdsk asked again whether to check at the next restart and was stopped"
            )
        else:
            return Dialog(tuple(answers), "chkdsk asked a question wbplay does not recognise and was stopped")
    return Dialog(tuple(answers))
