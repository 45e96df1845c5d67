"""cmd.exe emulation: the 8191 limit, built-ins, argv splitting, unknown commands."""

from __future__ import annotations

import pytest

from wbplay.lab.cmdexe import (
    CMD_MAX_LINE,
    CommandOutput,
    HostIdentity,
    interpret,
    split_args,
    strip_cmd_quotes,
)
from wbplay.lab.wsman import WsmanFault

HOST = HostIdentity("PC42", "6.1.7601")


def run(line: str, skip: bool = False) -> CommandOutput:
    invocation = interpret(line, skip_cmd_shell=skip, host=HOST, user="WbAdmin")
    assert invocation.output is not None
    return invocation.output


def test_builtins() -> None:
    assert run("hostname") == CommandOutput(stdout="PC42\r\n")
    assert run("whoami") == CommandOutput(stdout="pc42\\wbadmin\r\n")
    assert run("echo hi there") == CommandOutput(stdout="hi there\r\n")
    assert run("echo") == CommandOutput(stdout="ECHO is on.\r\n")
    assert run("echo.") == CommandOutput(stdout="\r\n")
    assert run("ver") == CommandOutput(stdout="\r\nMicrosoft Windows [Version 6.1.7601]\r\n")
    assert run("cmd /c exit 3").exit_code == 3
    assert run("cmd.exe /C echo nested") == CommandOutput(stdout="nested\r\n")
    assert run('C:\\Windows\\System32\\cmd.exe /c "echo quoted"') == CommandOutput(stdout="quoted\r\n")


def test_unknown_command() -> None:
    out = run("wbadmin get versions")
    assert out.exit_code == 9009
    assert out.stderr == (
        "'wbadmin' is not recognized as an internal or external command,\r\n"
        "operable program or batch file.\r\n"
    )


def test_command_line_limit() -> None:
    at_limit = "echo " + "x" * (CMD_MAX_LINE - 5)
    assert len(at_limit) == CMD_MAX_LINE
    assert run(at_limit).stdout == "x" * (CMD_MAX_LINE - 5) + "\r\n"
    too_long = run(at_limit + "x")
    assert too_long == CommandOutput(stdout="The command line is too long.\r\n", exit_code=1)
    # Without cmd.exe (WINRS_SKIP_CMD_SHELL) the 8191 limit does not apply.
    assert interpret("powershell " + "x" * 9000, skip_cmd_shell=True, host=HOST, user="u").powershell_argv


def test_powershell_lines_become_argv() -> None:
    invocation = interpret(
        'powershell -NoProfile -EncodedCommand QQBCAA== "two words" a\\"b',
        skip_cmd_shell=False,
        host=HOST,
        user="u",
    )
    assert invocation.output is None
    assert invocation.powershell_argv == ("-NoProfile", "-EncodedCommand", "QQBCAA==", "two words", 'a"b')
    full_path = interpret(
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -c x",
        skip_cmd_shell=False,
        host=HOST,
        user="u",
    )
    assert full_path.powershell_argv == ("-c", "x")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a b  c", ["a", "b", "c"]),
        ('"a b" c', ["a b", "c"]),
        ('a\\\\"b c"', ["a\\b c"]),
        ('a\\\\\\"b', ['a\\"b']),
        ("a\\b", ["a\\b"]),
        ('"a""b"', ['a"b']),
        ("", []),
    ],
)
def test_split_args_follows_commandlinetoargvw(text: str, expected: list[str]) -> None:
    assert split_args(text) == expected


def test_builtins_need_cmd_exe() -> None:
    with pytest.raises(WsmanFault):
        interpret("echo hi", skip_cmd_shell=True, host=HOST, user="u")
    assert interpret("hostname", skip_cmd_shell=True, host=HOST, user="u").output == CommandOutput(
        stdout="PC42\r\n"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('"echo hi"', "echo hi"),
        ('"C:\\Program Files\\x.exe" -a', '"C:\\Program Files\\x.exe" -a'),
        ('"a" "b"', 'a" "b'),
        ("plain", "plain"),
    ],
)
def test_cmd_quote_rule(line: str, expected: str) -> None:
    assert strip_cmd_quotes(line) == expected


def test_quoted_whole_line_runs_like_cmd_c() -> None:
    assert run('"echo quoted line"') == CommandOutput(stdout="quoted line\r\n")
