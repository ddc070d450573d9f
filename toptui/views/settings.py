"""Settings saved with ``W`` (as in top) and read at start: a small JSON file under XDG_CONFIG_HOME.

A missing file means defaults. A damaged one (bad JSON, wrong types, unknown values) means
defaults plus one warning naming the file, never a crash; values that are fine are still used.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from toptui.engine.pacing import MAX_DELAY_S, MIN_DELAY_S
from toptui.render.columns import BY_NAME, OPTIONAL_COLUMNS

THEMES = ("textual-dark", "textual-light")


@dataclass(slots=True)
class Settings:
    sort: str = "%CPU"
    descending: bool = True
    interval_s: float = 2.0
    unit: int = 0
    growth_panel: bool = True
    tree: bool = False
    full_command: bool = False
    per_cpu: bool = False
    hide_idle: bool = False
    extra_columns: list[str] = field(default_factory=list)
    theme: str = "textual-dark"


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "toptui" / "config.json"


def _valid(name: str, value: object) -> bool:
    checks = {
        "sort": lambda v: isinstance(v, str) and v in BY_NAME,
        "descending": lambda v: isinstance(v, bool),
        "interval_s": lambda v: isinstance(v, int | float) and MIN_DELAY_S <= v <= MAX_DELAY_S,
        "unit": lambda v: isinstance(v, int) and 0 <= v <= 2,
        "growth_panel": lambda v: isinstance(v, bool),
        "tree": lambda v: isinstance(v, bool),
        "full_command": lambda v: isinstance(v, bool),
        "per_cpu": lambda v: isinstance(v, bool),
        "hide_idle": lambda v: isinstance(v, bool),
        "extra_columns": lambda v: isinstance(v, list) and all(c in OPTIONAL_COLUMNS for c in v),
        "theme": lambda v: v in THEMES,
    }
    return checks[name](value)


def load(path: Path | None = None) -> tuple[Settings, str | None]:
    """The saved settings and a warning (or None); never raises."""
    path = path or config_path()
    settings = Settings()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return settings, None
    except OSError as exc:
        return settings, f"cannot read {path}: {exc.strerror or exc}; using defaults"
    if len(raw) > 1 << 20:
        return settings, f"{path} is damaged (over 1 MiB); using defaults"
    try:
        data = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return settings, f"{path} is damaged (not JSON); using defaults"
    if not isinstance(data, dict):
        return settings, f"{path} is damaged (not an object); using defaults"
    bad = []
    for f in fields(Settings):
        if f.name in data:
            if _valid(f.name, data[f.name]):
                setattr(settings, f.name, data[f.name])
            else:
                bad.append(f.name)
    warning = f"{path}: ignored bad values for {', '.join(bad)}" if bad else None
    return settings, warning


def save(settings: Settings, path: Path | None = None) -> Path:
    """Write atomically (temp file + rename), so a crash never leaves a half-written config."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
