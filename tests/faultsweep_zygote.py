"""A fork server for the recovery sweep: imports wbplay once, then forks one `wbplay ...` process per request.

The sweep SIGKILLs a controller at hundreds of points; paying the interpreter
start and wbplay's imports (~0.4 s) for each would blow the CI budget.  This
process imports everything first, stays single-threaded (so forking it is
safe), and for each request forks a child that runs the real CLI entry point
(``wbplay.cli.main``, what ``python -m wbplay`` runs) with the request's argv
and environment, stdout and stderr going to a file.  The child is an ordinary
separate process with its own sockets: killing it is killing the controller.

Its arguments name the playbooks to load before forking.  Protocol, one JSON
object per line on stdin, one answer per line on stdout:

* ``{"spawn": {"argv": [...], "env": {...}, "out": PATH, "kill_at_event": N?, "checks": PATH?}}``
  → ``{"pid": PID}``.  ``kill_at_event``: the child SIGKILLs itself right after
  the N-th journal record is on disk (the simulated-host sweep).  ``checks``:
  the child appends a line there for every write a simulated host made that
  its journal had not announced first.
* ``{"wait": PID}`` → ``{"code": EXIT, "cpu": SECONDS}`` (negative EXIT: killed by that signal).
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
from typing import Any

import faultsweep
import wbplay.cli


def _child(spec: dict[str, Any]) -> None:
    """Become `wbplay <argv>`; never returns."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a fresh `python -m wbplay`
        fd = os.open(spec["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.environ.clear()
        os.environ.update(spec["env"])
        sys.argv = ["wbplay", *spec["argv"]]
        if spec.get("kill_at_event"):
            faultsweep.kill_self_at_journal_event(int(spec["kill_at_event"]))
        if spec.get("checks"):
            faultsweep.check_sim_writes_are_announced(spec["checks"])
        try:
            wbplay.cli.main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    warm = faultsweep.warm_up(sys.argv[1:])
    gc.freeze()  # what is loaded now stays untouched by the children's collections: fewer copied pages
    print(json.dumps({"ready": warm}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if "spawn" in request:
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:
                _child(request["spawn"])
            answer: dict[str, Any] = {"pid": pid}
        elif "wait" in request:
            _, status, usage = os.wait4(int(request["wait"]), 0)
            answer = {"code": os.waitstatus_to_exitcode(status), "cpu": usage.ru_utime + usage.ru_stime}
        else:
            answer = {"error": f"unknown request {sorted(request)}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # pytest's Ctrl-C is for pytest; stdin EOF ends this
    main()
