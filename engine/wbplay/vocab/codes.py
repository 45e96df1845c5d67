"""Error codes as users and event logs show them, normalised to ``0x%08X``.

Windows prints the same HRESULT as ``0x8007045D``, ``0x8007045d``,
``8007045D``, ``2147943517`` (UInt32 event fields, docs/domain.md s.3.1 [V])
or even ``-2147023779`` (a signed Int32).  Japanese text often uses
full-width characters (``（０x８００７０４２２）``).  Everything here
normalises to one spelling so that triage and probes compare like with like.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# Codes users report for which no authoritative meaning was found (docs/domain-review.md B, last
# row): triage must say "unknown" and ask for the event's ErrorMessage field, never guess.
NO_KNOWN_MEANING = frozenset({"0x80780081", "0x8078006B", "0x80780038"})

_HEX = re.compile(r"(?<![0-9A-Za-z])0[xX]([0-9A-Fa-f]{8})(?![0-9A-Fa-f])")
_BARE_HEX = re.compile(r"(?<![0-9A-Za-z])(8[0-9A-Fa-f]{7})(?![0-9A-Za-z])")
_DECIMAL = re.compile(r"(?<![0-9.,])(-?\d{10})(?![0-9.,])")


def _as_u32(n: int) -> int | None:
    if -(2**31) <= n < 0:
        return n & 0xFFFFFFFF
    if 0x80000000 <= n <= 0xFFFFFFFF:
        return n
    return None


def normalise(value: Any) -> str | None:
    """One code -> ``0x%08X``; None for anything that is not a failure HRESULT.

    >>> normalise("2155348129"), normalise("0x8007045d"), normalise(-2147023779)
    ('0x807800A1', '0x8007045D', '0x8007045D')
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        u = _as_u32(value)
        return None if u is None else f"0x{u:08X}"
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if re.fullmatch(r"0[xX][0-9A-Fa-f]{1,8}", text):
        n = int(text, 16)
        return f"0x{n:08X}" if n >= 0x80000000 else None
    if re.fullmatch(r"8[0-9A-Fa-f]{7}", text):
        return f"0x{int(text, 16):08X}"  # 8 digits starting with 8: hex without 0x (a decimal one has 10)
    if re.fullmatch(r"-?\d+", text):
        u = _as_u32(int(text))
        return None if u is None else f"0x{u:08X}"
    return None


def codes_in(text: str) -> list[str]:
    """Every failure HRESULT mentioned in a pasted message or an event text, in order, once each."""
    flat = unicodedata.normalize("NFKC", text)
    found: list[tuple[int, str]] = []
    for m in _HEX.finditer(flat):
        found.append((m.start(), f"0x{int(m.group(1), 16):08X}"))
    for m in _DECIMAL.finditer(flat):
        code = normalise(m.group(1))
        if code is not None:
            found.append((m.start(), code))
    taken = {pos for pos, _ in found}
    for m in _BARE_HEX.finditer(flat):
        if m.start() not in taken and not any(p <= m.start() < p + 10 for p in taken):
            found.append((m.start(), f"0x{int(m.group(1), 16):08X}"))
    out: list[str] = []
    for _, code in sorted(found):
        if code not in out:
            out.append(code)
    return out
