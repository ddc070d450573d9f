"""Number formatting shared by the screen and batch mode, copied from top's rules.

top (procps-ng 4) prints memory columns in KiB and, when a number does not fit its column, scales it
to the next unit with one decimal (``scale_mem``); TIME+ drops hundredths, then seconds, as the
number grows (``scale_tics``). Matching these exactly lets a top user read toptui without thinking.
"""

from __future__ import annotations

import math
import time

# Scale targets for the memory columns: 0 = KiB (top's default), 1 = MiB, 2 = GiB.
UNIT_NAMES = ("KiB", "MiB", "GiB")
_SUFFIXES = "kmgtpe"


def scale_mem(kib: float, width: int, target: int = 0) -> str:
    """Format a KiB quantity to fit ``width`` characters, as top's ``scale_mem`` does."""
    num = float(kib)
    for i, suffix in enumerate(_SUFFIXES):
        if i >= target:
            text = f"{num:.0f}" if i == 0 else f"{num:.1f}{suffix}"
            if len(text) <= width:
                return text
        num /= 1024.0
    return "?"


def time_plus(seconds: float, width: int = 9) -> str:
    """Format CPU time as top's TIME+ column (``scale_tics``): M:SS.hh, M:SS, H,MM, Nh, Nd, Nw."""
    centis = int(seconds * 100 + 1e-6)
    cc = centis % 100
    total_s = centis // 100
    ss = total_s % 60
    minutes = total_s // 60
    for text in (f"{minutes}:{ss:02d}.{cc:02d}", f"{minutes}:{ss:02d}"):
        if len(text) <= width:
            return text
    hours, mm = divmod(minutes, 60)
    for text in (f"{hours},{mm:02d}", f"{hours}h", f"{hours // 24}d", f"{hours // 24 // 7}w"):
        if len(text) <= width:
            return text
    return "?"


def human_bytes(n: float, precision: int = 1) -> str:
    """Readable binary size for panels and reasons: ``512 B``, ``3.2 MiB``, ``41.0 GiB``."""
    sign = "-" if n < 0 else ""
    n = abs(float(n))
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024.0:
            return f"{sign}{n:.0f} B" if unit == "B" else f"{sign}{n:.{precision}f} {unit}"
        n /= 1024.0
    return f"{sign}{n:.{precision}f} EiB"


def compact_bytes(n: float) -> str:
    """Short size for narrow columns: ``812K``, ``1.2M``, ``3.4G`` (top-style unit letters)."""
    sign = "-" if n < 0 else ""
    n = abs(float(n))
    for unit in ("B", "K", "M", "G", "T", "P"):
        if n < 1024.0:
            if unit == "B":
                return f"{sign}{n:.0f}B"
            return f"{sign}{n:.1f}{unit}" if n < 100 else f"{sign}{n:.0f}{unit}"
        n /= 1024.0
    return f"{sign}{n:.1f}E" if n < 100 else f"{sign}{n:.0f}E"


def rate(bytes_per_s: float) -> str:
    """Growth rate for the GROWTH column and the panel, e.g. ``+1.2M/s``; per minute when slow."""
    if bytes_per_s == 0 or not math.isfinite(bytes_per_s):
        return ""
    sign = "+" if bytes_per_s > 0 else "-"
    mag = abs(bytes_per_s)
    if mag < 1024:
        return f"{sign}{compact_bytes(mag * 60)}/m"
    return f"{sign}{compact_bytes(mag)}/s"


def duration(seconds: float) -> str:
    """Short duration: ``45s``, ``12m30s``, ``3h12m``, ``2d04h``: two fields, the second always two
    digits, so every duration toptui adds reads the same way (no ``50h04m`` beside ``~2d2h``)."""
    if not math.isfinite(seconds):
        return "∞"
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h}h{m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d{h:02d}h"


def start_time(epoch: float, now: float | None = None) -> str:
    """ps/top START: HH:MM today, ``Mmmdd`` this year, else the year."""
    now = time.time() if now is None else now
    t, n = time.localtime(epoch), time.localtime(now)
    if now - epoch < 86400 and t.tm_yday == n.tm_yday:
        return time.strftime("%H:%M", t)
    if t.tm_year == n.tm_year:
        return time.strftime("%b%d", t)
    return str(t.tm_year)


def uptime(seconds: float) -> str:
    """top's uptime text: ``up 3 days, 4:05`` / ``up 12 min``."""
    s = int(seconds)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes = s // 60
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}, ")
    if hours:
        parts.append(f"{hours:2d}:{minutes:02d}")
    else:
        parts.append(f"{minutes} min")
    return "up " + "".join(parts)
