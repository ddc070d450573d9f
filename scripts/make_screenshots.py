"""Regenerate screenshots/*.svg from the real app, watching real programs in real time.

It writes four small programs to a scratch directory and starts them as scripts, so that toptui
names them as a person would see them (``python3 leaker.py``, not ``python3 -c``):

* ``leaker.py`` keeps 128 KiB more of written bytes every second (the leak to find);
* ``holder.py`` holds 300 MiB flat (big, not leaking);
* ``sawtooth.py`` climbs to 80 MiB and frees it, again and again (a GC-like sawtooth);
* ``pool.py`` starts three ``worker.py`` children that each keep 48 KiB more a second (a pool
  that leaks as a family).

Then it runs toptui headless at 160x45 until the detector flags the leaker (about a minute), and
saves: the table sorted by memory (``M``) with the growth panel (``main.svg``), the leaker's
detail view with its fitted line and projection (``detail.svg``), help (``help.svg``), and the
panel in family mode (``family.svg``). Each SVG is then made safe for renderers that drop
whitespace-only text (see ``fix_svg``), and with ``--png`` also converted with rsvg-convert to
check by eye.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from toptui.views.app import TopApp
from toptui.views.detail_screen import DetailScreen
from toptui.views.growth_plot import GrowthPlot
from toptui.views.help_screen import HelpScreen

SIZE = (160, 45)  # wide enough for the panel's sparklines, small enough for a README
FLAG_TIMEOUT_S = 240.0  # the leaker is flagged after about a minute; a loaded machine is slower
FAMILY_TIMEOUT_S = 120.0  # families are judged every 5 s from F, a leak after 10 s of evidence
SETTLE_S = 3.0  # a few more samples after each change, so the screen shows its steady state
POLL_S = 0.5


def keeper(kib: int, doc: str, *, ready: bool = False) -> str:
    """A program that keeps ``kib`` KiB more of written bytes every second, on a steady clock;
    ``ready`` prints "ok" first, for the scripts this one waits on."""
    say = 'print("ok", flush=True)\n' if ready else ""
    return f'''"""{doc}"""
import time
kept = []
{say}t0 = time.monotonic()
i = 0
while True:
    i += 1
    kept.append(b"x" * ({kib} * 1024))
    time.sleep(max(0.0, t0 + i - time.monotonic()))
'''


PROGRAMS = {
    "leaker.py": keeper(128, "Keeps 128 KiB more of written bytes every second.", ready=True),
    "holder.py": '''"""Holds 300 MiB, flat."""
import time
big = b"x" * (300 << 20)
print("ok", flush=True)
while True:
    time.sleep(3600)
''',
    "sawtooth.py": '''"""Climbs to 80 MiB in 8 MiB steps, frees it all, again: a sawtooth."""
import time
kept = []
print("ok", flush=True)
while True:
    for _ in range(10):
        kept.append(b"x" * (8 << 20))
        time.sleep(1.0)
    kept.clear()
''',
    "worker.py": keeper(48, "One pool worker: keeps 48 KiB more every second."),
    "pool.py": '''"""Starts three workers, and ends them when it is ended (SIGTERM)."""
import signal, subprocess, sys, time
from pathlib import Path
here = Path(__file__).parent
workers = [subprocess.Popen([sys.executable, str(here / "worker.py")]) for _ in range(3)]
def end(*_):
    for w in workers:
        w.kill()
        w.wait()
    sys.exit(0)
signal.signal(signal.SIGTERM, end)
print("ok", flush=True)
while True:
    time.sleep(3600)
''',
}


def python() -> str:
    """``python3`` as a person would run it (so COMMAND reads ``python3 leaker.py``)."""
    return shutil.which("python3") or sys.executable


# Starts a program detached (its parent exits at once), so no family of ours holds it: in family
# mode the pool shows as "python3 pool.py +3", not as this script's family. Prints its pid.
_LAUNCH = """
import os, sys
pid = os.fork()
if pid == 0:
    os.setsid()
    os.execv(sys.argv[1], sys.argv[1:])
print(pid, flush=True)
"""
GONE_TIMEOUT_S = 10.0


def spawn(directory: Path, name: str) -> int:
    """Start ``name`` detached; its pid once it said "ok" (its memory is written)."""
    launcher = subprocess.Popen([sys.executable, "-c", _LAUNCH, python(), str(directory / name)],
                                stdout=subprocess.PIPE, text=True, cwd=directory)  # fmt: skip
    assert launcher.stdout is not None
    pid = int(launcher.stdout.readline())
    launcher.stdout.readline()  # the program's own "ok", on the stdout it inherited
    launcher.wait()
    return pid


def stop(pid: int) -> None:
    """SIGTERM (the pool ends its workers first), then wait until it is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + GONE_TIMEOUT_S
    while Path(f"/proc/{pid}").exists() and time.monotonic() < end:
        time.sleep(0.1)


async def wait(pilot, predicate, timeout: float, what: str) -> None:
    waited = 0.0
    while not predicate():
        if waited > timeout:
            raise SystemExit(f"{what}: not so after {timeout:.0f} s")
        await pilot.pause(POLL_S)
        waited += POLL_S


_BLANK_TEXT = re.compile(r"(<text\b[^>]*>)( +)(</text>)")


def fix_svg(path: Path) -> None:
    """Textual writes each run of cells as its own <text>, spaces as &#160;; a run of plain spaces
    or a root without ``xml:space`` lets some renderers collapse the whitespace and shift what
    follows. Spaces become no-break spaces and the root preserves whitespace."""
    svg = path.read_text(encoding="utf-8")
    svg = _BLANK_TEXT.sub(lambda m: m.group(1) + "&#160;" * len(m.group(2)) + m.group(3), svg)
    if "xml:space" not in svg[:300]:
        svg = svg.replace("<svg ", '<svg xml:space="preserve" ', 1)
    path.write_text(svg, encoding="utf-8")


async def shoot(out: Path, scratch: Path) -> list[Path]:
    for name, code in PROGRAMS.items():
        (scratch / name).write_text(code, encoding="utf-8")
    pids = [spawn(scratch, n) for n in ("leaker.py", "holder.py", "sawtooth.py", "pool.py")]
    leaker = pids[0]
    saved: list[Path] = []
    try:
        app = TopApp(interval_s=1.0)
        async with app.run_test(size=SIZE) as pilot:

            def save(name: str) -> None:
                app.save_screenshot(name, str(out))
                saved.append(out / name)

            await pilot.press("M")
            await wait(pilot, lambda: bool(app.frame) and any(
                k[0] == leaker for k, _ in app.frame.leaks()), FLAG_TIMEOUT_S,
                "the leaker flagged")  # fmt: skip
            await pilot.pause(SETTLE_S)
            save("main.svg")

            key = next(k for k, _ in app.frame.leaks() if k[0] == leaker)
            app.table.select_key(key)
            await pilot.press("enter")
            assert isinstance(app.screen, DetailScreen)
            plot = app.screen.query_one(GrowthPlot)
            await wait(pilot, lambda: "projection" in plot.render().plain, 30.0,
                       "the fitted line and its projection drawn")  # fmt: skip
            await pilot.pause(SETTLE_S)
            save("detail.svg")
            await pilot.press("escape")

            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            await pilot.pause(1.0)
            save("help.svg")
            await pilot.press("escape")

            await pilot.press("F")
            panel = app.growth_panel
            await wait(pilot, lambda: any(e.members for e in panel._entries), FAMILY_TIMEOUT_S,
                       "the pool flagged as a family")  # fmt: skip
            await pilot.pause(SETTLE_S)
            save("family.svg")
    finally:
        for pid in pids:
            stop(pid)
    for path in saved:
        fix_svg(path)
    return saved


def to_png(paths: list[Path]) -> None:
    """rsvg-convert each SVG to PNG beside it, to look at (librsvg2-bin)."""
    tool = shutil.which("rsvg-convert")
    if tool is None:
        raise SystemExit("--png needs rsvg-convert (apt-get install librsvg2-bin)")
    for path in paths:
        subprocess.run([tool, "-o", str(path.with_suffix(".png")), str(path)], check=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="screenshots", type=Path)
    parser.add_argument("--png", action="store_true", help="also write PNGs (rsvg-convert)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="toptui-shots-") as scratch:
        written = asyncio.run(shoot(args.out.resolve(), Path(scratch)))
    if args.png:
        to_png(written)
    print("wrote " + ", ".join(str(p) for p in written))
