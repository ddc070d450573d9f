"""What the sampler reports about real processes equals the kernel's figures and top's."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from children import (
    CLK_TCK,
    MemoryChild,
    cpu_ticks,
    find_proc,
    proc_state,
    statm_bytes,
    wait_until,
)

from toptui.sampling.sampler import Sampler

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_quiet_process_memory_equals_statm():
    with MemoryChild(start_mib=20) as child:
        snap = Sampler(pids=[child.pid]).sample()
        p = find_proc(snap, child.pid)
        assert (p.virt, p.res, p.shr) == statm_bytes(child.pid)
        assert p.res >= 20 * 1024 * 1024
        total = snap.system.memory.total
        assert p.mem_percent == pytest.approx(100 * p.res / total)


@pytest.mark.skipif(shutil.which("top") is None, reason="top is not installed")
def test_memory_columns_equal_tops():
    with MemoryChild(start_mib=30) as child:
        out = subprocess.run(
            ["top", "-b", "-n", "1", "-p", str(child.pid)],
            capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}, check=True,
        ).stdout  # fmt: skip
        p = find_proc(Sampler(pids=[child.pid]).sample(), child.pid)
        row = next(line.split() for line in out.splitlines()
                   if line.split()[:1] == [str(child.pid)])  # fmt: skip
        # PID USER PR NI VIRT RES SHR ...: top prints KiB.
        assert [int(x) for x in row[4:7]] == [p.virt // 1024, p.res // 1024, p.shr // 1024]
        assert row[2] == p.pr_text and int(row[3]) == p.nice


def test_identity_is_pid_and_start_time():
    with MemoryChild() as child:
        snap = Sampler(pids=[child.pid]).sample()
        p = find_proc(snap, child.pid)
        assert p.key[0] == child.pid
        with open(f"/proc/{child.pid}/stat", "rb") as f:
            data = f.read()
        starttime = int(data[data.rfind(b")") + 2 :].split()[19])  # ticks after boot
        assert p.key[1] == starttime
        with open("/proc/stat") as f:
            btime = next(int(line.split()[1]) for line in f if line.startswith("btime "))
        assert p.create_time == pytest.approx(btime + starttime / CLK_TCK, abs=0.01)  # as ps does


def test_cpu_figures_of_a_busy_child_are_its_own_counters():
    """TIME+ is the child's utime + stime, %CPU their rise over the sampler's own interval.

    Checked against the kernel's counters read just before and after each sweep, not against a
    share of a second: a loaded machine gives the child less CPU, which changes the figures but
    not whether they are right.
    """
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        stamps: list[float] = []

        def clock() -> float:  # the sampler's clock, noted: the interval it divides by
            stamps.append(time.monotonic())
            return stamps[-1]

        sampler = Sampler(pids=[busy.pid], clock=clock)
        lo = cpu_ticks(busy.pid)
        first = find_proc(sampler.sample(), busy.pid)
        hi = cpu_ticks(busy.pid)
        ticks1 = round(first.cpu_time * CLK_TCK)
        assert lo <= ticks1 <= hi
        assert first.cpu_percent == 0.0  # no interval yet
        wait_until(lambda: cpu_ticks(busy.pid) > hi, "the busy child has run since the sweep")
        lo = cpu_ticks(busy.pid)
        p = find_proc(sampler.sample(), busy.pid)
        hi = cpu_ticks(busy.pid)
        ticks2 = round(p.cpu_time * CLK_TCK)
        assert lo <= ticks2 <= hi
        interval = stamps[1] - stamps[0]
        assert p.cpu_percent == pytest.approx((ticks2 - ticks1) / CLK_TCK / interval * 100.0)
        assert p.cpu_percent > 0.0  # ticks2 >= lo > ticks1
        assert p.state == "R"  # running or waiting for a CPU: a busy loop never sleeps
    finally:
        busy.kill()
        busy.wait()


def test_vanishing_processes_never_escape():
    # Start and reap many short-lived children while sampling everything.
    sampler = Sampler()
    for _ in range(5):
        kids = [subprocess.Popen(["true"]) for _ in range(20)]
        snap = sampler.sample()
        for k in kids:
            k.wait()
        assert all(p.pid > 0 and p.res >= 0 and p.name for p in snap.procs)
        assert snap.system.tasks.total == len(snap.procs)
        assert len({p.key for p in snap.procs}) == len(snap.procs)


def test_zombie_is_a_row_not_an_error():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        wait_until(lambda: proc_state(child.pid) == "Z", "the child has exited, unreaped")
        snap = Sampler(pids=[child.pid]).sample()
        z = find_proc(snap, child.pid)
        assert z.state == "Z"
        assert z.res == 0
        assert snap.system.tasks.zombie == 1
    finally:
        child.wait()


def test_an_exec_names_the_new_program(tmp_path):
    """exec keeps the pid and start time, so the identity stays; COMMAND must not."""
    fifo = tmp_path / "go"
    os.mkfifo(fifo)
    script = tmp_path / "run.sh"
    script.write_text(f"read line < {fifo}\nexec sleep 300\n")
    child = subprocess.Popen(["bash", str(script)])
    try:
        sampler = Sampler(pids=[child.pid])
        deadline = time.monotonic() + 60
        comm = Path(f"/proc/{child.pid}/comm")
        while comm.read_text().strip() != "bash":  # forked, not yet bash
            assert time.monotonic() < deadline, "bash did not start"
            time.sleep(0.05)
        before = find_proc(sampler.sample(), child.pid)
        assert before.shown_name == "bash run.sh"
        with open(fifo, "w") as w:
            w.write("go\n")
        while comm.read_text().strip() != "sleep":
            assert time.monotonic() < deadline, "the script did not exec"
            time.sleep(0.05)
        after = find_proc(sampler.sample(), child.pid)
        assert after.key == before.key
        assert (after.name, after.shown_name, after.command) == ("sleep", "sleep", "sleep 300")
    finally:
        child.kill()
        child.wait()
