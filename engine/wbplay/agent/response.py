"""Responses: the frame the agent prints on stdout, and its live output lines.

The encoders write exactly what the agent's emitter writes (so the lab
answers like a PC); :func:`decode_response` reads it back, tolerant of the
noise a real console adds around the frame.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from wbplay.agent.console import clean_stderr, decode_text
from wbplay.agent.request import PROTOCOL_VERSION
from wbplay.errors import AgentError
from wbplay.vocab.ops import OpResult, Win32Error

BEGIN = "<<<WBPLAY-BEGIN>>>"
END = "<<<WBPLAY-END>>>"
OUTPUT = "<<<WBPLAY-OUT>>>"
"""Prefix of a line of live output (chkdsk, sfc) printed before the frame: ``OUTPUT + " " + JSON string``."""

_PLAIN = re.compile(r"[\x20\x21\x23-\x3b\x3d\x3f-\x5b\x5d-\x7e]*")  # printable ASCII but " \ < >


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
    text = decode_text(stdout)

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
