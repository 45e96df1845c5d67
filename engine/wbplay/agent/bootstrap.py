"""The command line of one agent run, and the stdin its bootstrap reads.

The command line is fixed and tiny (cmd.exe caps it at 8191 characters):
``powershell.exe <POWERSHELL_ARGS>``, whose ``-EncodedCommand`` is the
bootstrap.  stdin carries the agent's text, the SEPARATOR line and the
request, all ASCII with LF line ends.

Over WinRM the agent travels once per shell instead (:func:`packed_agent`):
gzip + base64 in the shell's environment (``WBPLAY_AGENT_0``, ``_1``, ...,
sent with the shell's Create), and stdin holds only the SEPARATOR line and
the request.  The bootstrap takes the agent from stdin when stdin has one
before the separator, else from that environment.  Why the environment and
not a resident agent loop: a loop must keep stdin open between requests, and
PowerShell 2.0's known hang on redirected stdin is avoided only because the
engine ends stdin (agent review); each run stays one process per request, so
a write's outcome rules (never replayed when unknown) are unchanged.
"""

from __future__ import annotations

import base64
import gzip
import zlib
from collections.abc import Mapping, Sequence
from functools import lru_cache

from wbplay.agent.request import encode_request
from wbplay.agent.response import BEGIN, END
from wbplay.agent.script import agent_script
from wbplay.errors import AgentError
from wbplay.vocab.ops import Op

SEPARATOR = "<<<WBPLAY-REQUEST>>>"
AGENT_ENV_PREFIX = "WBPLAY_AGENT_"
# Characters per environment variable: far below Windows' 32767 per variable,
# and below cmd.exe's 8191 so that even cmd.exe (WinRS runs the command through
# it) never handles a longer value.
AGENT_ENV_CHUNK = 8000

# The bootstrap, run by powershell.exe from -EncodedCommand (PowerShell 2.0+).
#
# stdin is read through $input, the pipe powershell.exe itself feeds from
# redirected stdin: Ansible ran its payloads this way over WinRS for years,
# PS2 hosts included.  [Console]::In.ReadToEnd() would go around the host's
# own stdin reader.  The lines are joined with -join rather than Out-String:
# no formatter is involved, so no line can be wrapped or trimmed.  The stdin
# codepage does not matter because everything on it is ASCII.
#
# With nothing before the separator, the agent came once with the shell:
# gzip + base64 in WBPLAY_AGENT_0, _1, ... (GZipStream is .NET 2.0; a damaged
# copy fails gzip's CRC check and so never runs).
#
# If the payload cannot even be split or parsed, the bootstrap prints a
# "fatal" frame itself (ASCII-sanitised message) so the engine gets a clear
# error rather than a missing frame.
#
# Under Constrained Language Mode (AppLocker, WDAC, Smart App Control) the
# agent cannot run ([ScriptBlock]::Create, New-Object, Add-Type and
# [Console]::Out are blocked), so the bootstrap checks the language mode first
# and says so in a fatal frame written with Write-Output, which CLM allows
# (docs/agent-review.md likely bug 11).
LANGUAGE_MODE_MESSAGE = (
    "bootstrap: PowerShell runs in {mode} mode here, not FullLanguage (an AppLocker, WDAC or "
    "Smart App Control policy); the wbplay agent cannot run on this PC"
)
_LANGUAGE_MODE_PS = "'" + LANGUAGE_MODE_MESSAGE.replace("{mode}", "' + $wbMode + '") + "'"

_BOOTSTRAP_TEMPLATE = r"""$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$wbMode = [string]$ExecutionContext.SessionState.LanguageMode
if ($wbMode -ne 'FullLanguage') {
 Write-Output ("@BEGIN@`r`n" + '{"v":1,"fatal":{"message":"' + @CLM@ + '"},"results":[]}' + "`r`n@END@")
 exit 1
}
try {
 $wbText = @($input) -join "`n"
 $wbAt = $wbText.IndexOf('@SEP@', [StringComparison]::Ordinal)
 if ($wbAt -lt 0) {
  throw 'no request separator on stdin'
 }
 $wbSource = $wbText.Substring(0, $wbAt)
 if (!$wbSource) {
  $wbZ = ''
  for ($i = 0; $null -ne ($v = [Environment]::GetEnvironmentVariable("@ENV@$i")); $i++) { $wbZ += $v }
  if (!$wbZ) { throw 'no agent on stdin or in the environment' }
  $wbZ = New-Object IO.MemoryStream(,[Convert]::FromBase64String($wbZ))
  $wbZ = New-Object IO.Compression.GZipStream($wbZ, 'Decompress')
  $wbSource = (New-Object IO.StreamReader($wbZ)).ReadToEnd()
 }
 $wbAgent = [ScriptBlock]::Create($wbSource)
 $wbRequest = $wbText.Substring($wbAt + @SEPLEN@)
} catch {
 $wbMsg = ([string]$_) -replace '[^\x20-\x7E]', '?' -replace '(["\\])', '\$1'
 $wbDoc = "{""v"":1,""fatal"":{""message"":""bootstrap: $wbMsg""},""results"":[]}"
 [Console]::Out.Write("@BEGIN@`r`n$wbDoc`r`n@END@`r`n")
 exit 1
}
& $wbAgent $wbRequest
"""

BOOTSTRAP: str = (
    _BOOTSTRAP_TEMPLATE.replace("@SEP@", SEPARATOR)
    .replace("@SEPLEN@", str(len(SEPARATOR)))
    .replace("@ENV@", AGENT_ENV_PREFIX)
    .replace("@BEGIN@", BEGIN)
    .replace("@END@", END)
    .replace("@CLM@", _LANGUAGE_MODE_PS)
)

POWERSHELL_ARGS: tuple[str, ...] = (
    "-NoProfile",
    "-NonInteractive",
    "-ExecutionPolicy",
    "Bypass",
    "-EncodedCommand",
    base64.b64encode(BOOTSTRAP.encode("utf-16-le")).decode("ascii"),
)


def bootstrap_command_line() -> str:
    """The whole command line for WinRS or a local shell (far below cmd.exe's 8191)."""
    return "powershell.exe " + " ".join(POWERSHELL_ARGS)


def build_stdin(ops: Sequence[Op], *, mode: str, with_agent: bool = True) -> bytes:
    """What the bootstrap reads: the agent, the SEPARATOR line, the request (ASCII, LF).

    ``with_agent=False``: the agent is already in the shell's environment
    (:func:`packed_agent`), so stdin starts with the SEPARATOR line.
    """
    agent = agent_script() if with_agent else ""
    return (agent + SEPARATOR + "\n" + encode_request(ops, mode=mode)).encode("ascii")


@lru_cache(maxsize=1)
def _packed_text() -> str:
    # mtime=0: the same agent packs to the same bytes (comparable, cacheable).
    return base64.b64encode(gzip.compress(agent_script().encode("ascii"), 9, mtime=0)).decode("ascii")


def packed_agent() -> dict[str, str]:
    """The agent as shell environment variables: gzip + base64, in :data:`AGENT_ENV_CHUNK` pieces."""
    text = _packed_text()
    return {
        f"{AGENT_ENV_PREFIX}{i}": text[at : at + AGENT_ENV_CHUNK]
        for i, at in enumerate(range(0, len(text), AGENT_ENV_CHUNK))
    }


def unpack_agent(environment: Mapping[str, str]) -> str:
    """The agent text the bootstrap finds in ``environment`` (what the lab checks); AgentError if none."""
    pieces: list[str] = []
    while f"{AGENT_ENV_PREFIX}{len(pieces)}" in environment:
        pieces.append(environment[f"{AGENT_ENV_PREFIX}{len(pieces)}"])
    if not pieces:
        raise AgentError("no agent on stdin nor in the shell environment")
    try:
        return gzip.decompress(base64.b64decode("".join(pieces), validate=True)).decode("ascii")
    except (ValueError, OSError, EOFError, zlib.error) as e:  # binascii.Error, BadGzipFile among these
        raise AgentError(f"the agent in the shell environment is damaged ({type(e).__name__})") from e


def split_stdin(data: bytes) -> tuple[str, str]:
    """``(agent text, request text)`` from what :func:`build_stdin` produced.

    Splits exactly where the bootstrap does: at the first SEPARATOR line.
    """
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as e:
        raise AgentError(f"malformed stdin: non-ASCII byte at offset {e.start}") from e
    text = text.replace("\r\n", "\n")
    at = text.find(SEPARATOR)  # the first occurrence, as the bootstrap's IndexOf
    if at < 0:
        raise AgentError("malformed stdin: no request separator")
    after = at + len(SEPARATOR)
    if (at > 0 and text[at - 1] != "\n") or text[after : after + 1] != "\n":
        raise AgentError("malformed stdin: the request separator is not on a line of its own")
    return text[:at], text[after + 1 :]
