"""The wire protocol between the engine and the PowerShell agent (``agent.ps1``).

One round trip::

    powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand <BOOTSTRAP>
    stdin : the agent's text, the SEPARATOR line, the request      (ASCII, LF line ends)
    stdout: <<<WBPLAY-BEGIN>>> / one JSON line / <<<WBPLAY-END>>>  (ASCII, CRLF line ends)

The command line stays tiny (cmd.exe caps it at 8191 characters); the agent
and the request travel on stdin.  Everything the engine sends or receives is
ASCII, so neither the WinRS codepage (437, 932, 65001...) nor a stray BOM can
corrupt it.

The request carries every value as base64 or digits::

    WBPLAY-REQUEST 1 <read|write>
    <index>\\t<op name>\\t<arg>=<typed value>\\t...

with typed values ``s:<b64 of UTF-8>``, ``i:<decimal>``, ``b:0|1``, ``n:``,
``l:<b64>,<b64>,...`` (list of strings, ``l:`` is the empty list, ``=`` is an
empty item) and ``j:<dec>,<dec>,...`` (list of integers).  A playbook value
can hold quotes, ``$(...)``, backticks or newlines: on the wire it is letters,
digits, ``+/=``, so it can never become PowerShell code.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from functools import lru_cache
from html import unescape as _xml_unescape
from importlib import resources
from typing import Any

from wbplay.errors import AgentError
from wbplay.vocab.ops import OP_SPECS, Op, OpResult, Win32Error, check_args

PROTOCOL_VERSION = 1
MODES = ("read", "write")
REQUEST_MAGIC = "WBPLAY-REQUEST"
SEPARATOR = "<<<WBPLAY-REQUEST>>>"
BEGIN = "<<<WBPLAY-BEGIN>>>"
END = "<<<WBPLAY-END>>>"
OUTPUT = "<<<WBPLAY-OUT>>>"
"""Prefix of a line of live output (chkdsk, sfc) printed before the frame: ``OUTPUT + " " + JSON string``."""

# The bootstrap, run by powershell.exe from -EncodedCommand (PowerShell 2.0+).
#
# stdin is read through $input, the pipe powershell.exe itself feeds from
# redirected stdin: Ansible ran its payloads this way over WinRS for years,
# PS2 hosts included.  [Console]::In.ReadToEnd() would go around the host's
# own stdin reader.  The lines are joined with -join rather than Out-String:
# no formatter is involved, so no line can be wrapped or trimmed.  The stdin
# codepage does not matter because everything on it is ASCII.
#
# If the payload cannot even be split or parsed, the bootstrap prints a
# "fatal" frame itself (ASCII-sanitised message) so the engine gets a clear
# error rather than a missing frame.
_BOOTSTRAP_TEMPLATE = r"""$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
try {
    $wbText = @($input) -join "`n"
    $wbAt = $wbText.IndexOf('@SEP@', [StringComparison]::Ordinal)
    if ($wbAt -lt 0) {
        throw 'no request separator on stdin'
    }
    $wbAgent = [ScriptBlock]::Create($wbText.Substring(0, $wbAt))
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
    .replace("@BEGIN@", BEGIN)
    .replace("@END@", END)
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


# The agent's files (package data), run as ONE script in this order: agent.ps1
# opens with ``param()`` and holds the shared state, errors, JSON and request
# decoding; the op families follow, each after the parts whose functions it
# calls (os.ps1 before native.ps1, which decodes tool output in the OEM
# codepage); main.ps1 (dispatcher and main) comes last, because the script
# runs top to bottom and calls every function defined before it.
AGENT_PARTS: tuple[str, ...] = (
    "agent.ps1",
    "registry.ps1",
    "os.ps1",
    "services.ps1",
    "paths.ps1",
    "events.ps1",
    "native.ps1",
    "storage.ps1",
    "commands.ps1",
    "system.ps1",
    "main.ps1",
)


def _agent_part(name: str) -> str:
    raw = resources.files("wbplay.agent").joinpath(name).read_bytes()
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as e:
        raise AgentError(
            f"{name} is not ASCII (byte {e.start}); it would not survive the shell codepage"
        ) from e
    text = text.replace("\r\n", "\n")
    return text if text.endswith("\n") else text + "\n"


_HERE_STRING_OPEN = re.compile(r"@['\"]\s*$")
_HERE_STRING_CLOSE = re.compile(r"^['\"]@")


def drop_comment_lines(text: str) -> str:
    """``text`` without its full-line ``#`` comments, except the opening block.

    The comments document the source files; on the wire they would only add
    bytes (the request travels after the agent, in the PC's envelope-sized
    chunks).  Lines inside here-strings are data and stay.  The opening
    comment block stays too, so the payload still says what it is.
    """
    out: list[str] = []
    header = True
    in_here_string = False
    for line in text.split("\n"):
        stripped = line.strip()
        if in_here_string:
            in_here_string = not _HERE_STRING_CLOSE.match(line)
        elif stripped.startswith("#") and not header:
            continue
        else:
            in_here_string = bool(_HERE_STRING_OPEN.search(line))
        header = header and stripped.startswith("#")
        out.append(line)
    return "\n".join(out)


@lru_cache(maxsize=1)
def agent_script() -> str:
    """The agent as it is sent: :data:`AGENT_PARTS` joined in order, LF line
    ends, full-line comments dropped (:func:`drop_comment_lines`).

    Raises :class:`AgentError` if a part is not pure ASCII: the agent must
    survive any codepage on the way in.
    """
    return drop_comment_lines(agent_source())


def agent_source() -> str:
    """:data:`AGENT_PARTS` joined in order, comments and all (what the tests read)."""
    return "".join(_agent_part(name) for name in AGENT_PARTS)


# ----------------------------------------------------------------- requests ---

_ARG_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_INTEGER = re.compile(r"-?[0-9]+")


def _b64(text: str) -> str:
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"string is not valid Unicode (lone surrogate at {e.start})") from e
    return base64.b64encode(data).decode("ascii")


def _encode_strings(items: Sequence[str]) -> str:
    return "l:" + ",".join(_b64(item) if item else "=" for item in items)


def _encode_integers(items: Sequence[int]) -> str:
    return "j:" + ",".join(str(int(item)) for item in items)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _encode_value(kind: str, value: Any, where: str) -> str:
    if value is None:
        return "n:"
    if isinstance(value, bool):
        return "b:1" if value else "b:0"
    if _is_int(value):
        return f"i:{value}"
    if isinstance(value, str):
        return "s:" + _b64(value)
    if isinstance(value, list | tuple):
        if kind == "integers" or (kind == "any" and value and all(_is_int(v) for v in value)):
            if not all(_is_int(v) for v in value):
                raise ValueError(f"{where}: a list of integers may only hold integers")
            return _encode_integers(value)
        if all(isinstance(v, str) for v in value):
            return _encode_strings(value)
        raise ValueError(f"{where}: a list must hold only strings or only integers")
    raise ValueError(f"{where}: {type(value).__name__} values cannot be sent to the agent")


def encode_request(ops: Sequence[Op], *, mode: str) -> str:
    """The request text for ``ops`` (ASCII, LF line ends, one line per op).

    Raises ValueError for ops that fail :func:`wbplay.ops.check_args` and for
    write ops in a "read" request.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    lines = [f"{REQUEST_MAGIC} {PROTOCOL_VERSION} {mode}"]
    for index, op in enumerate(ops):
        problems = check_args(op)
        if problems:
            raise ValueError("; ".join(problems))
        if op.writes and mode == "read":
            raise ValueError(f"{op.name} is a write op and cannot travel in a read request")
        fields = [str(index), op.name]
        for arg in op.spec.args:  # spec order: stable text for identical ops
            if arg.name in op.args:
                value = _encode_value(arg.type, op.args[arg.name], f"{op.name}.{arg.name}")
                fields.append(f"{arg.name}={value}")
        lines.append("\t".join(fields))
    return "\n".join(lines) + "\n"


def _decode_b64(text: str, where: str) -> str:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise AgentError(f"malformed request: {where}: bad base64") from e
    if base64.b64encode(data).decode("ascii") != text:
        raise AgentError(f"malformed request: {where}: non-canonical base64")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise AgentError(f"malformed request: {where}: base64 does not hold UTF-8") from e


def _decode_int(text: str, where: str) -> int:
    if not _INTEGER.fullmatch(text) or str(int(text)) != text:
        raise AgentError(f"malformed request: {where}: bad integer {text[:20]!r}")
    return int(text)


def _decode_value(text: str, where: str) -> Any:
    tag, colon, body = text.partition(":")
    if not colon or len(tag) != 1:
        raise AgentError(f"malformed request: {where}: missing type tag")
    if tag == "s":
        return _decode_b64(body, where)
    if tag == "i":
        return _decode_int(body, where)
    if tag == "b":
        if body not in ("0", "1"):
            raise AgentError(f"malformed request: {where}: bad boolean")
        return body == "1"
    if tag == "n":
        if body:
            raise AgentError(f"malformed request: {where}: null with a body")
        return None
    if tag == "l":
        if not body:
            return []
        return ["" if item == "=" else _decode_b64(item, where) for item in body.split(",")]
    if tag == "j":
        if not body:
            return []
        return [_decode_int(item, where) for item in body.split(",")]
    raise AgentError(f"malformed request: {where}: unknown type tag {tag!r}")


def decode_request(text: str) -> tuple[str, list[Op]]:
    """The inverse of :func:`encode_request`: ``(mode, ops)``.  Strict.

    Raises :class:`AgentError` on anything :func:`encode_request` would not
    have produced (bad header, index, op, argument, base64...).  A write op in
    a "read" request is returned, not rejected: like the agent, the receiver
    refuses it per op (ok:false, code 5) and still runs the others.
    """
    if not text.isascii():
        raise AgentError("malformed request: not ASCII")
    lines = [line.removesuffix("\r") for line in text.strip("\r\n").split("\n")]
    head = lines[0].split(" ")
    if len(head) != 3 or head[0] != REQUEST_MAGIC or head[1] != str(PROTOCOL_VERSION):
        raise AgentError(f"malformed request: bad header {lines[0][:40]!r}")
    mode = head[2]
    if mode not in MODES:
        raise AgentError(f"malformed request: bad mode {mode[:20]!r}")
    ops: list[Op] = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        where = f"line {number}"
        if len(fields) < 2 or fields[0] != str(len(ops)):
            raise AgentError(f"malformed request: {where}: expected index {len(ops)}")
        name = fields[1]
        if name not in OP_SPECS:
            raise AgentError(f"malformed request: {where}: unknown op {name[:40]!r}")
        args: dict[str, Any] = {}
        for field in fields[2:]:
            arg, eq, value = field.partition("=")
            if not eq or not _ARG_NAME.fullmatch(arg) or arg in args:
                raise AgentError(f"malformed request: {where}: bad or repeated argument {arg[:40]!r}")
            args[arg] = _decode_value(value, f"{where}, {name}.{arg}")
        op = Op(name, args)
        problems = check_args(op)
        if problems:
            raise AgentError(f"malformed request: {where}: " + "; ".join(problems))
        ops.append(op)
    return mode, ops


def build_stdin(ops: Sequence[Op], *, mode: str) -> bytes:
    """What the bootstrap reads: the agent, the SEPARATOR line, the request (ASCII, LF)."""
    return (agent_script() + SEPARATOR + "\n" + encode_request(ops, mode=mode)).encode("ascii")


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


# ---------------------------------------------------------------- responses ---

_PLAIN = re.compile(r"[\x20\x21\x23-\x3b\x3d\x3f-\x5b\x5d-\x7e]*")  # printable ASCII but " \ < >


def _json_string(text: str) -> str:
    if _PLAIN.fullmatch(text):
        return '"' + text + '"'
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif 0x20 <= code <= 0x7E and ch not in "<>":  # < and > escaped: no value can fake a frame marker
            out.append(ch)
        elif code > 0xFFFF:  # UTF-16 surrogate pair, as the agent's .NET strings hold it
            code -= 0x10000
            out.append(f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{code:04x}")
    out.append('"')
    return "".join(out)


def _json(value: Any) -> str:
    """JSON exactly as the agent's emitter writes it: compact, ASCII-only."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if _is_int(value):
        return str(value)
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, Mapping):
        parts = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"agent JSON object keys must be strings, not {type(key).__name__}")
            parts.append(_json_string(key) + ":" + _json(item))
        return "{" + ",".join(parts) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_json(item) for item in value) + "]"
    raise ValueError(f"the agent never emits {type(value).__name__} values")


def _frame(document: str) -> str:
    return f"{BEGIN}\r\n{document}\r\n{END}\r\n"


def encode_response(results: Sequence[OpResult]) -> str:
    """What the agent prints for ``results`` (so the lab answers exactly like it)."""
    items = []
    for result in results:
        if result.ok:
            items.append('{"ok":true,"value":' + _json(result.value) + "}")
        else:
            error = result.error or Win32Error(1, "The operation failed.")
            items.append(
                '{"ok":false,"error":{"code":'
                + str(int(error.code))
                + ',"message":'
                + _json_string(error.message)
                + "}}"
            )
    return _frame('{"v":1,"results":[' + ",".join(items) + "]}")


def encode_output_line(text: str) -> str:
    """One line of a slow tool's console output, as the agent prints it while the tool runs."""
    return f"{OUTPUT} {_json_string(text)}\r\n"


class OutputLines:
    """Pulls the live output lines out of stdout as it arrives, chunk by chunk.

    Lines may be split across WinRM Receive chunks; only complete lines are
    returned.  Everything else (the frame, noise) is left to decode_response.
    """

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> list[str]:
        data = self._pending + chunk
        lines = data.split(b"\n")
        self._pending = lines.pop()
        out: list[str] = []
        marker = OUTPUT.encode("ascii") + b" "
        for raw in lines:
            line = raw.rstrip(b"\r").lstrip(b"\xef\xbb\xbf")
            if line.startswith(marker):
                try:
                    text = json.loads(line[len(marker) :].decode("ascii"))
                except (UnicodeDecodeError, ValueError):
                    continue  # a damaged progress line is only cosmetic; never fail the op on it
                if isinstance(text, str):
                    out.append(text)
        return out


def encode_fatal(message: str) -> str:
    """What the agent prints when it cannot run at all."""
    return _frame('{"v":1,"fatal":{"message":' + _json_string(message) + '},"results":[]}')


_UTF8_BOM = b"\xef\xbb\xbf"


def _decode_text(data: bytes) -> str:
    """Bytes from powershell.exe as text: tolerant of BOMs and UTF-16."""
    if data.startswith(_UTF8_BOM):
        text = data[len(_UTF8_BOM) :].decode("utf-8", errors="replace")
    elif data.startswith(b"\xff\xfe"):
        text = data[2:].decode("utf-16-le", errors="replace")
    elif data.startswith(b"\xfe\xff"):
        text = data[2:].decode("utf-16-be", errors="replace")
    elif b"<\x00<\x00<\x00W\x00" in data or b"#\x00<\x00 \x00C\x00" in data:
        text = data.decode("utf-16-le", errors="replace")  # UTF-16 without a BOM
    else:
        text = data.decode("utf-8", errors="replace")
    # PS2 can emit a BOM at its first write, which may follow other output.
    return text.replace("\ufeff", "")


def _excerpt(text: str, limit: int = 160) -> str:
    """A short, single-line, printable excerpt for error messages."""
    flat = " ".join(text.split())
    flat = "".join(ch if ch.isprintable() else "?" for ch in flat)
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _result(item: Any, index: int) -> OpResult:
    if not isinstance(item, dict) or not isinstance(item.get("ok"), bool):
        raise AgentError(f"agent response: result {index} is malformed")
    if item["ok"]:
        if "value" not in item:
            raise AgentError(f"agent response: result {index} has no value")
        return OpResult.success(item["value"])
    error = item.get("error")
    if (
        not isinstance(error, dict)
        or not _is_int(error.get("code"))
        or not isinstance(error.get("message"), str)
    ):
        raise AgentError(f"agent response: result {index} has a malformed error")
    return OpResult.failure(error["code"], error["message"])


def decode_response(stdout: bytes, expected: int, *, stderr: bytes = b"") -> list[OpResult]:
    """The agent's results from its stdout; exactly ``expected`` of them.

    Tolerates BOMs, UTF-16, banner or profile noise around the frame and CRLF.
    Raises :class:`AgentError` (with a short excerpt of the output, and of
    ``stderr`` when given) if the frame is missing or malformed, if the count
    differs, or if the agent reported a fatal error.
    """
    text = _decode_text(stdout)

    def fail(problem: str) -> AgentError:
        message = problem
        if text.strip():
            message += f"; stdout: {_excerpt(text)!r}"
        errors = clean_stderr(stderr) if stderr else ""
        if errors:
            message += f"; stderr: {_excerpt(errors)!r}"
        return AgentError(message)

    begin = text.find(BEGIN)
    end = text.find(END, begin + len(BEGIN)) if begin >= 0 else -1
    if begin < 0 or end < 0:
        raise fail("the agent printed no response frame")
    # Raw line breaks cannot occur inside the JSON (the agent escapes them), so
    # any that are there were inserted by a console wrapping long lines.
    body = re.sub(r"[\r\n]", "", text[begin + len(BEGIN) : end])
    try:
        document = json.loads(body, parse_constant=_reject_constant)
    except ValueError as e:
        raise fail(f"the agent's response is not valid JSON ({e})") from e
    if not isinstance(document, dict) or document.get("v") != PROTOCOL_VERSION:
        raise fail("the agent's response has an unknown version")
    fatal = document.get("fatal")
    if fatal is not None:
        detail = fatal.get("message") if isinstance(fatal, dict) else None
        raise fail(f"the agent could not run: {detail if isinstance(detail, str) else 'unknown error'}")
    results = document.get("results")
    if not isinstance(results, list):
        raise fail("the agent's response has no results")
    if len(results) != expected:
        raise fail(f"the agent answered {len(results)} ops, {expected} were sent")
    return [_result(item, index) for index, item in enumerate(results)]


# ------------------------------------------------------------------- stderr ---

_OBJS = re.compile(r"<Objs\b.*?</Objs>", re.DOTALL)
_CLIXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_ERROR_STRING = re.compile(r"<S\s+S=\"Error\"\s*>(.*?)</S>", re.DOTALL)
_PS_NAMESPACE = "{http://schemas.microsoft.com/powershell/2004/04}"


def _unescape_clixml(text: str) -> str:
    """``_xDDDD_`` -> the UTF-16 code unit it names (pairs rejoined)."""
    units = _CLIXML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return units.encode("utf-16-le", "surrogatepass").decode("utf-16-le", errors="replace")


def _error_strings(block: str) -> list[str]:
    try:
        root = ET.fromstring(block)
    except ET.ParseError:
        # Truncated or odd XML: fall back to the error strings we can see.
        return [_xml_unescape(m.group(1)) for m in _ERROR_STRING.finditer(block)]
    return [
        element.text or ""
        for element in root.iter()
        if element.tag in (f"{_PS_NAMESPACE}S", "S") and element.get("S") == "Error"
    ]


def clean_stderr(stderr: bytes) -> str:
    """Readable text from powershell.exe's stderr.

    CLIXML (``#< CLIXML`` + ``<Objs>`` blocks, possibly several) keeps only its
    ``S="Error"`` strings, unescaped; progress and other records are dropped.
    Plain text passes through.  Line ends become LF.
    """
    text = _decode_text(stderr).replace("\r\n", "\n")
    if "<Objs" not in text:
        return text.strip()
    pieces: list[str] = []
    position = 0
    for match in _OBJS.finditer(text):
        pieces.append(text[position : match.start()].replace("#< CLIXML", ""))
        pieces.append(_unescape_clixml("".join(_error_strings(match.group(0)))))
        position = match.end()
    pieces.append(text[position:].replace("#< CLIXML", ""))
    joined = "".join(pieces).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in joined.split("\n") if line.strip())
