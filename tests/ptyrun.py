"""Run ``wbplay`` on a pseudo-terminal, as a sysadmin would: read what it prints, type, press Ctrl-C.

The child is a session leader whose controlling terminal is the pty, so ``\\x03`` reaches it as
SIGINT through the terminal's line discipline, exactly as a key press would.  Every wait is
bounded (a test fails instead of hanging); nothing here measures time.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\r")
CTRL_C = b"\x03"


class PtyRun:
    def __init__(self, args: Sequence[str], env: Mapping[str, str], *, limit_s: float = 60.0) -> None:
        self.limit_s = limit_s
        self.raw = b""
        self.status: int | None = None
        full_env = {**env, "COLUMNS": "220", "LINES": "50", "TERM": "xterm"}
        pid, fd = pty.fork()
        if pid == 0:  # the child: become wbplay
            try:
                os.execve(sys.executable, [sys.executable, "-m", "wbplay", *args], full_env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd

    @property
    def text(self) -> str:
        return ANSI.sub("", self.raw.decode("utf-8", "replace"))

    def _pump(self, timeout: float) -> bool:
        """Read what is there; False once the child closed the terminal."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO: the child exited and the pty closed
            return False
        self.raw += chunk
        return bool(chunk)

    def expect(self, pattern: str) -> str:
        """Wait until ``pattern`` (a regex) appears in the output; return the output so far."""
        deadline = time.monotonic() + self.limit_s
        while not re.search(pattern, self.text):
            if time.monotonic() > deadline or not self._pump(0.2):
                if re.search(pattern, self.text):
                    break
                self.kill()
                raise AssertionError(f"never printed {pattern!r}; output:\n{self.text}")
        return self.text

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def at_prompt(self) -> None:
        """Wait until the child is blocked reading its terminal (Linux: /proc/PID/syscall).

        A prompt is on screen a moment before ``input()`` reads: a Ctrl-C in between is
        only seen after Enter (CPython checks signals on EINTR, and there is none yet),
        which no human is fast enough to hit, but a test is.
        """
        deadline = time.monotonic() + self.limit_s
        reads = {"x86_64": "0", "aarch64": "63"}.get(os.uname().machine)
        while time.monotonic() < deadline:
            try:
                call = Path(f"/proc/{self.pid}/syscall").read_text().split()
            except OSError:
                time.sleep(0.5)  # no /proc: give input() time to start
                return
            if reads is None or (call[:2] == [reads, "0x0"]):
                return
            self._pump(0.05)
        raise AssertionError(f"wbplay never waited for input; output:\n{self.text}")

    def wait(self) -> int:
        """Read to the end and return the exit code."""
        deadline = time.monotonic() + self.limit_s
        while self._pump(0.2):
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"wbplay did not exit; output:\n{self.text}")
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        self.status = os.waitstatus_to_exitcode(status)
        return self.status

    def kill(self) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.status = -9
