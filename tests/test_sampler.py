"""What the sampler reports about real processes equals the kernel's figures and top's."""

import os
import shutil
import subprocess
import sys
import time

import pytest
from children import MemoryChild, find_proc, statm_bytes

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
        assert p.key[1] == int(data[data.rfind(b")") + 2 :].split()[19])
        assert abs(p.create_time - time.time()) < 60


def test_cpu_percent_of_a_busy_child():
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        sampler = Sampler(pids=[busy.pid])
        sampler.sample()
        time.sleep(1.0)
        p = find_proc(sampler.sample(), busy.pid)
        assert 50.0 <= p.cpu_percent <= 105.0
        assert p.state == "R"
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
    deadline = time.time() + 10
    while time.time() < deadline:
        with open(f"/proc/{child.pid}/stat", "rb") as f:
            if b") Z " in f.read():
                break
        time.sleep(0.05)
    try:
        snap = Sampler(pids=[child.pid]).sample()
        z = find_proc(snap, child.pid)
        assert z.state == "Z"
        assert z.res == 0
        assert snap.system.tasks.zombie == 1
    finally:
        child.wait()
