"""Requests: what the engine asks the agent to run, with every value as base64 or digits::

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
import re
from collections.abc import Sequence
from typing import Any

from wbplay.errors import AgentError
from wbplay.vocab.ops import OP_SPECS, Op, check_args

PROTOCOL_VERSION = 1
MODES = ("read", "write")
REQUEST_MAGIC = "WBPLAY-REQUEST"

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
