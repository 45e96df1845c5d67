"""Safe YAML loading that remembers where every key came from.

PyYAML's ``safe_load`` silently keeps the last of two duplicate keys (goss's
"WRONG way" problem) and forgets line numbers.  This loader composes the node
graph with the safe resolver, then builds plain Python data itself, so it can:

* reject duplicate keys, naming both lines;
* record ``file:line:column`` for every key path, for pointed errors later;
* bound alias expansion (a "billion laughs" document is refused, not expanded),
  both in nodes and in text: one large string repeated through aliases would
  make every consumer that copies or quotes it (a schema error message, a
  report) as large as the expansion;
* refuse YAML merge keys (``<<``), whose override rules surprise authors;
* bound nesting depth and the size of numbers (a 20,000-level document or a
  5,000-digit integer is refused with the file named, not a traceback).

Parsing uses libyaml's C parser where PyYAML has it (25x faster), once a
scan of its event stream (libyaml's parser is iterative) shows the nesting
within :data:`MAX_DEPTH`, since the C composer recurses on the C stack.  A
document too deep, or one libyaml refuses, is parsed again in pure Python, so
that every error is the one (and at the ``line:column``) it has always been.

:func:`loads_json` applies the same bounds to the JSON wbplay reads back
(plans, journals), and refuses ``NaN`` / ``Infinity``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from wbplay.errors import PathError, PlaybookError
from wbplay.paths import read_regular
from wbplay.safetext import quoted

KeyPath = tuple[str | int, ...]

MAX_NODES = 200_000  # far above any real playbook; stops alias bombs early
MAX_BYTES = 4 * 1024 * 1024
# Without aliases, a document's text is never longer than its file: more means aliases
# repeat a large value, which nothing wbplay reads needs.
MAX_TEXT = MAX_BYTES
MAX_DEPTH = 100  # nesting levels; real playbooks use under 10
MAX_NUMBER_CHARS = 40  # a number written with more characters is refused, not parsed
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


@dataclass(frozen=True, slots=True)
class Mark:
    line: int  # 1-based
    column: int  # 1-based


@dataclass(frozen=True, slots=True)
class Document:
    """Loaded YAML data plus the position of every key path in the file."""

    path: str
    data: Any
    marks: dict[KeyPath, Mark]

    def mark_for(self, key_path: KeyPath) -> Mark | None:
        """The position of ``key_path``, or of its nearest ancestor that has one."""
        probe = tuple(key_path)
        while True:
            if probe in self.marks:
                return self.marks[probe]
            if not probe:
                return None
            probe = probe[:-1]

    def error(
        self, message: str, key_path: KeyPath, hint: str = "", cls: type[PlaybookError] = PlaybookError
    ) -> PlaybookError:
        mark = self.mark_for(key_path)
        return cls(
            message,
            path=self.path,
            line=mark.line if mark else None,
            column=mark.column if mark else None,
            key_path=format_key_path(key_path),
            hint=hint,
        )


def format_key_path(key_path: KeyPath) -> str:
    """``('steps', 2, 'remedy')`` -> ``steps[2].remedy``."""
    out = ""
    for part in key_path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class _Builder:
    def __init__(self, path: str, cls: type[PlaybookError]) -> None:
        self.path = path
        self.cls = cls
        self.marks: dict[KeyPath, Mark] = {}
        self.nodes = 0
        self.text = 0  # characters of scalar text built so far, aliases counted each time
        self._scalars = yaml.SafeLoader("")

    def fail(self, message: str, node: yaml.Node, key_path: KeyPath, hint: str = "") -> PlaybookError:
        return self.cls(
            message,
            path=self.path,
            line=node.start_mark.line + 1,
            column=node.start_mark.column + 1,
            key_path=format_key_path(key_path),
            hint=hint,
        )

    def build(self, node: yaml.Node, key_path: KeyPath, depth: int = 0) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(
                "document expands to too many nodes (alias bomb)",
                node,
                key_path,
                "write the values out instead of nesting aliases",
            )
        if depth > MAX_DEPTH:
            raise self.fail(f"nesting is deeper than {MAX_DEPTH} levels", node, key_path, "flatten the data")
        self.marks.setdefault(key_path, Mark(node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, key_path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*key_path, i), depth + 1) for i, item in enumerate(node.value)]
        if node.tag in _NUMBER_TAGS and len(str(node.value)) > MAX_NUMBER_CHARS:
            raise self.fail(
                f"a number of {len(str(node.value))} characters is too large (at most {MAX_NUMBER_CHARS})",
                node,
                key_path,
                "quote it if it is meant as text",
            )
        try:
            value = self._scalars.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as e:
            raise self.fail(f"cannot read this value: {e.problem}", node, key_path) from None
        except ValueError as e:  # e.g. a number PyYAML cannot convert
            raise self.fail(f"cannot read this value: {e}", node, key_path) from None
        self._count_text(value, node, key_path)
        return value

    def _count_text(self, value: Any, node: yaml.Node, key_path: KeyPath) -> None:
        if isinstance(value, (str, bytes)):
            self.text += len(value)
        if self.text > MAX_TEXT:
            raise self.fail(
                f"document expands to more than {MAX_TEXT // 1024 // 1024} MiB of text "
                "(a large value repeated through aliases)",
                node,
                key_path,
                "write the value once, or shorten it; aliases (*name) must not multiply large values",
            )

    def _mapping(self, node: yaml.MappingNode, key_path: KeyPath, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        seen: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise self.fail(
                    "YAML merge keys (<<) are not supported", key_node, key_path, "repeat the keys explicitly"
                )
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail("a mapping key must be a plain value", key_node, key_path)
            key = str(self._scalars.construct_object(key_node))
            self._count_text(key, key_node, key_path)
            if key in seen:
                first = seen[key].start_mark.line + 1
                raise self.fail(
                    f"duplicate key {quoted(key)} (first defined on line {first})",
                    key_node,
                    (*key_path, key),
                    "YAML keeps only the last value of a repeated key; remove or rename one of them",
                )
            seen[key] = key_node
            child_path = (*key_path, key)
            self.marks[child_path] = Mark(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = self.build(value_node, child_path, depth + 1)
        return out


def load_text(text: str, path: str, cls: type[PlaybookError] = PlaybookError) -> Document:
    """Parse YAML text; every error names ``path:line:column``."""
    if len(text.encode("utf-8", errors="replace")) > MAX_BYTES:
        raise cls(f"file is larger than {MAX_BYTES // 1024 // 1024} MiB", path=path)
    try:
        node = _compose_fast(text)
        if node is _SLOW:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise cls(
            f"not valid YAML: {e.problem or e.context}",
            path=path,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
            hint="check indentation and quoting around this position",
        ) from None
    except yaml.YAMLError as e:
        raise cls(f"not valid YAML: {e}", path=path) from None
    except RecursionError:
        raise cls(f"nesting is deeper than {MAX_DEPTH} levels", path=path, hint="flatten the data") from None
    if node is None:
        raise cls(
            "the file is empty", path=path, hint="a playbook is a YAML mapping with id, title and steps"
        )
    builder = _Builder(path, cls)
    data = builder.build(node, ())
    return Document(path=path, data=data, marks=builder.marks)


_SLOW: Any = object()  # "use the pure-Python parser": what _compose_fast says when it cannot help
_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _compose_fast(text: str) -> Any:
    """The node graph from libyaml, or :data:`_SLOW` (no libyaml, too deep, or not valid YAML)."""
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None:
        return _SLOW
    try:
        depth = 0
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, _OPEN):
                depth += 1
                if depth > MAX_DEPTH:
                    return _SLOW  # the pure-Python path names the place, as it always did
            elif isinstance(event, _CLOSE):
                depth -= 1
        return yaml.compose(text, Loader=loader)
    except yaml.YAMLError:
        return _SLOW  # the pure-Python parser's message and mark, as before


def read_text(path: Path, cls: type[PlaybookError] = PlaybookError, what: str = "file") -> tuple[str, bytes]:
    """A regular file's UTF-8 text (BOM tolerated) and its bytes; every problem names the file."""
    try:
        raw = read_regular(path, what, MAX_BYTES)
    except PathError as e:
        raise cls(e.reason, path=e.path, hint=e.hint) from None
    try:
        return raw.decode("utf-8-sig"), raw
    except UnicodeDecodeError as e:
        raise cls(f"not UTF-8 text (byte {e.start})", path=str(path), hint="save the file as UTF-8") from None


def load_file(path: Path, cls: type[PlaybookError] = PlaybookError) -> Document:
    """Read and parse a YAML file (UTF-8, BOM tolerated)."""
    text, _raw = read_text(path, cls)
    return load_text(text, str(path), cls)


# -- JSON that wbplay wrote and reads back ---------------------------------------------


def _json_number(text: str, convert: type[int] | type[float]) -> int | float:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"a number of {len(text)} characters is too large (at most {MAX_NUMBER_CHARS})")
    value = convert(text)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"the number {text} is out of range")
    return value


def _json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number wbplay accepts")


def _depth(value: Any) -> int:
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            todo += [(v, level + 1) for v in (item.values() if isinstance(item, dict) else item)]
    return deepest


def loads_json(text: str, path: str) -> Any:
    """``json.loads`` with wbplay's bounds; errors are ``PlaybookError`` naming ``path[:line:col]``."""
    try:
        value = json.loads(
            text,
            parse_int=lambda s: _json_number(s, int),
            parse_float=lambda s: _json_number(s, float),
            parse_constant=_json_constant,
        )
    except json.JSONDecodeError as e:
        raise PlaybookError(f"not valid JSON: {e.msg}", path=path, line=e.lineno, column=e.colno) from None
    except RecursionError:
        value = None
        depth = MAX_DEPTH + 1
    except ValueError as e:
        raise PlaybookError(str(e), path=path) from None
    else:
        depth = _depth(value)
    if depth > MAX_DEPTH:
        raise PlaybookError(f"nesting is deeper than {MAX_DEPTH} levels", path=path)
    return value
