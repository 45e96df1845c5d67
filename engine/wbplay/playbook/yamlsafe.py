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
* refuse YAML merge keys (``<<``), whose override rules surprise authors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from wbplay.errors import PlaybookError
from wbplay.safetext import quoted

KeyPath = tuple[str | int, ...]

MAX_NODES = 200_000  # far above any real playbook; stops alias bombs early
MAX_BYTES = 4 * 1024 * 1024
# Without aliases, a document's text is never longer than its file: more means aliases
# repeat a large value, which nothing wbplay reads needs.
MAX_TEXT = MAX_BYTES


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
        if self.nodes > MAX_NODES or depth > 200:
            raise self.fail(
                "document expands to too many nodes (alias bomb or runaway nesting)",
                node,
                key_path,
                "write the values out instead of nesting aliases",
            )
        self.marks.setdefault(key_path, Mark(node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, key_path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*key_path, i), depth + 1) for i, item in enumerate(node.value)]
        try:
            value = self._scalars.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as e:
            raise self.fail(f"cannot read this value: {e.problem}", node, key_path) from None
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
    if node is None:
        raise cls(
            "the file is empty", path=path, hint="a playbook is a YAML mapping with id, title and steps"
        )
    builder = _Builder(path, cls)
    data = builder.build(node, ())
    return Document(path=path, data=data, marks=builder.marks)


def load_file(path: Path, cls: type[PlaybookError] = PlaybookError) -> Document:
    """Read and parse a YAML file (UTF-8, BOM tolerated)."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise cls(f"cannot read file: {e.strerror}", path=str(path)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise cls(f"not UTF-8 text (byte {e.start})", path=str(path), hint="save the file as UTF-8") from None
    return load_text(text, str(path), cls)
