"""``--limit PATTERN``: narrow the PCs a ``--host`` expression named.

Comma-separated items; each is a glob over host names (``pc04*``), a group
name, or either prefixed with ``!`` to exclude.  A PC is kept if some item
without ``!`` matches it (or there are only exclusions) and no ``!`` item does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase

from wbplay.errors import UsageError


def _matches(host: str, item: str, groups: Mapping[str, Sequence[str]]) -> bool:
    return host in groups.get(item, ()) or fnmatchcase(host.lower(), item.lower())


def select(hosts: Sequence[str], pattern: str, groups: Mapping[str, Sequence[str]]) -> list[str]:
    items = [i.strip() for i in pattern.split(",")]
    if not pattern.strip() or not all(items) or any(i == "!" for i in items):
        raise UsageError(f"--limit {pattern!r}: an empty pattern")
    include = [i for i in items if not i.startswith("!")]
    exclude = [i[1:] for i in items if i.startswith("!")]
    kept = [
        h
        for h in hosts
        if (not include or any(_matches(h, i, groups) for i in include))
        and not any(_matches(h, e, groups) for e in exclude)
    ]
    if not kept:
        raise UsageError(
            f"--limit {pattern}: no PC of {len(hosts)} matches",
        )
    return kept
