"""Where the inventory file is, and reading it as text (the same for every format)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from wbplay.errors import InventoryError, PathError
from wbplay.paths import read_regular

ENV_INVENTORY = "WBPLAY_INVENTORY"


def default_inventory_path(env: Mapping[str, str] | None = None) -> tuple[Path, bool]:
    """The inventory to use when ``--inventory`` is not given, and whether it must exist."""
    env = os.environ if env is None else env
    if env.get(ENV_INVENTORY):
        return Path(env[ENV_INVENTORY]).expanduser(), True
    config_home = env.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    return Path(config_home) / "wbplay" / "inventory.yml", False


def read_text(path: Path) -> str:
    """The inventory file's text (UTF-8, BOM allowed); errors name the file."""
    try:
        return read_regular(path, "inventory").decode("utf-8-sig")
    except PathError as e:
        raise InventoryError(
            e.reason, path=e.path, hint=e.hint or f"pass --inventory PATH or set {ENV_INVENTORY}"
        ) from None
    except UnicodeDecodeError as e:
        raise InventoryError(f"not UTF-8 text (byte {e.start})", path=str(path)) from None
