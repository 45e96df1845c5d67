"""What powershell.exe writes, as text: byte encodings, and CLIXML on stderr."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html import unescape as _xml_unescape

_UTF8_BOM = b"\xef\xbb\xbf"


def decode_text(data: bytes) -> str:
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
    text = decode_text(stderr).replace("\r\n", "\n")
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
