"""cmd.exe as WinRS runs it: the 8191-character limit, a few built-ins, and powershell.exe.

WinRS hands ``<command> <arguments...>`` to ``cmd.exe /c`` unless the client
sets ``WINRS_SKIP_CMD_SHELL=TRUE``.  The lab emulates only what wbplay and the
usual diagnostics need, with Windows' own texts:

* a line longer than 8191 characters: stdout ``The command line is too long.``, exit 1;
* ``hostname``, ``whoami`` (``pc42\\wbadmin``, lower case like Windows), ``echo``,
  ``ver``, ``exit [/b] N`` and ``cmd /c <line>`` (recursively);
* ``powershell[.exe] <args>``: handed to a pluggable :data:`PowerShellHandler`;
* anything else: cmd's "is not recognized" message on stderr, exit 9009.

Output is returned as text; the shell encodes it in its codepage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from wbplay.lab.wsman import WsmanFault

CMD_MAX_LINE = 8191
LINE_TOO_LONG = "The command line is too long.\r\n"
EXIT_NOT_RECOGNIZED = 9009


@dataclass(frozen=True)
class CommandOutput:
    """What a process wrote and how it exited; str output is encoded in the shell's codepage.

    ``restarts_host``: the process scheduled a restart of the PC (``shutdown /r``).  The
    lab restarts once this output has been delivered to the client (see ``server.py``).
    """

    stdout: str | bytes = ""
    stderr: str | bytes = ""
    exit_code: int = 0
    restarts_host: bool = False


PowerShellHandler = Callable[[list[str], bytes], CommandOutput]
"""Runs one powershell.exe: (argv after powershell.exe, the complete stdin) -> output."""


@dataclass(frozen=True)
class HostIdentity:
    """The facts cmd built-ins print."""

    hostname: str  # as Windows stores it, e.g. "PC42"
    os_version: str  # "major.minor.build", e.g. "6.1.7601"


@dataclass(frozen=True)
class Invocation:
    """A parsed command line: finished built-in output, or a powershell.exe to run later."""

    output: CommandOutput | None = None
    powershell_argv: tuple[str, ...] | None = None


def not_recognized(name: str) -> CommandOutput:
    return CommandOutput(
        stderr=f"'{name}' is not recognized as an internal or external command,\r\n"
        "operable program or batch file.\r\n",
        exit_code=EXIT_NOT_RECOGNIZED,
    )


def split_args(text: str) -> list[str]:
    """Split arguments the way CommandLineToArgvW / the MSVC runtime does."""
    args: list[str] = []
    current: list[str] = []
    in_arg = False
    in_quotes = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in " \t" and not in_quotes:
            if in_arg:
                args.append("".join(current))
                current, in_arg = [], False
            i += 1
            continue
        in_arg = True
        if ch == "\\":
            run = 1
            while i + run < len(text) and text[i + run] == "\\":
                run += 1
            if i + run < len(text) and text[i + run] == '"':
                # 2n backslashes + quote -> n backslashes, the quote toggles; 2n+1 -> n and a literal quote.
                current.append("\\" * (run // 2))
                if run % 2:
                    current.append('"')
                    i += run + 1
                else:
                    i += run
            else:
                current.append("\\" * run)
                i += run
            continue
        if ch == '"':
            if in_quotes and i + 1 < len(text) and text[i + 1] == '"':
                current.append('"')  # "" inside quotes is a literal quote
                i += 2
                continue
            in_quotes = not in_quotes
            i += 1
            continue
        current.append(ch)
        i += 1
    if in_arg:
        args.append("".join(current))
    return args


def _first_token(line: str) -> tuple[str, str]:
    """(program token without quotes, the rest of the line) as cmd splits them."""
    if line.startswith('"'):
        end = line.find('"', 1)
        if end < 0:
            return line[1:], ""
        return line[1:end], line[end + 1 :]
    for i, ch in enumerate(line):
        if ch in " \t":
            return line[:i], line[i:]
    return line, ""


def _program_name(token: str) -> str:
    """``C:\\Windows\\System32\\cmd.exe`` -> ``cmd``."""
    base = token.replace("/", "\\").rsplit("\\", 1)[-1].lower()
    return base[:-4] if base.endswith(".exe") else base


def _echo(line: str) -> CommandOutput | None:
    """cmd's ``echo``: everything after the one delimiter character is printed verbatim."""
    if line[:4].lower() != "echo":
        return None
    rest = line[4:]
    if not rest:
        return CommandOutput(stdout="ECHO is on.\r\n")
    if rest[0] in " \t":
        text = rest[1:]
        return CommandOutput(stdout=("ECHO is on." if not text.strip() else text) + "\r\n")
    if rest[0] in ".:/(;,=+[]":
        return CommandOutput(stdout=rest[1:] + "\r\n")
    return None


def strip_cmd_quotes(line: str) -> str:
    """cmd /c's quote rule (``cmd /?``).

    ``"C:\\with space\\prog.exe" args`` keeps its quotes (exactly two, around a program name with
    a space and nothing special); any other line starting with a quote loses that quote and the
    last quote of the line.
    """
    if not line.startswith('"'):
        return line
    quoted = line[1 : line.find('"', 1)] if line.count('"') >= 2 else ""
    names_a_program = quoted.lower().endswith((".exe", ".com", ".bat", ".cmd"))
    special = any(c in quoted for c in "&<>()@^|")
    if line.count('"') == 2 and " " in quoted and names_a_program and not special:
        return line
    last = line.rfind('"')
    return line[1:last] + line[last + 1 :] if last > 0 else line[1:]


def _cmd_c(rest: str, *, host: HostIdentity, user: str) -> Invocation:
    args = rest.lstrip()
    switch = args[:2].lower()
    if switch not in ("/c", "/k"):
        # An interactive cmd would read stdin; WinRS commands never rely on that.
        return Invocation(output=CommandOutput())
    inner = strip_cmd_quotes(args[2:].strip())
    return interpret(inner, skip_cmd_shell=False, host=host, user=user, check_length=False)


def interpret(
    line: str,
    *,
    skip_cmd_shell: bool,
    host: HostIdentity,
    user: str,
    check_length: bool = True,
) -> Invocation:
    """Turn a WinRS command line into built-in output or a powershell.exe argv."""
    if not skip_cmd_shell and check_length and len(line) > CMD_MAX_LINE:
        return Invocation(output=CommandOutput(stdout=LINE_TOO_LONG, exit_code=1))
    stripped = line.strip(" \t")
    if not skip_cmd_shell:
        # WinRS runs ``cmd.exe /c <line>``, so the line gets cmd /c's quote treatment.
        stripped = strip_cmd_quotes(stripped).lstrip("@")
        echoed = _echo(stripped)
        if echoed is not None:
            return Invocation(output=echoed)
    token, rest = _first_token(stripped)
    name = _program_name(token)
    if name == "powershell":
        return Invocation(powershell_argv=tuple(split_args(rest)))
    if name == "hostname":
        return Invocation(output=CommandOutput(stdout=f"{host.hostname}\r\n"))
    if name == "whoami":
        return Invocation(output=CommandOutput(stdout=f"{host.hostname.lower()}\\{user.lower()}\r\n"))
    if name == "cmd":
        return _cmd_c(rest, host=host, user=user)
    if skip_cmd_shell:
        # Without cmd.exe there are no built-ins: CreateProcess finds no such program.
        raise WsmanFault(
            code="s:Receiver",
            subcode="w:InternalError",
            reason="The system cannot find the file specified.",
            wsman_code=2,
        )
    if name == "ver":
        return Invocation(
            output=CommandOutput(stdout=f"\r\nMicrosoft Windows [Version {host.os_version}]\r\n")
        )
    if name == "exit":
        words = rest.split()
        if words and words[0].lower() == "/b":
            words = words[1:]
        code = int(words[0]) if words and words[0].lstrip("-").isdigit() else 0
        return Invocation(output=CommandOutput(exit_code=code))
    return Invocation(output=not_recognized(token))
