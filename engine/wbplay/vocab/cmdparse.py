"""Console output of Windows' backup and disk tools -> data, in English and Japanese.

Command ops answer ``{command_line, exit_code, output}`` with the text the PC
printed in its UI language (see :mod:`wbplay.ops`).  These parsers turn it
into data in the engine, the same way for every host.  They anchor first on
what does not change with the language, as docs/domain.md s.3.2 advises:
``[n]`` writer states, ``{GUID}`` and ``\\\\?\\Volume{...}`` paths,
``GLOBALROOT`` locations, numbers with units, version identifiers and exit
codes (chkdsk's are documented [V]).  Where only words can tell (chkdsk's
verdict in a boot-time report, the dirty bit), a short table
of English and Japanese phrases is used; the Japanese phrases are [U] until
checked against a Japanese lab VM.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from wbplay.vocab import codes, domain

_GUID = re.compile(r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}")
_VOLUME_PATH = re.compile(r"\\\\\?\\Volume\{[0-9A-Fa-f-]{36}\}\\")
_STATE = re.compile(r"\[(\d+)\]")
# The first line of a vssadmin writer or provider block: "<label>: '<name>'".
_BLOCK_NAME = re.compile(r"^\S.*?:\s*'(.+)'\s*$")
_SIZE = re.compile(r"([\d.,]+)\s*(bytes|B|KB|MB|GB|TB|バイト)\b", re.IGNORECASE)
_GLOBALROOT = re.compile(r"\\\\\?\\GLOBALROOT\\device\\harddisk(\d+)\\partition(\d+)(\\\S*)?", re.IGNORECASE)


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").replace("\r\n", "\n").replace("\r", "\n")


def _lines(text: str) -> list[str]:
    return _norm(text).split("\n")


def _value_after_colon(line: str) -> str:
    return line.split(":", 1)[1].strip() if ":" in line else line.strip()


def _any(text: str, phrases: tuple[str, ...]) -> bool:
    low = _norm(text).lower()
    return any(p.lower() in low for p in phrases)


# -- vssadmin ----------------------------------------------------------------------------------


def writers(output: str) -> list[dict[str, Any]]:
    """``vssadmin list writers`` -> ``[{name, id, instance_id, state, failed, last_error}]``.

    A writer block starts at an unindented line ending in a quoted name; inside it the
    first GUID is the writer id, the second the instance id, the ``[n]`` line the state
    and the line after it the last error (localized text, kept as printed).
    """
    out: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    after_state = False
    for line in _lines(output):
        if not line.strip():
            current, after_state = None, False
            continue
        name = _BLOCK_NAME.match(line)
        if name and not line.startswith((" ", "\t")):
            current = {
                "name": name.group(1),
                "id": None,
                "instance_id": None,
                "state": None,
                "last_error": None,
            }
            out.append(current)
            after_state = False
            continue
        if current is None:
            continue
        guid = _GUID.search(line)
        state = _STATE.search(line)
        if state and current["state"] is None:
            current["state"] = int(state.group(1))
            after_state = True
        elif after_state:
            current["last_error"] = _value_after_colon(line)
            after_state = False
        elif guid:
            key = "id" if current["id"] is None else "instance_id"
            current[key] = guid.group(0).lower()
    for w in out:
        w["failed"] = w["state"] in domain.WRITER_FAILED_STATES
    return out


def _decimal(digits: str) -> float:
    """The last mark is the decimal one ("1,863.01", "1.863,01", "5,96"); the others group
    thousands."""
    mark = "," if digits.rfind(",") > digits.rfind(".") else "."
    whole, found, frac = digits.rpartition(mark)
    if not found:
        return float(digits or 0)
    return float((whole.replace(",", "").replace(".", "") or "0") + "." + (frac or "0"))


def size_mb(text: str) -> int | None:
    """``5.96 GB`` -> 6103; ``UNBOUNDED`` -> 0 (vssadmin's no-limit); None if no size."""
    if "UNBOUNDED" in text.upper():
        return 0
    m = _SIZE.search(_norm(text))
    if not m:
        return None
    number = _decimal(m.group(1))
    unit = m.group(2).upper()
    factor = {
        "BYTES": 1 / 2**20,
        "B": 1 / 2**20,
        "バイト": 1 / 2**20,
        "KB": 1 / 1024,
        "MB": 1,
        "GB": 1024,
        "TB": 2**20,
    }
    return round(number * factor[unit])


def shadowstorage(output: str) -> list[dict[str, Any]]:
    """``vssadmin list shadowstorage`` -> ``[{for_path, for_letter, on_path, on_letter, used_mb,
    allocated_mb, max_mb}]`` (positional: the first volume line is "for", the second "on",
    then used, allocated and maximum sizes)."""
    out: list[dict[str, Any]] = []
    block: list[str] = []
    for line in [*_lines(output), ""]:
        if line.strip():
            block.append(line)
            continue
        vols = [ln for ln in block if _VOLUME_PATH.search(ln)]
        if len(vols) >= 2:
            sizes = [size_mb(ln) for ln in block[block.index(vols[1]) + 1 :]]
            sizes = [s for s in sizes if s is not None] + [None, None, None]

            def letter(ln: str) -> str | None:
                m = re.search(r"\(([A-Za-z]:)\)", ln)
                return m.group(1).upper() if m else None

            out.append(
                {
                    "for_path": _VOLUME_PATH.search(vols[0]).group(0),  # type: ignore[union-attr]
                    "for_letter": letter(vols[0]),
                    "on_path": _VOLUME_PATH.search(vols[1]).group(0),  # type: ignore[union-attr]
                    "on_letter": letter(vols[1]),
                    "used_mb": sizes[0],
                    "allocated_mb": sizes[1],
                    "max_mb": sizes[2],
                }
            )
        block = []
    return out


# -- chkdsk / chkntfs / fsutil --------------------------------------------------------------------

_NO_PROBLEMS = ("found no problems", "問題はありませんでした", "問題は見つかりませんでした")
_CORRECTIONS = ("made corrections", "修正されました", "replaced bad clusters")
_FOUND_PROBLEMS = ("found problems", "問題が見つかりました")
_BAD_ADDED = (
    re.compile(r"Adding (\d+) bad clusters", re.IGNORECASE),
    re.compile(r"(\d+)\s*個の不良クラスター"),
)
_BAD_KB = (re.compile(r"(\d+) KB in bad sectors", re.IGNORECASE), re.compile(r"(\d+) KB\s*:\s*不良セクター"))


def _first_int(patterns: tuple[re.Pattern[str], ...], text: str) -> int | None:
    for p in patterns:
        m = p.search(text)
        if m:
            return int(m.group(1))
    return None


def chkdsk_volume(output: str) -> str | None:
    """The volume a chkdsk report is about (its first lines name it: ``C:`` or a GUID path)."""
    for line in _lines(output)[:4]:
        path = _VOLUME_PATH.search(line)
        if path:
            return path.group(0)
        m = re.search(r"(?<![A-Za-z])([A-Za-z]):(?![\\/\w])", line)
        if m:
            return m.group(1).upper() + ":"
    return None


def chkdsk_report(output: str) -> dict[str, Any]:
    """A repairing pass's report (Wininit 1001 after boot, or Chkdsk's event) -> verdict.

    ``clean`` means the pass found nothing: the seed repeats chkdsk /r until a pass is clean.
    """
    text = _norm(output)
    added = _first_int(_BAD_ADDED, text) or 0
    corrections = _any(text, _CORRECTIONS) or added > 0
    return {
        "volume": chkdsk_volume(text),
        "clean": _any(text, _NO_PROBLEMS) and not corrections,
        "corrections": corrections,
        "bad_clusters_added": added,
        "bad_sectors_kb": _first_int(_BAD_KB, text),
    }


def chkdsk_scan(output: str, exit_code: int) -> dict[str, Any]:
    """A read-only scan: chkdsk exit codes 0 no errors, 1 fixed, 2 cleanup not done without /F,
    3 could not check or errors not fixed (chkdsk.md [V]); the text decides when the code is
    missing."""
    text = _norm(output)
    if exit_code in (0, 1, 2, 3):
        problems = exit_code in (2, 3)
    else:
        problems = _any(text, _FOUND_PROBLEMS) or not _any(text, _NO_PROBLEMS)
    return {
        "problems": problems,
        "exit_code": exit_code,
        "bad_sectors_kb": _first_int(_BAD_KB, text),
    }


def chkntfs(output: str) -> dict[str, Any]:
    """``chkntfs X:`` -> ``{scheduled, dirty}`` (a manual schedule or the dirty bit both make
    autochk run at boot)."""
    text = _norm(output)
    scheduled = _any(text, ("scheduled manually", "スケジュールされています"))
    dirty = _any(text, (" is dirty", "はダーティです"))
    return {"scheduled": scheduled, "dirty": dirty or scheduled}


def dirty(output: str) -> bool | None:
    """``fsutil dirty query X:``: ``Volume - C: is Dirty`` / ``is NOT Dirty`` (docs/domain.md s.4 [V])."""
    text = _norm(output)
    if _any(text, ("is not dirty", "ではありません")):
        return False
    if _any(text, ("is dirty", "ダーティです")):
        return True
    return None


_NTFSINFO_KEYS = {
    "bytes per physical sector": "bytes_per_physical_sector",
    "物理セクターあたりのバイト数": "bytes_per_physical_sector",
    "bytes per sector": "bytes_per_sector",
    "セクターあたりのバイト数": "bytes_per_sector",
    "bytes per cluster": "bytes_per_cluster",
    "クラスターあたりのバイト数": "bytes_per_cluster",
}


def ntfsinfo(output: str, exit_code: int = 0) -> dict[str, Any]:
    """``fsutil fsinfo ntfsinfo X:`` -> sector sizes (4096/4096 = 4K native, 512/4096 = 512e;
    docs/domain.md s.4 [V KB2510009])."""
    out: dict[str, Any] = {
        "ntfs": exit_code == 0,
        "bytes_per_sector": None,
        "bytes_per_physical_sector": None,
    }
    for line in _lines(output):
        label, sep, value = line.partition(" :")
        if not sep:
            label, sep, value = line.partition(":")
        key = label.strip().lower()
        for name, field in _NTFSINFO_KEYS.items():
            if key == name.lower():
                digits = re.search(r"\d+", value)
                if digits:
                    out[field] = int(digits.group(0))
    return out


# -- reagentc / wbadmin / sfc / CBS ----------------------------------------------------------------


def reagentc(output: str) -> dict[str, Any]:
    """``reagentc /info`` -> ``{enabled, location, disk, partition, path}``."""
    text = _norm(output)
    enabled = None
    for line in text.split("\n"):
        if "Windows RE" in line and ":" in line and "GLOBALROOT" not in line:
            value = _value_after_colon(line).lower()
            if value in ("enabled", "有効"):
                enabled = True
                break
            if value in ("disabled", "無効"):
                enabled = False
                break
    loc = _GLOBALROOT.search(text)
    return {
        "enabled": enabled,
        "location": loc.group(0) if loc else None,
        "disk": int(loc.group(1)) if loc else None,
        "partition": int(loc.group(2)) if loc else None,
        "path": loc.group(3) if loc else None,
    }


def versions(output: str, exit_code: int) -> dict[str, Any]:
    """``wbadmin get versions`` -> ``{ok, versions: [ISO times], error}``.  The version
    identifier ``MM/DD/YYYY-HH:MM`` is the same in every language."""
    text = _norm(output)
    found = [
        f"{y}-{mo}-{d}T{hh}:{mi}:00Z"
        for mo, d, y, hh, mi in re.findall(r"(\d\d)/(\d\d)/(\d{4})-(\d\d):(\d\d)", text)
    ]
    error = None
    if exit_code != 0:
        mentioned = codes.codes_in(text)
        error = mentioned[0] if mentioned else f"exit {exit_code}"
    return {"ok": exit_code == 0, "versions": found, "error": error}


# sfc's [SR] lines in CBS.log, which is not localized (the [SR] texts below are the same on a
# French or Japanese PC: [U], no non-English CBS.log was at hand).  Sources: KB928228 "Analyze
# the log file entries that SFC.exe generates" (learn.microsoft.com troubleshoot/windows-client/
# deployment/analyze-sfc-program-log-file-entries): each group of 100 ends "[SR] Verify complete";
# a file that does not match is logged "Repairing corrupted file ... from store" (even by a
# verify, which repairs nothing) or "Cannot repair member file" (the store cannot fix it).
# KB954402 ("CBS.log file contains entries that some files aren't repaired") shows a /scannow
# ending "[SR] Repair complete".  Unverified: that /verifyonly never writes "Repair complete",
# and that a clean /scannow still writes it (third-party logs show "Repairing 0 components"
# then "Repair complete").
SR_VERIFY_DONE = "[SR] Verify complete"
SR_REPAIR_DONE = "[SR] Repair complete"
_SR_MISMATCH = ("[SR] Repairing corrupted file", "[SR] Cannot repair member file")


def sfc_run(sr_lines: str | None, *, repair: bool) -> dict[str, Any]:
    """The [SR] lines one sfc run wrote -> ``{complete, violations, unrepaired}``.

    ``sr_lines`` is what CBS.log gained during the run (``None``: there was no CBS.log to
    read).  ``complete``: the run's own end marker is there (``Repair complete`` for
    /scannow, ``Verify complete`` for /verifyonly).  ``violations`` is ``None`` unless the
    run completed: an unknown outcome is neither clean nor corrupt.
    """
    text = _norm(sr_lines or "")
    complete = sr_lines is not None and (SR_REPAIR_DONE if repair else SR_VERIFY_DONE) in text
    mismatched = any(marker in text for marker in _SR_MISMATCH)
    return {
        "complete": complete,
        "violations": mismatched if complete else None,
        "unrepaired": "[SR] Cannot repair member file" in text if complete else None,
    }


def sfc_verify(value: dict[str, Any]) -> dict[str, Any]:
    """``sfc.verifyonly``'s value -> :func:`sfc_run` of the [SR] lines it wrote (``cbs``).  The
    console summary is localized ("100 %" in French) and is not read for the verdict."""
    return sfc_run(value.get("cbs"), repair=False)


def providers(output: str) -> list[dict[str, Any]]:
    """``vssadmin list providers`` -> ``[{name, id, third_party}]``: a block starts at a line
    ending in a quoted name, its first GUID is the provider id; Microsoft's own providers are
    told by id (the text is localized, the ids are not)."""
    out: list[dict[str, Any]] = []
    for line in _lines(output):
        name = _BLOCK_NAME.match(line)
        if name:
            out.append({"name": name.group(1), "id": None, "third_party": None})
            continue
        guid = _GUID.search(line)
        if guid and out and out[-1]["id"] is None:
            pid = guid.group(0).lower()
            out[-1]["id"] = pid
            out[-1]["third_party"] = pid not in domain.MICROSOFT_VSS_PROVIDERS
    return out


def wbadmin_disks(output: str) -> list[dict[str, Any]]:
    """``wbadmin get disks`` -> ``[{name, number, id, total_mb, used_mb}]``.

    A disk is a block of ``label: value`` lines in KB2009365's order (name, number, identifier,
    total space, used space [V]); the labels are localized, so a block is told by its
    identifier (a GUID in braces) and the fields by position."""
    out: list[dict[str, Any]] = []
    block: list[str] = []
    for line in [*_lines(output), ""]:
        if line.strip():
            block.append(_value_after_colon(line))
            continue
        guid = next((g for g in (_GUID.search(v) for v in block) if g), None)
        if guid is not None and len(block) >= 3:
            number = re.search(r"\d+", block[1])
            out.append(
                {
                    "name": block[0],
                    "number": int(number.group(0)) if number else None,
                    "id": guid.group(0).lower(),
                    "total_mb": size_mb(block[3]) if len(block) > 3 else None,
                    "used_mb": size_mb(block[4]) if len(block) > 4 else None,
                }
            )
        block = []
    return out


def dism_health(output: str) -> dict[str, Any]:
    """``DISM /Online /Cleanup-Image /ScanHealth`` -> ``{healthy, repairable}`` (the phrases are
    [3P]; the Japanese ones [U]).  Text that says neither counts as not healthy: the repair is
    then offered, never skipped on a misread."""
    text = _norm(output)
    healthy = _any(
        text, ("no component store corruption detected", "コンポーネント ストアの破損は検出されませんでした")
    )
    repairable = _any(text, ("component store is repairable", "コンポーネント ストアは修復可能です"))
    return {"healthy": healthy, "repairable": repairable}


_SR_REPAIRED = re.compile(r'\[SR\] Repairing corrupted file .*?"([^"]+)"\\\[l:\d+\{\d+\}\]"([^"]+)"')
_SR_CANNOT = re.compile(r'\[SR\] Cannot repair member file \[l:\d+\{\d+\}\]"([^"]+)"')


def cbs_sr(output: str) -> dict[str, Any]:
    """``findstr /c:"[SR]" CBS.log`` -> what sfc repaired and what it could not (KB928228 layout)."""
    text = _norm(output)
    repaired = []
    for m in _SR_REPAIRED.finditer(text):
        folder = m.group(1)
        if folder.startswith("\\??\\"):
            folder = folder[4:]
        repaired.append(folder + "\\" + m.group(2))
    cannot = [m.group(1) for m in _SR_CANNOT.finditer(text)]
    return {"repaired": repaired, "cannot_repair": cannot}
