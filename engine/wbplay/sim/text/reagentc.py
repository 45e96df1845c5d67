"""``reagentc /info``."""

from __future__ import annotations

import uuid
from typing import Any

from wbplay.sim.model import HostModel
from wbplay.sim.text.language import crlf, lang


def winre_location(re_: dict[str, Any]) -> str:
    return f"\\\\?\\GLOBALROOT\\device\\harddisk{re_['disk']}\\partition{re_['partition']}" + re_.get(
        "path", "\\Recovery\\WindowsRE"
    )


def reagentc_info(m: HostModel) -> str:
    re_ = m.state.get("winre") or {"enabled": False}
    location = winre_location(re_) if re_.get("enabled") and "disk" in re_ else ""
    status = "Enabled" if re_.get("enabled") else "Disabled"
    bcd = str(uuid.uuid5(uuid.NAMESPACE_OID, "wbplay-winre:" + m.hostname)) if location else ""
    if lang(m) == "ja":
        rows = [
            "Windows 回復環境 (Windows RE) およびシステム リセットの構成",
            "情報:",
            "",
            f"    Windows RE の状態:         {status}",
            f"    Windows RE の場所:         {location}",
            f"    ブート構成データ (BCD) ID: {bcd}",
            "    回復イメージの場所:",
            "    回復イメージ インデックス: 0",
            "    カスタム イメージの場所:",
            "    カスタム イメージ インデックス: 0",
            "",
            "REAGENTC.EXE: 操作は成功しました。",
        ]
    else:
        rows = [
            "Windows Recovery Environment (Windows RE) and system reset configuration",
            "Information:",
            "",
            f"    Windows RE status:         {status}",
            f"    Windows RE location:       {location}",
            f"    Boot Configuration Data (BCD) identifier: {bcd}",
            "    Recovery image location:",
            "    Recovery image index:      0",
            "    Custom image location:",
            "    Custom image index:        0",
            "",
            "REAGENTC.EXE: Operation Successful.",
        ]
    return crlf(rows)
