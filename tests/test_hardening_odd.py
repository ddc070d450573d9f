"""Odd processes: zombies, kernel threads, stopped ones, names a process chose to break parsers
(spaces, parentheses, newlines, escape sequences, invalid UTF-8) and a 100 KB command line.

Each must show as itself, on one line, in batch text, in JSON and on the screen; a control
character a process put in its name must never reach the terminal.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest
from children import WAIT_S
from conftest import TOPTUI, OddProcesses

from toptui.views.app import TopApp

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

# What the name looks like once made printable: control characters as '?', bad bytes as U+FFFD.
SHOWN = {
    "spaces_parens": "a b) (c",
    "newline": "nl?name",
    "escape": "esc?[31mred",
    "tab": "tab?x",
    "invalid_utf8": "bad\ufffd\ufffdutf",
    "close_paren_end": "x) S 1 2 3 (",
}
CONTROL = {chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))}


def kernel_thread() -> int | None:
    """pid 2 (kthreadd) when this pid namespace shows kernel threads."""
    try:
        with open("/proc/2/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    return 2 if data[data.rfind(b")") + 2 :].split()[1] == b"0" else None


def batch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*TOPTUI, "-b", "-n", "2", "-d", "0.2", *args], capture_output=True,
                          timeout=60, env={**os.environ, **(env or {})})  # fmt: skip


def pid_arg(odd: OddProcesses) -> str:
    extra = [kernel_thread()] if kernel_thread() else []
    return ",".join(str(p) for p in [*odd.pids, *extra])


def test_odd_processes_in_json(odd_processes: OddProcesses):
    r = batch("--format", "json", "-p", pid_arg(odd_processes))
    assert r.returncode == 0 and r.stderr == b"", r.stderr
    lines = r.stdout.decode("utf-8").splitlines()
    assert len(lines) == 2
    rows = {p["pid"]: p for p in json.loads(lines[-1])["processes"]}
    assert set(rows) >= set(odd_processes.pids)
    for label, (pid, comm) in odd_processes.comm.items():
        # As the kernel has it (escaped by JSON, bad bytes as U+FFFD), or made printable as shown.
        assert rows[pid]["name"] in (comm.decode("utf-8", "replace"), SHOWN[label]), label
        assert rows[pid]["state"] == "S", label
    long = rows[odd_processes.long_cmdline]
    assert len(long["command"]) > 100_000 and long["command"].endswith("x" * 1000)
    odd = rows[odd_processes.odd_cmdline]["command"]
    assert "arg?with?newlines" in odd and odd.isprintable()
    assert "\\xff\\xfe" in odd  # invalid UTF-8 in argv kept visible as escapes
    zombie = rows[odd_processes.zombie]
    assert zombie["state"] == "Z" and zombie["res"] == 0 and zombie["command"] == "[true]"
    stopped = rows[odd_processes.stopped]
    assert stopped["state"] == "T" and stopped["res"] > 0
    if kernel_thread():
        k = rows[2]
        assert k["res"] == 0 and k["virt"] == 0 and k["command"] == f"[{k['name']}]"


def test_odd_processes_in_batch_text(odd_processes: OddProcesses):
    r = batch("-p", pid_arg(odd_processes), "-o", "PID")
    assert r.returncode == 0 and r.stderr == b"", r.stderr
    frames = r.stdout.decode("utf-8").split("toptui - ")[1:]
    assert len(frames) == 2
    lines = frames[-1].splitlines()
    header = next(i for i, line in enumerate(lines) if line.lstrip().startswith("PID"))
    rows = [line for line in lines[header + 1 :] if line]
    expected = len(odd_processes.pids) + (1 if kernel_thread() else 0)
    assert len(rows) == expected, rows  # one line per process, however it is named
    by_pid = {int(line.split()[0]): line for line in rows}
    for line in rows:
        assert not CONTROL & set(line), repr(line)
    for label, (pid, _) in odd_processes.comm.items():
        assert by_pid[pid].endswith(" " + SHOWN[label]), (label, by_pid[pid])
    assert by_pid[odd_processes.zombie].split()[7] == "Z"
    assert by_pid[odd_processes.stopped].split()[7] == "T"


def test_output_that_is_not_utf8_still_parses(odd_processes: OddProcesses):
    """A non-UTF-8 terminal or pipe: the text is escaped, the JSON is ASCII (and still JSON)."""
    env = {"PYTHONIOENCODING": "ascii"}
    pid = str(odd_processes.comm["invalid_utf8"][0])
    r = batch("--format", "json", "-p", pid, env=env)
    assert r.returncode == 0 and r.stderr == b"", r.stderr
    (row,) = json.loads(r.stdout.decode("ascii").splitlines()[-1])["processes"]
    assert row["name"] == "bad\ufffd\ufffdutf"
    r = batch("-p", pid, env=env)
    assert r.returncode == 0 and r.stderr == b"", r.stderr
    assert "bad\\ufffd\\ufffdutf" in r.stdout.decode("ascii")


def row_texts(app: TopApp) -> dict[int, str]:
    """What the table shows now, per pid, as plain text (scrolled to the top)."""
    out = {}
    for i, p in enumerate(app.table.rows):
        out[p.pid] = app.table.render_line(i + 1 - int(app.table.scroll_offset.y)).text
    return out


async def wait_for(pilot, predicate, timeout: float = WAIT_S) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        assert loop.time() < end, "condition not reached in time"
        await pilot.pause(0.05)


async def test_odd_processes_on_the_screen(odd_processes: OddProcesses):
    pids = [int(p) for p in pid_arg(odd_processes).split(",")]
    app = TopApp(interval_s=0.2, pids=pids, sort="PID", descending=False)
    async with app.run_test(size=(300, 45)) as pilot:
        await wait_for(pilot, lambda: app.frames_seen >= 2 and len(app.table.rows) == len(pids))
        await pilot.pause(0.1)
        rows = row_texts(app)
        for pid in (odd_processes.comm["spaces_parens"][0], odd_processes.comm["invalid_utf8"][0],
                    odd_processes.comm["close_paren_end"][0]):  # fmt: skip
            label = next(k for k, v in odd_processes.comm.items() if v[0] == pid)
            assert rows[pid].rstrip().endswith(" " + SHOWN[label]), rows[pid]
        assert rows[odd_processes.zombie].split()[7] == "Z"
        assert rows[odd_processes.stopped].split()[7] == "T"
        if kernel_thread():
            assert rows[2].split()[5] == "0"  # RES
        # The full command line: a 100 KB one is cut at the screen's edge, on its one line.
        await pilot.press("c")
        await pilot.pause(0.3)
        rows = row_texts(app)
        assert len(rows[odd_processes.long_cmdline]) == 300
        assert "python" in rows[odd_processes.long_cmdline]
        assert "arg?with?newlines" in rows[odd_processes.odd_cmdline]
        # Detail view of the zombie (no memory at all) and of the long command line.
        for pid in (odd_processes.zombie, odd_processes.long_cmdline):
            app.table.cursor_index = next(i for i, p in enumerate(app.table.rows) if p.pid == pid)
            await pilot.press("enter")
            await pilot.pause(0.5)
            await pilot.press("escape")
        await pilot.press("q")


async def test_control_characters_in_names_never_reach_the_screen(odd_processes: OddProcesses):
    pids = [odd_processes.comm[k][0] for k in ("newline", "escape", "tab")]
    app = TopApp(interval_s=0.2, pids=pids, sort="PID", descending=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.frames_seen >= 2 and len(app.table.rows) == 3)
        await pilot.pause(0.1)
        rows = row_texts(app)
        for label in ("newline", "escape", "tab"):
            text = rows[odd_processes.comm[label][0]]
            assert not CONTROL & set(text), repr(text)
            assert text.rstrip().endswith(" " + SHOWN[label]), repr(text)
