"""The human console: one line per step phase, readable by a sysadmin who has
never seen wbplay, and pasteable into a change review as plain text.

Each line: STATUS, step id, observed vs expected (or the change, as
``before → after``), and the duration.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from wbplay.cli.text import clip, plain, wrapped
from wbplay.playbook.matchers import show
from wbplay.run.results import RunReport
from wbplay.safetext import visible

_STYLE = {
    "OK": "green",
    "DRIFT": "yellow",
    "PLAN": "cyan",
    "BLOCKED": "magenta",
    "MANUAL": "magenta",
    "FINDING": "yellow",
    "SKIP": "dim",
    "ERROR": "red",
    "APPLY": "cyan",
    "FIXED": "green",
    "FAILED": "red bold",
    "UNDO": "cyan",
    "UNDONE": "green",
    "KEPT": "dim",
    "CONFLICT": "red",
    "CONSENT": "magenta",
    "RAN": "dim",
    "VERIFY": "green",
    "WAIT": "cyan",
    "BACK": "green",
    "STOPPED": "yellow",
    "RESOLVED": "green",
}
# Actions that take minutes to hours on a real PC: show a live spinner with the elapsed time.
LONG_ACTIONS = {"chkdsk.run", "chkdsk.schedule", "sfc.scannow", "host.reboot", "service.restart"}
_CHECK_LABEL = {
    "ok": "OK",
    "drift": "DRIFT",
    "blocked": "BLOCKED",
    "manual": "MANUAL",
    "finding": "FINDING",
    "skipped": "SKIP",
    "error": "ERROR",
    "fixed": "FIXED",
    "failed": "FAILED",
}


def _clip(text: str, width: int = 70) -> str:
    return clip(text, width)


class ConsoleListener:
    """Prints run events as they happen."""

    def __init__(self, console: Console, *, id_width: int = 24) -> None:
        self.c = console
        self.w = id_width
        self._progress: Progress | None = None
        self._since = 0.0

    def _busy(self, text: str) -> None:
        """A live spinner with elapsed time, on a terminal only (logs get the event lines)."""
        self._idle()
        self._since = time.monotonic()
        if not self.c.is_terminal:
            return
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=self.c,
            transient=True,
        )
        self._progress.add_task(plain(text), total=None)
        self._progress.start()

    def _idle(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def _elapsed(self) -> str:
        return f"{time.monotonic() - self._since:.0f} s"

    def _line(self, label: str, step: str, text: str, ms: int | None = None) -> None:
        style = _STYLE.get(label, "")
        dur = f"  [dim]{ms} ms[/]" if ms is not None else ""
        self.c.print(
            f" [{style}]{label:<8}[/] {plain(step):<{self.w}} {plain(text)}{dur}",
            highlight=False,
            soft_wrap=True,
        )

    def _message(self, text: str, indent: int = 10) -> None:
        """A message under its step line, in full: wrapped at words on a terminal, never cut."""
        width = self.c.width if self.c.is_terminal else None
        # soft_wrap: the lines are already wrapped (or, in a log, deliberately whole)
        self.c.print(wrapped(text, indent=indent, width=width), style="dim", highlight=False, soft_wrap=True)

    def event(self, name: str, f: Mapping[str, Any]) -> None:
        handler = getattr(self, "_on_" + name.replace(".", "_"), None)
        if handler is not None:
            handler(f)

    def _on_lock_recovered(self, f: Mapping[str, Any]) -> None:
        self.c.print(
            f"[yellow]took over the stale host lock of {plain(f['stale'])} (that process is gone)[/]",
            highlight=False,
        )

    def _on_pclock_recovered(self, f: Mapping[str, Any]) -> None:
        self.c.print(
            f"[yellow]took over the PC-side host lock of {plain(f['stale'])} (stale, or left by a run "
            "of this controller that is no longer running)[/]",
            highlight=False,
        )

    def _on_run_start(self, f: Mapping[str, Any]) -> None:
        pb = f["playbook"]
        self.c.print(
            f"[bold]wbplay[/] {plain(pb['id'])} on {plain(f['host'])} [bold]({f['mode']})[/]",
            highlight=False,
        )
        self.c.print(f"  {plain(pb['title'])}", style="dim", highlight=False)

    def _on_host_facts(self, f: Mapping[str, Any]) -> None:
        x = f["facts"]
        sp = f" SP{plain(x['sp'])}" if x.get("sp") else ""
        self.c.print(
            f"  {plain(x.get('caption'))} {plain(x.get('version'))}{sp} · PowerShell "
            f"{plain(x.get('ps_version'))} · {plain(x.get('locale'))} · {f['reads']} reads in one round "
            f"trip ({f['ms']} ms)",
            style="dim",
            highlight=False,
        )

    def _on_run_precondition(self, f: Mapping[str, Any]) -> None:
        then = "a real run will refuse before its first change" if f["dry_run"] else "nothing was changed"
        reason = plain(f["reason"])
        self.c.print(f"[bold red]Not allowed to change this PC:[/] {reason}; {then}", highlight=False)

    def _on_step_check(self, f: Mapping[str, Any]) -> None:
        label = _CHECK_LABEL.get(f["status"], f["status"].upper())
        if f["status"] == "skipped":
            text = f["message"]
        elif f["status"] == "error":
            text = f"could not read: {f['error']}"
        else:
            text = f"observed {_clip(show(f['observed']), 40)} · expected {_clip(f['expected'], 40)}"
        if f["status"] == "blocked" and not f.get("has_change"):
            text = f["message"]  # held back by a guard: the reason and the variable that lifts it
        self._line(label, f["step"], text, f.get("ms"))
        if f["status"] == "manual" and f.get("message"):
            self._message(f["message"])
        if f["status"] == "finding":
            # The cause and the advice: the step's title says what is wrong, its why what to do.
            if f.get("title"):
                self._message(f"cause: {f['title']}")
            if f.get("why"):
                self._message(f"advice: {f['why']}")
            elif f.get("message") and not f.get("title"):
                self._message(f["message"])

    def _on_step_plan(self, f: Mapping[str, Any]) -> None:
        undo = "" if f.get("undo") else ", cannot be undone"
        if f["blocked"]:
            self._line("BLOCKED", f["step"], f"would change {f['description']} [{f['risk']}{undo}]")
            if f.get("reason"):
                self._message(f["reason"])
        else:
            self._line("PLAN", f["step"], f"would change {f['description']} [{f['risk']}{undo}]")

    def _on_change_intent(self, f: Mapping[str, Any]) -> None:
        self._line("APPLY", f["step"], f["description"])
        if f["action"].get("kind") in LONG_ACTIONS:
            self._busy(f"{f['step']}: {f['description']} (this can take a long time)")

    def _on_change_done(self, f: Mapping[str, Any]) -> None:
        self._idle()

    def _on_change_failed(self, f: Mapping[str, Any]) -> None:
        self._idle()
        self._line("FAILED", f["step"], f["error"], f.get("ms"))

    def _on_op_output(self, f: Mapping[str, Any]) -> None:
        # A slow tool's console output, streamed while it runs (dim, indented under its step).
        self.c.print(f"{'':>10}[dim]│ {plain(_clip(f['line'], 110))}[/]", highlight=False)

    def _on_host_reboot_dropped(self, f: Mapping[str, Any]) -> None:
        self._line("WAIT", f["step"], "the connection dropped: the PC is restarting, as expected")

    def _on_host_reboot_wait(self, f: Mapping[str, Any]) -> None:
        self._line("WAIT", f["step"], f"waiting for the PC to restart (up to {f['timeout_s']} s)")
        self._busy(f"{f['step']}: waiting for the PC to come back")

    def _on_host_reboot_retry(self, f: Mapping[str, Any]) -> None:
        if not self.c.is_terminal:
            self._line("WAIT", f["step"], f"not back yet after {self._elapsed()}: {_clip(f['error'], 60)}")

    def _on_host_back(self, f: Mapping[str, Any]) -> None:
        elapsed = self._elapsed()
        self._idle()
        self._line("BACK", f["step"], f"the PC is back after {elapsed} (booted {f['boot_time']})")

    def _on_step_verify(self, f: Mapping[str, Any]) -> None:
        self._idle()
        mark = "verified" if f["ok"] else "NOT verified"
        self._line(
            "VERIFY" if f["ok"] else "FAILED",
            f["step"],
            f"{mark}: observed {_clip(show(f['observed']), 40)}"
            + (f" · expected {f['expected']}" if f.get("expected") else ""),
            f.get("ms"),
        )

    def _on_finding_resolved(self, f: Mapping[str, Any]) -> None:
        now = _clip(show(f["observed"]), 40)
        self._line("RESOLVED", f["step"], f"passes after the repair: observed {now}")

    def _on_step_manual(self, f: Mapping[str, Any]) -> None:
        self._line("MANUAL", f["step"], f"operator answered: {f['answer']}")

    def _on_rollback_start(self, f: Mapping[str, Any]) -> None:
        n = len(f["changes"])
        self.c.print(f"[bold red]Rolling back {n} change(s), newest first[/]", highlight=False)

    def _on_run_refused(self, f: Mapping[str, Any]) -> None:
        self.c.print(
            f"[yellow]Nothing was changed: {plain(', '.join(f['manual']))} need(s) a human and stdin is "
            "not a terminal. Run wbplay in a terminal, or pass --skip-manual to leave them pending.[/]",
            highlight=False,
        )

    def _on_host_reboot_interrupted(self, f: Mapping[str, Any]) -> None:
        self._idle()
        self._line("STOPPED", f["step"], f"stopped waiting after {f['waited_s']} s: the PC is restarting")

    def _on_rollback_skipped(self, f: Mapping[str, Any]) -> None:
        self.c.print(
            f"[bold red]No rollback ({plain(f['reason'])}): {len(f['changes'])} change(s) left in place[/]",
            highlight=False,
        )

    def _on_undo_intent(self, f: Mapping[str, Any]) -> None:
        self._line("UNDO", f["step"], f["description"])

    def _on_undo_verify(self, f: Mapping[str, Any]) -> None:
        label = "UNDONE" if f["ok"] else "FAILED"
        self._line(label, f["step"], f"observed {show(f['observed'])} · expected {show(f['expected'])}")

    def _on_undo_skip(self, f: Mapping[str, Any]) -> None:
        self._line("KEPT", f["step"], f["reason"])

    def _on_undo_left(self, f: Mapping[str, Any]) -> None:
        self._line("CONFLICT" if f["reason"] == "conflict" else "CONSENT", f["step"], f["detail"])

    def _on_undo_irreversible(self, f: Mapping[str, Any]) -> None:
        self._line("RAN", f["step"], f["note"])

    def _on_undo_failed(self, f: Mapping[str, Any]) -> None:
        self._line("FAILED", f["step"], f"undo failed: {f['error']}")


_EXIT_TEXT = {
    0: "success",
    1: "changes pending",
    2: "invalid input",
    3: "a step failed; the host was rolled back",
    4: "connection or authentication failure",
    5: "the host needs attention",
    6: "no cause found: every check passed, and nothing here explains the failure",
    130: "interrupted",
}


def _summary_line(console: Console, label: str, step: str, message: str) -> None:
    """``  label step: message``, the message in full (wrapped at words on a terminal)."""
    lead = f"  {label} {visible(step)}: "
    width = console.width if console.is_terminal else None
    text = wrapped(message, indent=4, width=width, lead=len(lead))
    console.print(f"  [magenta]{label}[/] {plain(step)}: {text}", highlight=False, soft_wrap=True)


def left_in_place(report: RunReport) -> list[str]:
    """The steps of a real run whose change was sent and not rolled back."""
    if report.mode != "apply":
        return []
    return [
        s.id
        for s in report.steps
        if s.change is not None and s.status in ("fixed", "failed") and s.id not in report.rolled_back
    ]


def summary(console: Console, report: RunReport, journal_path: str) -> None:
    """The closing lines: counts, what happened to the host, where the journal is."""
    counts = report.counts()
    parts = [f"{n} {status.replace('_', ' ')}" for status, n in sorted(counts.items())]
    console.print(f"[bold]Summary[/]  {' · '.join(parts)}", highlight=False)
    pending = [s for s in report.steps if s.status in ("drift", "blocked", "manual", "finding")]
    if report.mode == "dry-run":
        console.print("  Nothing was changed (dry-run).", highlight=False)
        if any(s.status == "drift" for s in pending):
            console.print("  Run again without --dry-run to apply the PLAN lines above.", highlight=False)
    elif report.outcome == "declined":
        console.print("  Nothing was changed: the changes were not confirmed.", highlight=False)
    for s in report.steps:
        if s.status == "blocked":
            _summary_line(console, "blocked", s.id, s.message)
        elif s.status == "manual":
            _summary_line(console, "needs a human", s.id, s.message)
    if report.first_needed:
        held = ", ".join(report.first_needed)
        console.print(
            f"  [magenta]First:[/] {plain(held)} must be allowed and run; the later repairs wait for it",
            highlight=False,
        )
    if report.exit_code == 6 and report.for_failure is not None:
        _no_cause(console, report)
    if report.rolled_back:
        console.print(f"  Rolled back: {plain(', '.join(report.rolled_back))}", highlight=False)
    if report.rollback_failed:
        console.print(
            # The journal holds every change, so `wbplay rollback` (printed below) can finish the job.
            f"  [bold red]Could not roll back: {plain(', '.join(report.rollback_failed))}.[/]",
            highlight=False,
        )
    console.print(f"  Journal: {plain(journal_path)}", style="dim", highlight=False)
    left = left_in_place(report)
    if (left or report.rollback_failed) and int(report.exit_code) in (130, 5):
        left = left or list(report.rollback_failed)
        console.print(
            f"  [bold]Left in place: {plain(', '.join(left))}.[/] When the PC answers, undo with:",
            highlight=False,
        )
        console.print(f"    wbplay rollback {plain(report.run_id)}", highlight=False)
        if int(report.exit_code) == 130:
            console.print("  or carry on where it stopped with:", highlight=False)
            console.print(f"    wbplay resume {plain(report.run_id)}", highlight=False)
    code = int(report.exit_code)
    text = _EXIT_TEXT.get(code, "")
    # The outcome adds to the exit text only when it says something else ("fixed", "declined").
    detail = f" ({plain(report.outcome)})" if report.outcome and report.outcome != text else ""
    console.print(f"  Exit {code}: {text}{detail}", highlight=False)


def _no_cause(console: Console, report: RunReport) -> None:
    """No step explains the failure: say so, and what triage would try next."""
    assert report.for_failure is not None
    console.print(
        f"  [yellow]No cause found[/] for {plain(report.for_failure.describe())}: every check of "
        f"{plain(report.playbook_id)} passed, so the backup will still fail.",
        highlight=False,
    )
    if report.next_playbooks:
        nxt = ", ".join(report.next_playbooks)
        console.print(f"  Next, triage would try: {plain(nxt)}", highlight=False)
        spec = report.host_spec or report.host
        console.print(
            f"    wbplay run {plain(report.next_playbooks[0])} --host {plain(spec)} "
            f"--for {report.for_failure.code} --dry-run",
            highlight=False,
        )
    else:
        console.print("  No other playbook in the library handles this code.", highlight=False)
