"""The sampler's shortcuts never change a figure: what it reuses is what it would have read."""

import os
import pwd
import signal
import subprocess
import sys
import time

import pytest
from children import MemoryChild, find_proc, statm_bytes

from toptui.sampling import procfs
from toptui.sampling.sampler import Sampler

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_an_idle_process_keeps_its_row_and_its_figures():
    with MemoryChild(start_mib=8) as child:
        sampler = Sampler(pids=[child.pid])
        time.sleep(0.2)  # let it settle into its read of stdin
        first = find_proc(sampler.sample(), child.pid)
        time.sleep(0.1)
        again = find_proc(sampler.sample(), child.pid)
        assert again is first  # nothing moved: last sweep's (frozen) row, not a new one
        assert (again.virt, again.res, again.shr) == statm_bytes(child.pid)


def test_a_process_that_moved_is_read_afresh():
    with MemoryChild(start_mib=4) as child:
        sampler = Sampler(pids=[child.pid])
        before = find_proc(sampler.sample(), child.pid)
        child.grow(16)
        after = find_proc(sampler.sample(), child.pid)
        assert after is not before
        assert (after.virt, after.res, after.shr) == statm_bytes(child.pid)
        assert after.res >= before.res + 16 * 1024 * 1024


def test_cpu_drops_to_zero_once_a_process_stops_running():
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        sampler = Sampler(pids=[busy.pid])
        sampler.sample()
        time.sleep(0.5)
        assert find_proc(sampler.sample(), busy.pid).cpu_percent > 20
        os.kill(busy.pid, signal.SIGSTOP)
        time.sleep(0.2)
        sampler.sample()  # the interval in which it stopped
        time.sleep(0.2)
        stopped = find_proc(sampler.sample(), busy.pid)  # stat unchanged since: reused, CPU 0
        assert stopped.state == "T"
        assert stopped.cpu_percent == 0.0
        assert find_proc(sampler.sample(), busy.pid) is stopped
    finally:
        busy.kill()
        busy.wait()


def test_user_is_the_owner_of_the_proc_directory_as_in_top():
    with MemoryChild() as child:
        p = find_proc(Sampler(pids=[child.pid]).sample(), child.pid)
        assert p.user == pwd.getpwuid(os.stat(f"/proc/{child.pid}").st_uid).pw_name


def test_kernel_threads_show_their_name_in_brackets():
    kthreads = [p for p in Sampler().sample().procs if p.ppid == 2 or p.pid == 2]
    if not kthreads:
        pytest.skip("no kernel threads visible (container)")
    for p in kthreads:
        with open(f"/proc/{p.pid}/stat", "rb") as f:
            flags = int(procfs.stat_fields(f.read())[1][procfs.FLAGS])
        assert flags & procfs.PF_KTHREAD
        assert p.command == f"[{p.name}]"


def test_only_the_chosen_pids_are_read():
    with MemoryChild() as a, MemoryChild() as b:
        snap = Sampler(pids=[a.pid, 999_999_999]).sample()
        assert [p.pid for p in snap.procs] == [a.pid]
        assert b.pid not in {p.pid for p in snap.procs}


def test_a_long_command_line_is_read_whole():
    arg = "x" * 10_000
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()", arg],
                             stdin=subprocess.PIPE)  # fmt: skip
    try:
        p = find_proc(Sampler(pids=[child.pid]).sample(), child.pid)
        assert p.command.endswith(" " + arg)
    finally:
        child.kill()
        child.wait()


def test_many_sweeps_agree_with_a_fresh_sampler():
    # The cached rows of a long-lived sampler equal what a brand-new one reads.
    with MemoryChild(start_mib=2) as child:
        old = Sampler()
        for _ in range(3):
            old.sample()
        child.grow(3)
        time.sleep(0.2)  # settled: nothing of it moves between the two sweeps below
        cached = {p.key: p for p in old.sample().procs}
        fresh = {p.key: p for p in Sampler().sample().procs}
        mine = child.pid
        key = next(k for k in fresh if k[0] == mine)
        for attr in ("virt", "res", "shr", "nice", "threads", "user", "command", "name"):
            assert getattr(cached[key], attr) == getattr(fresh[key], attr), attr
        quiet = [k for k in cached.keys() & fresh.keys() if cached[k].cpu_percent == 0.0]
        same = [
            k for k in quiet if (cached[k].res, cached[k].virt) == (fresh[k].res, fresh[k].virt)
        ]
        assert len(same) >= 0.9 * len(quiet)  # the rest moved between the two sweeps
