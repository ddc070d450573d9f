"""The sampler's shortcuts never change a figure: what it reuses is what it would have read."""

import os
import pwd
import signal
import subprocess
import sys

import pytest
from children import MemoryChild, cpu_ticks, find_proc, proc_state, statm_bytes, wait_until

from toptui.sampling import procfs
from toptui.sampling.sampler import Sampler

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_an_idle_process_keeps_its_row_and_its_figures():
    with MemoryChild(start_mib=8) as child:
        sampler = Sampler(pids=[child.pid])
        wait_until(lambda: proc_state(child.pid) == "S", "the child is asleep in its read")
        first = find_proc(sampler.sample(), child.pid)
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
        swept = cpu_ticks(busy.pid)
        wait_until(lambda: cpu_ticks(busy.pid) > swept, "the busy child has run since the sweep")
        assert find_proc(sampler.sample(), busy.pid).cpu_percent > 0
        os.kill(busy.pid, signal.SIGSTOP)
        wait_until(lambda: proc_state(busy.pid) == "T", "the child has stopped")
        sampler.sample()  # the interval in which it stopped
        stopped = find_proc(sampler.sample(), busy.pid)  # stat unchanged since: CPU 0
        assert stopped.state == "T"
        assert stopped.cpu_percent == 0.0
        assert find_proc(sampler.sample(), busy.pid) is stopped  # and from then on reused
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


def _footprints() -> dict[str, bytes]:
    """Per process (by pid directory name): its stat and statm, and the CPU time in nanoseconds
    of each of its threads (schedstat), as they read now. A process whose footprint is the same
    at two moments did not run in between, so nothing of it changed meanwhile either (its stat's
    tick counts are too coarse to tell that: a wake-up shorter than a tick leaves them alone)."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            parts = []
            for path in (f"/proc/{name}/stat", f"/proc/{name}/statm"):
                with open(path, "rb") as f:
                    parts.append(f.read())
            for tid in sorted(os.listdir(f"/proc/{name}/task")):
                with open(f"/proc/{name}/task/{tid}/schedstat", "rb") as f:
                    parts.append(tid.encode() + b" " + f.read())
        except OSError:
            continue  # gone meanwhile (or no schedstat in this kernel: then nothing is compared)
        out[name] = b"|".join(parts)
    return out


def test_many_sweeps_agree_with_a_fresh_sampler():
    # The cached rows of a long-lived sampler equal what a brand-new one reads.
    with MemoryChild(start_mib=2) as child:
        old = Sampler()
        for _ in range(3):
            old.sample()
        child.grow(3)
        wait_until(lambda: proc_state(child.pid) == "S", "the child is asleep in its read")
        before = _footprints()
        cached = {p.key: p for p in old.sample().procs}
        fresh = {p.key: p for p in Sampler().sample().procs}
        after = _footprints()
        mine = child.pid
        key = next(k for k in fresh if k[0] == mine)
        for attr in ("virt", "res", "shr", "nice", "threads", "user", "command", "name"):
            assert getattr(cached[key], attr) == getattr(fresh[key], attr), attr
        # Every process that did not run from before the long-lived sampler's sweep to after the
        # fresh one's (most of the machine, the child too): whatever the cache reused, its
        # figures are the files'. Processes that ran meanwhile may differ, and are not compared.
        still = {n for n, raw in before.items() if after.get(n) == raw}
        if os.path.exists("/proc/self/schedstat"):
            assert str(mine) in still
        both = [k for k in cached.keys() & fresh.keys() if str(k[0]) in still]
        figures = ("virt", "res", "shr", "mem_percent", "cpu_time", "state", "name", "ppid",
                   "priority", "nice", "threads")  # fmt: skip
        for k in both:
            assert [getattr(cached[k], a) for a in figures] == [
                getattr(fresh[k], a) for a in figures
            ], k


def _stat_fds() -> dict[str, str]:
    """This process's open descriptors on /proc/PID/stat files, by descriptor."""
    out = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # the listing's own descriptor, closed meanwhile
        if target.startswith("/proc/") and target.endswith("/stat"):
            out[fd] = target
    return out


def _held_stat_files(before: dict[str, str]) -> list[str]:
    """The /proc/PID/stat files opened since ``before``: another test's sampler in this process,
    not yet collected, may still hold some."""
    return sorted(t for fd, t in _stat_fds().items() if before.get(fd) != t)


def test_held_stat_files_follow_the_processes_and_are_let_go():
    # Each process's stat stays open between sweeps (pread): one per process seen, closed once
    # the process is gone from a sweep, and all of them by close().
    me = os.getpid()
    before = _stat_fds()
    with MemoryChild() as child:
        sampler = Sampler(pids=[child.pid, me])
        sampler.sample()
        assert _held_stat_files(before) == sorted([f"/proc/{child.pid}/stat", f"/proc/{me}/stat"])
        assert find_proc(sampler.sample(), child.pid) is not None  # read through the held file
    sampler.sample()  # the child has exited and been reaped
    assert _held_stat_files(before) == [f"/proc/{me}/stat"]
    sampler.close()
    assert _held_stat_files(before) == []


def test_a_reaped_process_is_looked_up_afresh():
    # A held stat file stays the old process's: once that one is reaped, reading it fails, the
    # file is let go and the pid's directory is looked up again (a new process there is read).
    with MemoryChild() as child:
        sampler = Sampler(pids=[child.pid])
        assert find_proc(sampler.sample(), child.pid) is not None
        assert str(child.pid) in sampler._fds
    assert all(p.pid != child.pid for p in sampler.sample().procs)
    assert str(child.pid) not in sampler._fds
    sampler.close()


def test_a_new_pid_moves_the_mark_the_kept_listing_rests_on():
    # The listing of /proc is kept while the last pid handed out is unchanged: any new process
    # must change it.
    before = procfs.last_pid_mark()
    assert before is not None
    child = subprocess.Popen(["sleep", "60"])
    try:
        assert procfs.last_pid_mark() != before
    finally:
        child.kill()
        child.wait()


def test_the_whole_machine_sweep_sees_new_processes_and_forgets_gone_ones():
    # Sweeps of every process (no -p), kept listing or not: a process started between two
    # sweeps is in the second, one reaped is in none after, nor in the listing kept.
    sampler = Sampler()
    sampler.sample()
    for _ in range(3):
        with MemoryChild() as child:
            assert find_proc(sampler.sample(), child.pid) is not None
            assert find_proc(sampler.sample(), child.pid) is not None
        assert all(p.pid != child.pid for p in sampler.sample().procs)
        assert str(child.pid) not in sampler._pid_names()
    sampler.close()


def test_a_kept_listing_holds_what_a_fresh_one_would():
    # Whenever PidNames hands back its kept listing, the live processes in it are those of a
    # fresh listing taken just before (minus any that exit in between).
    names = procfs.PidNames()
    names()
    for _ in range(20):
        fresh = set(procfs.list_pid_names())
        got = names()
        new_since = set(procfs.list_pid_names()) - fresh
        assert fresh - set(got) <= {n for n in fresh if not os.path.exists(f"/proc/{n}")}
        assert set(got) - fresh - new_since <= {n for n in got if not os.path.exists(f"/proc/{n}")}
