"""The screen at the sizes people's terminals have: COMMAND stays readable, the summary is cropped
(never wrapped) and keeps its memory lines, help scrolls and names keys as printed, prompts show
their own keys; and batch text keeps one field per column on every line."""

import dataclasses
import os
import re
import shutil
import sys

import pytest
from test_app import wait_for
from textual import events
from textual.widgets._footer import FooterKey

from toptui.analysis.growth import GrowthVerdict
from toptui.commands.batch import frame_text
from toptui.engine.monitor import Frame, Monitor
from toptui.model import CpuStates, MemoryStats, ProcSample, Snapshot, SystemStats, TaskCounts
from toptui.render.columns import (
    COLUMNS,
    MIN_COMMAND_WIDTH,
    PID_WIDTH,
    command_width,
    fit_columns,
    visible_columns,
)
from toptui.render.summary import summary_lines, with_note
from toptui.views.app import TopApp
from toptui.views.help_screen import HelpScreen, key_text

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux terminals")
MIB = 1024 * 1024
SUMMARY_STARTS = ("toptui - ", "Tasks:", "%Cpu(s):", "MiB Mem :", "MiB Swap:")
LONG_NAME = "worker-abcdefghij"  # 17 characters, longer than top's 15-character comm


def proc(pid: int, res: int = MIB, name: str = LONG_NAME) -> ProcSample:
    return ProcSample(
        key=(pid, pid), pid=pid, ppid=1, user="u", name=name, command=f"/usr/bin/{name} --serve",
        state="S", priority=20, nice=0, threads=1, virt=10 * MIB, res=res, shr=MIB // 2,
        cpu_percent=0.0, mem_percent=0.0, cpu_time=1.0, create_time=0.0,
    )  # fmt: skip


SYSTEM = SystemStats(
    1234.0, (0.5, 0.25, 0.125), 1, CpuStates(),
    MemoryStats(8 << 30, 4 << 30, 6 << 30, 0, 0, 0, 0), TaskCounts(40, 1, 39, 0, 0),
)  # fmt: skip


class FixedSampler:
    """Forty steady processes with long names: the same rows every tick, no /proc needed."""

    live = False  # not this machine: the Source protocol
    extras_for: frozenset = frozenset()

    def __init__(self, system: SystemStats = SYSTEM) -> None:
        self.t = 100.0
        self.system = system

    def sample(self) -> Snapshot:
        self.t += 1.0
        procs = tuple(proc(pid) for pid in range(1, 41))
        return Snapshot(self.t, 1_700_000_000 + self.t, 1.0, self.system, procs)


def make_app(system: SystemStats = SYSTEM, **kw) -> TopApp:
    monitor = Monitor(FixedSampler(system), judge_every_s=1000.0)
    return TopApp(interval_s=0.05, monitor=monitor, sort="PID", descending=False, **kw)


def screen_lines(app: TopApp) -> list[str]:
    """The whole screen as text, one string per terminal line, as the terminal would show it."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def header_words(line: str) -> list[str]:
    """The table header's column names, without the sort column's ▲/▼."""
    return line.replace("▲", "").replace("▼", "").split()


async def started(pilot, app: TopApp) -> None:
    await wait_for(pilot, lambda: app.frames_seen >= 2)
    await pilot.pause(0.1)


# -- 1. COMMAND keeps a readable width -----------------------------------------------------------


def test_fit_columns_keeps_command_readable_at_every_width():
    everything = visible_columns(
        ["PPID", "nTH", "START", "PSS", "USS", "SWAP", "READ/s"], tree=True
    )
    for columns in (visible_columns(), everything):
        for width in range(30, 220):
            shown = fit_columns(columns, width)
            names = [c.name for c in shown]
            assert {"PID", "RES"} <= set(names) and names[-1] == "COMMAND"
            assert [n for n in [c.name for c in columns] if n in names] == names  # order kept
            if width >= PID_WIDTH + 1 + 6 + 1 + MIN_COMMAND_WIDTH:
                assert command_width(shown, width) >= MIN_COMMAND_WIDTH, (width, names)
    # Wide enough, nothing gives way: the full default set from 100 columns.
    assert fit_columns(visible_columns(), 99) == list(COLUMNS)
    # VIRT goes first, then NI, PR and TIME+, then the extras (the last chosen first, SUBTREE
    # last of them), then the rest of top's columns, GROWTH and %MEM last.
    chosen = visible_columns(["PPID", "nTH"], tree=True)
    names = [c.name for c in chosen]
    fixed = 1000 - command_width(chosen, 1000)  # what the fixed columns and their spaces take
    order = ["VIRT", "NI", "PR", "TIME+", "nTH", "PPID", "SUBTREE", "S", "SHR", "%CPU", "USER",
             "GROWTH", "%MEM"]  # fmt: skip
    widths = {c.name: c.width + 1 for c in chosen}
    for count in range(len(order) + 1):
        gone = order[:count]
        # Just too narrow for COMMAND with these gone: exactly these go.
        width = fixed - sum(widths[n] for n in gone) + MIN_COMMAND_WIDTH
        assert [c.name for c in fit_columns(chosen, width)] == [n for n in names if n not in gone]
        if count < len(order):
            shown = [c.name for c in fit_columns(chosen, width - 1)]
            assert shown == [n for n in names if n not in order[: count + 1]], (count, shown)
    # At 80 columns what this tool is for stays: GROWTH and %MEM (VIRT, NI, PR, TIME+ gave way).
    at80 = [c.name for c in fit_columns(visible_columns(), 80)]
    assert {"GROWTH", "%MEM", "RES"} <= set(at80) and "VIRT" not in at80
    # The sort column stays, whatever it costs the others.
    assert "VIRT" in [c.name for c in fit_columns(visible_columns(), 80, keep=("VIRT",))]


@pytest.mark.parametrize("width", [60, 80, 90])
async def test_command_is_readable_at_narrow_widths_even_with_extra_columns(width):
    app = make_app()
    async with app.run_test(size=(width, 24)) as pilot:
        await started(pilot, app)
        for extra in ([], ["PPID", "nTH", "START"]):
            app.table.set_columns(extra, False)
            await pilot.pause(0.1)
            header = app.table.render_line(0).text
            assert "COMMAND" in header
            assert header.index("COMMAND") + MIN_COMMAND_WIDTH <= app.table.size.width
            assert LONG_NAME[:MIN_COMMAND_WIDTH] in app.table.render_line(1).text
        # Sorting by growth (G) brings its column back, COMMAND still readable.
        await pilot.press("G")
        await pilot.pause(0.1)
        header = app.table.render_line(0).text
        assert "GROWTH" in header
        assert LONG_NAME[:MIN_COMMAND_WIDTH] in app.table.render_line(1).text


async def test_the_full_column_set_from_100_columns_and_it_comes_back_on_widening():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        assert "VIRT" not in app.table.render_line(0).text
        assert "GROWTH" in app.table.render_line(0).text
        await pilot.resize_terminal(100, 24)
        await pilot.pause(0.2)
        assert [c.name for c in app.table.columns] == [c.name for c in COLUMNS]
        assert header_words(app.table.render_line(0).text) == [c.name for c in COLUMNS]
        assert LONG_NAME in app.table.render_line(1).text


# -- 2. Batch text: the same fields on every line ------------------------------------------------


def test_batch_text_has_one_field_per_column_on_every_row():
    leak = GrowthVerdict("leak", 1.5 * MIB, 90 * MIB, 60.0, 60, 0.9, 0.0, 0.0, ())
    flat = GrowthVerdict("no_leak", 0.0, 0.0, 60.0, 60, 0.9, None, 0.0, ())
    procs = (proc(10, name="leaker"), proc(11, name="flat"), proc(12, name="new"))
    frame = Frame(
        Snapshot(1.0, 1_700_000_000.0, 1.0, SYSTEM, procs), {(10, 10): leak, (11, 11): flat}
    )
    lines = frame_text(frame, list(procs)).splitlines()
    header = lines[6].split()
    rows = [line.split() for line in lines[7:10]]
    growth = header.index("GROWTH") + 1  # awk's field number
    assert growth == 12
    assert all(len(row) == len(header) for row in rows), rows
    assert rows[0][growth - 1].endswith("/s") and rows[0][-1] == "leaker"
    assert rows[1][growth - 1] == "-" and rows[1][-1] == "flat"
    assert rows[2][growth - 1] == "-" and rows[2][-1] == "new"


async def test_the_screen_still_leaves_growth_blank_when_there_is_none():
    app = make_app()
    async with app.run_test(size=(160, 24)) as pilot:
        await started(pilot, app)
        header = app.table.render_line(0).text
        row = app.table.render_line(1).text
        at = header.index("GROWTH")
        assert row[at : at + len("GROWTH")].strip() == ""


# -- 3. The summary: cropped, never wrapped; memory lines kept longest -------------------------


@pytest.mark.parametrize("size", [(75, 24), (60, 20), (80, 23), (130, 20), (160, 45)])
async def test_summary_lines_are_cropped_and_all_five_stay(size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await started(pilot, app)
        lines = screen_lines(app)
        for line, start in zip(lines, SUMMARY_STARTS, strict=False):
            assert line.startswith(start), lines[:6]
        assert header_words(lines[5])[:2] == ["PID", "USER"], lines[:6]
        full = summary_lines(SYSTEM, 0)
        assert lines[4].rstrip() == full[4][: size[0]].rstrip()


@pytest.mark.parametrize(
    ("height", "expected"),
    [
        (19, ("toptui - ", "%Cpu(s):", "MiB Mem :", "MiB Swap:")),
        (16, ("toptui - ", "MiB Mem :", "MiB Swap:")),
        (12, ("toptui - ", "MiB Mem :", "MiB Swap:")),
    ],
)
async def test_short_terminals_keep_the_memory_lines(height, expected):
    app = make_app()
    async with app.run_test(size=(80, height)) as pilot:
        await started(pilot, app)
        lines = screen_lines(app)
        for line, start in zip(lines, expected, strict=False):
            assert line.startswith(start), lines[:6]
        assert header_words(lines[len(expected)])[:2] == ["PID", "USER"], lines[:6]
        assert "avail Mem" in lines[len(expected) - 1]
        assert app.table.size.height >= 5  # the header and at least four rows


async def test_summary_follows_a_height_only_resize_and_a_paused_note_stays_visible():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await pilot.press("Z")  # paused: no new frame will repaint the summary
        await pilot.pause(0.1)
        assert "[PAUSED" in screen_lines(app)[0]
        await pilot.resize_terminal(80, 14)
        await pilot.pause(0.2)
        lines = screen_lines(app)
        assert [line[:9] for line in lines[:3]] == ["toptui - ", "MiB Mem :", "MiB Swap:"]
        assert "[PAUSED: Z resumes]" in lines[0]
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.2)
        lines = screen_lines(app)
        assert all(line.startswith(s) for line, s in zip(lines, SUMMARY_STARTS, strict=False))


def with_cpus(n: int) -> SystemStats:
    each = tuple(CpuStates(us=float(i), id=100.0 - i) for i in range(n))
    return dataclasses.replace(SYSTEM, per_cpu=each)


@pytest.mark.parametrize(
    ("cpus", "size", "rows"),
    [
        (2, (160, 45), ["%Cpu0  :", "%Cpu1  :"]),  # a line each, as top
        (2, (180, 45), ["%Cpu0  :  0.0 us,  0.0 sy,  0.0 ni,100.0 id,  0.0 wa,  0.0 hi,"
                        "  0.0 si,  0.0 st   %Cpu1  :  1.0 us"]),  # side by side when wide
        (16, (160, 45), ["%Cpu(s):"]),  # 16 rows would take the table's: the summary line stays
    ],
)  # fmt: skip
async def test_1_shows_a_line_per_cpu_as_top_does(cpus, size, rows):
    app = make_app(with_cpus(cpus))
    async with app.run_test(size=size) as pilot:
        await started(pilot, app)
        await pilot.press("1")
        await pilot.pause(0.2)
        lines = screen_lines(app)
        n = len(rows)
        shown = [line[: len(start)] for line, start in zip(lines[2:], rows, strict=False)]
        assert shown == rows, lines[:8]
        assert lines[2 + n].startswith("MiB Mem :") and header_words(lines[4 + n])[:1] == ["PID"]
        if cpus == 16:
            assert "[16 CPUs: a taller terminal shows each]" in lines[2]
        await pilot.press("1")
        await pilot.pause(0.2)
        lines = screen_lines(app)
        assert all(line.startswith(s) for line, s in zip(lines, SUMMARY_STARTS, strict=False))


@pytest.mark.skipif(shutil.which("top") is None, reason="top is not installed")
def test_per_cpu_lines_are_laid_out_as_tops():
    import subprocess

    top = subprocess.run(["top", "-1", "-b", "-n", "1", "-w", "512"], capture_output=True,
                         text=True, env={**os.environ, "HOME": "/nonexistent"}).stdout  # fmt: skip
    theirs = top.splitlines()[2].split("%Cpu1")[0].rstrip()
    ours = summary_lines(with_cpus(2), 0, per_cpu=True)[2]

    def shape(line: str) -> str:
        return re.sub(r"[ \d]{2}\d\.\d", "N", line)

    assert theirs.startswith("%Cpu0  :") and shape(ours) == shape(theirs), (ours, theirs)


def test_a_note_is_kept_whole_and_the_line_gives_way_at_a_comma():
    line = "toptui - 19:43:43 up  4:37,  1 user,  load average: 0.13, 0.71, 0.83"
    assert with_note(line, "", 40) == line
    assert with_note(line, "[tree]", 200) == f"{line}   [tree]"
    short = with_note(line, "[PAUSED: Z resumes]", 80)
    assert short.endswith("   [PAUSED: Z resumes]") and len(short) <= 80
    assert short.startswith("toptui - 19:43:43 up  4:37,  1 user,  load average: 0.13,")


# -- 4. Help scrolls, and names keys as they are printed ----------------------------------------


async def test_help_scrolls_with_keys_and_the_wheel_and_shows_every_key():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        body = app.screen.query_one("#help-body")
        await pilot.pause(0.1)
        assert body.max_scroll_y > 0  # longer than the terminal
        assert body.has_focus  # so that the keys below scroll it
        text = "\n".join(screen_lines(app))
        assert "Process table" in text and "Detail view" not in text
        await pilot.press("down")
        await wait_for(pilot, lambda: body.scroll_y == 1)
        await pilot.press("end")
        await wait_for(pilot, lambda: body.scroll_y == body.max_scroll_y)
        text = "\n".join(screen_lines(app))
        assert "Detail view" in text and "Back" in text
        await pilot.press("home")
        await wait_for(pilot, lambda: body.scroll_y == 0)
        await pilot.press("pagedown")
        await wait_for(pilot, lambda: body.scroll_y > 5)
        await pilot.press("home")
        await wait_for(pilot, lambda: body.scroll_y == 0)
        await pilot._post_mouse_events([events.MouseScrollDown], "#help-body", offset=(5, 5))
        await wait_for(pilot, lambda: body.scroll_y > 0)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_help_fits_at_160x45_and_names_keys_as_printed():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await started(pilot, app)
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        body = app.screen.query_one("#help-body")
        assert body.max_scroll_y == 0  # two lists side by side: every key at once, no scrolling
        rows = [" ".join(line.split("│")[1].split()) for line in screen_lines(app) if "│" in line]
        assert any(row.startswith("Process table Screen") for row in rows), rows
        for shown in ("+ Expand", "- Collapse", "/ Search", "\\ F4 Filter", ". Step (replay)",
                      "Space Tag", "n F3 Next match", "Esc Back", "q Quit",
                      "Detail view"):  # fmt: skip
            assert any(shown in row for row in rows), (shown, rows)
        for internal in ("plus", "minus", "slash", "backslash", "full_stop", "space", "f3", "f4"):
            assert not any(internal in row.split() for row in rows), internal


def test_key_text_uses_printed_names():
    from textual.binding import Binding

    cases = {
        "plus": "+", "minus": "-", "slash": "/", "backslash,f4": "\\ F4", "full_stop": ".",
        "space": "Space", "n,f3": "n F3", "less_than_sign": "<", "pageup": "PgUp",
        "M,shift+m": "M", "ctrl+z": "Ctrl+Z", "escape,q,question_mark,h": "Esc q ? h",
    }  # fmt: skip
    for key, shown in cases.items():
        assert key_text(Binding(key, "x")) == shown


# -- 5. Prompts show their own keys in the footer -----------------------------------------------


def footer_keys(app: TopApp) -> list[tuple[str, str]]:
    return [(k.key_display, k.description) for k in app.screen.query(FooterKey)]


@pytest.mark.parametrize(
    ("key", "accept"),
    [("slash", "Find"), ("backslash", "Apply filter"), ("d", "Set delay"), ("r", "Renice")],
)
async def test_an_open_prompt_shows_enter_and_esc_in_the_footer(key, accept):
    app = make_app()
    async with app.run_test(size=(100, 24)) as pilot:
        await started(pilot, app)
        await wait_for(pilot, lambda: ("/", "Search") in footer_keys(app))
        await pilot.press(key)
        assert app.prompt.display
        await wait_for(pilot, lambda: footer_keys(app) == [("Enter", accept), ("Esc", "Cancel")])
        await pilot.press("escape")
        assert not app.prompt.display
        await wait_for(pilot, lambda: ("/", "Search") in footer_keys(app))
