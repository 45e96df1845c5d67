"""Rewrite a host state file with new contents, keeping the comments its author wrote.

A user's own ``sim:path/state.yml`` is documentation as much as data: its comments
say why a value is what it is.  PyYAML drops comments, so the new state is merged
into a comment-preserving round-trip load of the file as it is (ruamel.yaml):
unchanged values keep their comments, quoting and place, changed ones are
replaced in place, new keys are appended.  A file without comments takes the
plain path.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def keep_comments(path: Path, state: dict[str, Any]) -> str | None:
    """The text of ``state`` with the comments of the file now at ``path``; None when that
    file has none to keep (or none that can be read), for the plain dump."""
    try:
        old_text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    if "#" not in old_text:
        return None
    rt = YAML()
    rt.preserve_quotes = True
    rt.width = 1 << 16  # never fold: a folded long key (HKU\<SID>\...\User Shell Folders) reads back broken
    try:
        doc = rt.load(old_text)
    except YAMLError:
        return None  # the file is being replaced anyway; its comments cannot be read
    if not isinstance(doc, CommentedMap):
        return None
    out = io.StringIO()
    rt.dump(_merge(doc, state), out)
    text = out.getvalue()
    # ruamel writes YAML 1.2, wbplay reads 1.1 (PyYAML): where the two would read a value
    # differently (``on``, ``0755``), keeping comments is not worth a changed state.
    try:
        same = yaml.load(text, Loader=_SafeLoader) == state
    except yaml.YAMLError:
        return None  # what ruamel wrote does not read back: the plain dump instead
    return text if same else None


def _same(old: Any, new: Any) -> bool:
    """Equal and of the same kind: in a host state True is not 1, and 1 is not 1.0."""
    kinds = (bool, float, str)
    return all(isinstance(old, k) == isinstance(new, k) for k in kinds) and old == new


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _merge(old: Any, new: Any) -> Any:
    if isinstance(old, CommentedMap) and isinstance(new, dict):
        for key in [k for k in old if k not in new]:
            del old[key]
        for key, value in new.items():
            old[key] = _merge(old[key], value) if key in old else value
        return old
    if isinstance(old, CommentedSeq) and isinstance(new, list):
        for i, value in enumerate(new[: len(old)]):
            old[i] = _merge(old[i], value)
        del old[len(new) :]
        old.extend(new[len(old) :])
        return old
    if _scalar(new) and _scalar(old) and _same(old, new):
        return old  # keep the author's quoting and form
    return new
