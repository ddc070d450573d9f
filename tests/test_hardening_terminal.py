"""Terminals: a sliver of a window, resizes, NO_COLOR, TERM=dumb/linux, a C locale, and no terminal
at all. toptui works, or refuses with one line; it never crashes.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys

import pytest
from children import WAIT_S
from conftest import TOPTUI
from test_app import wait_for

from toptui.views.app import TopApp

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

# Every key that opens, toggles or moves something, then Escape back to the table.
KEYS = ["M", "down", "pagedown", "enter", "escape", "question_mark", "escape", "g", "V", "V", "c",
        "e", "F", "Z", "Z", "G", "less_than_sign", "greater_than_sign", "g"]  # fmt: skip


async def wait_frames(pilot, app: TopApp, n: int = 2, timeout: float = WAIT_S) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while app.frames_seen < n:
        assert loop.time() < end, "no frames"
        await pilot.pause(0.05)


@pytest.mark.parametrize("size", [(20, 5), (40, 10)])
async def test_a_tiny_terminal_works_and_survives_resizes(size):
    app = TopApp(interval_s=0.2)
    async with app.run_test(size=size) as pilot:
        await wait_frames(pilot, app)
        for key in KEYS:
            await pilot.press(key)
            await pilot.pause(0.02)
        await pilot.press("escape")
        for w, h in [(160, 45), size, (1, 1), (200, 3), (3, 200), size]:
            await pilot.resize_terminal(w, h)
            seen = app.frames_seen
            await wait_frames(pilot, app, seen + 1)
        assert app.table.rows  # still sampling and showing
        await pilot.press("q")
    assert app.return_code in (0, None)


@pytest.mark.parametrize("size,rows", [((20, 5), 1), ((40, 10), 3)])
async def test_a_small_terminal_still_shows_processes(size, rows):
    app = TopApp(interval_s=0.2)
    async with app.run_test(size=size) as pilot:
        await wait_frames(pilot, app)
        await wait_for(pilot, lambda: app.table.region.height >= rows + 1)  # header and rows
        assert app.table.region.y >= 0 and app.table.region.bottom <= size[1]


SGR = re.compile(rb"\x1b\[([0-9;]*)m")
GREYS = {16, 231, *range(232, 256)}  # black, white and the grey ramp of the 256-colour palette


def hues(output: bytes) -> set[str]:
    """The chromatic colours a program drew with (greys and plain attributes do not count)."""
    found = set()
    for params in SGR.findall(output):
        p = [int(x) for x in params.split(b";") if x]
        i = 0
        while i < len(p):
            if p[i] in (38, 48) and i + 2 < len(p) and p[i + 1] == 5:
                if p[i + 2] not in GREYS:
                    found.add(f"256:{p[i + 2]}")
                i += 3
            elif p[i] in (38, 48) and i + 4 < len(p) and p[i + 1] == 2:
                if len(set(p[i + 2 : i + 5])) > 1:
                    found.add("rgb:" + ",".join(map(str, p[i + 2 : i + 5])))
                i += 5
            else:
                if 31 <= p[i] <= 36 or 41 <= p[i] <= 46 or 91 <= p[i] <= 96 or 101 <= p[i] <= 106:
                    found.add(f"ansi:{p[i]}")
                i += 1
    return found


def run_screen(pty_app, env: dict[str, str]) -> bytes:
    app = pty_app(["-d", "0.3"], env=env, size=(100, 30))
    app.wait_output(b"load average")
    app.wait_output(b"PID")
    app.send(b"M")
    app.send(b"q")
    assert app.wait() == 0
    assert b"Traceback" not in app.output
    return app.output


@pytest.mark.parametrize(
    "env",
    [
        {"TERM": "linux"},
        {"TERM": "xterm"},
        {"LANG": "C", "LC_ALL": "C"},
        {"LANG": "POSIX", "LC_ALL": "POSIX", "TERM": "vt100"},
    ],
    ids=lambda e: ",".join(f"{k}={v}" for k, v in e.items()),
)
def test_the_screen_works_in_other_terminals(pty_app, env):
    run_screen(pty_app, env)


def test_no_color_draws_without_hues(pty_app):
    assert hues(run_screen(pty_app, {})), "the check itself sees no colour at all"
    assert not hues(run_screen(pty_app, {"NO_COLOR": "1"}))


def test_term_dumb_refuses_with_one_line(pty_app):
    app = pty_app([], env={"TERM": "dumb"})
    assert app.wait() == 2
    text = app.output.decode().strip()
    assert text.count("\n") == 0 and text.startswith("toptui: ") and "-b" in text


def test_no_terminal_refuses_with_one_line(tmp_path):
    rec = tmp_path / "rec.csv"
    r = subprocess.run([*TOPTUI, "--record", str(rec)], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=30)  # fmt: skip
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("toptui: ") and "-b" in lines[0]
    assert r.stdout == ""
    assert not rec.exists()  # refused before anything was created
