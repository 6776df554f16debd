"""Where settings come from, without loading the settings model (no pydantic, no numpy).

`ragcode search` asks its daemon before anything heavy is imported: it needs the data dir,
the TOML file and a few switches, read here with the same rules as `config.Settings`
(explicit argument > environment > TOML file > default).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ENV_PREFIX = "RAGCODE_"
_FALSE = frozenset({"0", "false", "f", "n", "no", "off"})
_TRUE = frozenset({"1", "true", "t", "y", "yes", "on"})


def default_data_dir() -> Path:
    env = os.environ.get("RAGCODE_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".local" / "share" / "ragcode"


def toml_path(data_dir: object) -> Path | None:
    """$RAGCODE_CONFIG, else ragcode.toml in the data dir actually used (--data-dir too)."""
    explicit = os.environ.get("RAGCODE_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = Path(str(data_dir)).expanduser() if data_dir is not None else default_data_dir()
    candidate = base / "ragcode.toml"
    return candidate if candidate.is_file() else None


def read_toml(path: Path | None) -> dict[str, Any]:
    """The TOML file's tables ({} without a file; a broken file is the settings' to report)."""
    if path is None:
        return {}
    import tomllib  # only when there is a file

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def resolve_data_dir(explicit: Path | None) -> Path:
    """The data dir `load_settings(data_dir=explicit)` would use, as an absolute path."""
    if explicit is not None:
        return explicit.expanduser().absolute()
    if os.environ.get("RAGCODE_DATA_DIR"):
        return default_data_dir().absolute()
    configured = read_toml(toml_path(None)).get("data_dir")
    if isinstance(configured, str) and configured:
        return Path(configured).expanduser().absolute()
    return default_data_dir().absolute()


def env_value(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """A RAGCODE_* variable, matched without regard to case like pydantic-settings does."""
    wanted = (ENV_PREFIX + name).lower()
    for key, value in (os.environ if environ is None else environ).items():
        if key.lower() == wanted:
            return value
    return None


def setting_flag(section: str, field: str, data_dir: Path | None, default: bool) -> bool | None:
    """A boolean setting (`[section] field`, RAGCODE_SECTION__FIELD); None if unreadable."""
    raw = env_value(f"{section}__{field}")
    if raw is not None:
        lowered = raw.strip().lower()
        return False if lowered in _FALSE else True if lowered in _TRUE else None
    table = read_toml(toml_path(data_dir)).get(section, {})
    value = table.get(field, default) if isinstance(table, dict) else default
    return value if isinstance(value, bool) else None
