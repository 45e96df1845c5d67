"""Static checks of the PowerShell the engine runs on a customer's PC.

No PowerShell here, so: the real tree-sitter PowerShell grammar must parse
every script without an ERROR node; no PowerShell 3+ construct may appear
(Windows 7 ships 2.0); nothing may turn request data into code; and what
``Set-StrictMode -Version 2`` would only find at run time on the PC (an
undefined variable, a missing function, output leaking into a function's
return value) is found here.  Each check has a negative control proving it
can fail.
"""

from __future__ import annotations

import base64
from importlib import resources

import pytest

import pwsh_lint
from wbplay.agent import protocol
from wbplay.ops import OP_SPECS


@pytest.fixture(scope="module")
def agent() -> str:
    return protocol.agent_script()


def _decoded_command_line() -> str:
    words = protocol.bootstrap_command_line().split(" ")
    assert words[0] == "powershell.exe"
    assert words[-2] == "-EncodedCommand"
    return base64.b64decode(words[-1]).decode("utf-16-le")


SCRIPTS = {
    "agent.ps1": protocol.agent_script,
    "BOOTSTRAP": lambda: protocol.BOOTSTRAP,
    "decoded command line": _decoded_command_line,
}


# -------------------------------------------------------------------- syntax ---


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_parses_without_errors(name: str) -> None:
    assert pwsh_lint.syntax_errors(SCRIPTS[name]()) == []


@pytest.mark.parametrize(
    "broken",
    [
        "function f {\n    if ($x -eq 1) {\n        'a'\n    }\n",  # missing brace
        "$x = (1 + \n",  # unfinished expression
        "$s = 'unterminated\n",
        "try {\n    $x = 1\n",  # try without catch, unclosed
        "foreach ($a in ) {\n}\n",
    ],
)
def test_syntax_check_catches_broken_scripts(broken: str) -> None:
    assert pwsh_lint.syntax_errors(broken) != []


def test_syntax_check_catches_a_broken_agent(agent: str) -> None:
    broken = agent.replace("function Get-WbEvents {", "function Get-WbEvents {{", 1)
    assert broken != agent
    assert pwsh_lint.syntax_errors(broken) != []


# ------------------------------------------------------------ PowerShell 2.0 ---


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_no_powershell_3_constructs(name: str) -> None:
    assert pwsh_lint.ps3_violations(SCRIPTS[name]()) == []


PS3_SAMPLES = {
    "ConvertTo-Json": "$j = $h | ConvertTo-Json -Compress",
    "ConvertFrom-Json": "$o = $text | ConvertFrom-Json",
    "[pscustomobject]": "$o = [PSCustomObject]@{ a = 1 }",
    "[ordered]": "$h = [ordered]@{ a = 1 }",
    "-in / -notin operator": "if ($x -notin $list) { 1 }",
    "Get-CimInstance": "Get-CimInstance Win32_Service",
    "::new(": "$l = [System.Collections.ArrayList]::new()",
    "$PSItem": "$list | ForEach-Object { $PSItem.Name }",
    "-shl / -shr": "$hi = $hr -shr 16",
    "-ErrorAction Ignore": "Get-Item x -ErrorAction Ignore",
    "Get-ChildItem -File / -Directory": "Get-ChildItem -LiteralPath $p -File",
    "Get-Content -Raw": "$t = Get-Content -LiteralPath $p -Raw",
    "Rename-Item -LiteralPath": "Rename-Item -LiteralPath $p -NewName $n",
    "simplified Where-Object / ForEach-Object": "Get-Service | Where-Object Status -eq 'Running'",
    "$using:": "Invoke-Command { $using:x }",
    "-PipelineVariable": "Get-Service -PipelineVariable s | ForEach-Object { $s }",
    "-NoEnumerate": "Write-Output -NoEnumerate $a",
    "-Depth": "Get-ChildItem -Depth 2",
    "class / enum": "class Foo {\n}",
}


def test_every_ps3_pattern_has_a_sample() -> None:
    assert set(PS3_SAMPLES) == set(pwsh_lint.PS3_PATTERNS)


@pytest.mark.parametrize("name", sorted(PS3_SAMPLES))
def test_ps3_pattern_fires_on_its_sample(name: str) -> None:
    assert any(f": {name}: " in v for v in pwsh_lint.ps3_violations(PS3_SAMPLES[name]))


@pytest.mark.parametrize(
    "fine",
    [
        "Get-Item -InputObject $x",  # -in... is a prefix of another parameter
        "$x -inotlike 'a*'",
        "foreach ($s in $list) { $s }",
        "$list | ForEach-Object { $_.Name }",
        "$list | Where-Object { $_.Status -eq 'Running' }",
        "$list | Where-Object -FilterScript { $_ }",
        "# sign-in with ConvertTo-Json and [ordered] in a comment\n$x = 1",
        "<# -in, ::new(), $PSItem #>\n$x = 1",
        "[void][Reflection.Assembly]::LoadWithPartialName('System.ServiceProcess')",
        "Get-WmiObject -Class Win32_Service",
        "Remove-Item -LiteralPath $p",
    ],
)
def test_ps3_check_allows_ps2_code(fine: str) -> None:
    assert pwsh_lint.ps3_violations(fine) == []


# ----------------------------------------------------------------- data only ---


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_nothing_turns_data_into_code(name: str) -> None:
    assert pwsh_lint.unsafe_constructs(SCRIPTS[name]()) == []


@pytest.mark.parametrize(
    "sample",
    [
        "Invoke-Expression $request",
        "iex $text",
        "Add-Type -TypeDefinition $code",
        "Get-WmiObject Win32_Service -Filter \"Name='$name'\"",
    ],
)
def test_unsafe_check_fires(sample: str) -> None:
    assert pwsh_lint.unsafe_constructs(sample) != []


# ----------------------------------------------------- strict-mode run faults ---


def test_every_variable_is_defined(agent: str) -> None:
    assert pwsh_lint.undefined_variables(agent) == []
    assert pwsh_lint.undefined_variables(protocol.BOOTSTRAP) == []


def test_undefined_variable_check_fires(agent: str) -> None:
    typo = agent.replace("if ([DateTime]::UtcNow -ge $deadline)", "if ([DateTime]::UtcNow -ge $deadLine2)", 1)
    assert typo != agent
    assert [p for p in pwsh_lint.undefined_variables(typo) if "$deadline2" in p]


def test_every_called_function_is_defined_and_used(agent: str) -> None:
    defined, called = pwsh_lint.function_calls(agent)
    assert called - defined == set()
    assert defined - called == set()


def test_function_check_fires(agent: str) -> None:
    typo = agent.replace("Get-WbPathInfo (Get-WbArg", "Get-WbPathInf (Get-WbArg", 1)
    assert typo != agent
    defined, called = pwsh_lint.function_calls(typo)
    assert called - defined == {"Get-WbPathInf"}


def test_no_method_output_leaks_into_return_values(agent: str) -> None:
    assert pwsh_lint.pipeline_leaks(agent) == []
    assert pwsh_lint.pipeline_leaks("function f {\n    $list.Add('x')\n    return 'y'\n}\n") != []
    assert pwsh_lint.pipeline_leaks("[void]$list.Add('x')\n$n = $list.Add('y')\n") == []


# ------------------------------------------------------------ ops and wiring ---


def test_dispatcher_implements_every_op_and_nothing_else(agent: str) -> None:
    node = pwsh_lint.function_node(agent, "Invoke-WbOp")
    assert node is not None
    labels = pwsh_lint.switch_labels(node)
    assert labels.count("default") == 1
    assert sorted(label for label in labels if label != "default") == sorted(OP_SPECS)


def test_agent_write_ops_match_the_op_specs(agent: str) -> None:
    keys = pwsh_lint.hash_keys(agent, "$WbWriteOps")
    assert sorted(keys) == sorted(name for name, spec in OP_SPECS.items() if spec.writes)


def test_agent_request_parser_knows_every_type_tag(agent: str) -> None:
    node = pwsh_lint.function_node(agent, "ConvertFrom-WbTypedValue")
    assert node is not None
    assert sorted(pwsh_lint.switch_labels(node)) == sorted("sibnlj")


def test_agent_speaks_the_protocols_frame_and_header(agent: str) -> None:
    assert protocol.BEGIN in agent
    assert protocol.END in agent
    assert f"'{protocol.REQUEST_MAGIC}'" in agent
    assert f"$head[1] -cne '{protocol.PROTOCOL_VERSION}'" in agent
    # The JSON fast path escapes exactly what protocol.py's emitter escapes.
    assert "'^[\\x20\\x21\\x23-\\x5B\\x5D-\\x7E]*\\z'" in agent
    assert protocol._PLAIN.pattern == r"[\x20\x21\x23-\x5b\x5d-\x7e]*"


def test_agent_never_contains_the_separator(agent: str) -> None:
    # The bootstrap splits stdin at the first occurrence.
    assert protocol.SEPARATOR not in agent


def test_agent_is_ascii_with_strict_mode(agent: str) -> None:
    assert resources.files("wbplay.agent").joinpath("agent.ps1").read_bytes().isascii()
    assert "Set-StrictMode -Version 2.0" in agent
    assert agent.lstrip().startswith("#")
    assert "\nparam([string]$Request)\n" in agent


def test_agent_uses_literal_path_apis_only(agent: str) -> None:
    code = pwsh_lint.strip_comments(agent)
    for cmdlet in ("Get-Item", "Get-ChildItem", "Remove-Item", "Rename-Item", "Test-Path", "Move-Item"):
        assert f"{cmdlet} " not in code, cmdlet
    assert "-Path " not in code


# ----------------------------------------------------------------- bootstrap ---


def test_bootstrap_command_line_is_short_and_decodes() -> None:
    line = protocol.bootstrap_command_line()
    assert len(line) < 8191
    assert len(line) < 3000  # leaves room for cmd.exe and WinRS wrappers
    assert line.isascii()
    assert _decoded_command_line() == protocol.BOOTSTRAP


def test_powershell_args() -> None:
    assert protocol.POWERSHELL_ARGS[:5] == (
        "-NoProfile",
        "-NonInteractive",
        "-ExecutionPolicy",
        "Bypass",
        "-EncodedCommand",
    )
    assert len(protocol.POWERSHELL_ARGS) == 6


def test_bootstrap_reads_stdin_and_runs_the_agent_as_data() -> None:
    text = protocol.BOOTSTRAP
    assert "$ErrorActionPreference = 'Stop'" in text
    assert "$ProgressPreference = 'SilentlyContinue'" in text
    assert "@($input) -join" in text
    assert f"IndexOf('{protocol.SEPARATOR}', [StringComparison]::Ordinal)" in text
    assert f"$wbAt + {len(protocol.SEPARATOR)})" in text
    assert "[ScriptBlock]::Create(" in text
    assert "& $wbAgent $wbRequest" in text
    assert text.isascii()
