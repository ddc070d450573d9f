"""Pure pieces behind the interactive features: the tree, safe signalling, saved settings."""

import json
import os
import signal
import subprocess
import sys

import pytest
from children import WAIT_S

from toptui.analysis.tree import build_tree
from toptui.engine import control
from toptui.model import ProcSample
from toptui.views import settings

MIB = 1024 * 1024


def proc(pid: int, ppid: int, res_mib: int) -> ProcSample:
    return ProcSample(
        key=(pid, pid * 10), pid=pid, ppid=ppid, user="u", name=f"p{pid}", command=f"p{pid}",
        state="S", priority=20, nice=0, threads=1, virt=0, res=res_mib * MIB, shr=0,
        cpu_percent=0.0, mem_percent=0.0, cpu_time=0.0, create_time=0.0,
    )  # fmt: skip


def by_pid(ps):
    return sorted(ps, key=lambda p: p.pid)


def test_tree_orders_children_under_parents_with_subtree_totals():
    procs = [proc(1, 0, 1), proc(10, 1, 5), proc(11, 10, 100), proc(12, 10, 100), proc(20, 1, 2)]
    rows = build_tree(procs, by_pid)
    assert [r.proc.pid for r in rows] == [1, 10, 11, 12, 20]
    assert [r.depth for r in rows] == [0, 1, 2, 2, 1]
    assert rows[0].subtree_res == 208 * MIB
    assert rows[1].subtree_res == 205 * MIB
    assert rows[2].prefix.endswith("├─ ") and rows[3].prefix.endswith("└─ ")
    assert rows[4].prefix == "└─ "


def test_collapsed_node_hides_descendants_and_orphans_are_roots():
    procs = [proc(1, 0, 1), proc(10, 1, 5), proc(11, 10, 1), proc(50, 49, 3)]
    rows = build_tree(procs, by_pid, collapsed={(10, 100)})
    assert [r.proc.pid for r in rows] == [1, 10, 50]
    assert rows[1].collapsed and rows[1].has_children
    assert rows[1].subtree_res == 6 * MIB


def test_deep_chain_does_not_recurse_out():
    procs = [proc(i, i - 1, 1) for i in range(1, 3000)]
    rows = build_tree(procs, by_pid)
    assert len(rows) == 2999


def test_signal_only_reaches_the_selected_process():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        key = control.current_identity(child.pid)
        assert key is not None
        stale = (child.pid, key[1] + 1)  # same pid, another start time: a reused pid
        out = control.send_signal(stale, signal.SIGTERM)
        assert not out.ok and "another process" in out.message
        assert child.poll() is None
        out = control.send_signal(key, signal.SIGTERM)
        assert out.ok, out.message
        assert child.wait(timeout=WAIT_S) == -signal.SIGTERM
        out = control.send_signal(key, signal.SIGTERM)
        assert not out.ok and "exited" in out.message
    finally:
        child.kill()
        child.wait()


def test_renice_checks_range_and_identity():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        key = control.current_identity(child.pid)
        assert not control.renice(key, 40).ok
        out = control.renice(key, 5)
        assert out.ok, out.message
        assert os.getpriority(os.PRIO_PROCESS, child.pid) == 5
    finally:
        child.kill()
        child.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_permission_denied_is_a_message_not_an_error():
    target = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        key = control.current_identity(target.pid)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child becomes nobody and tries to signal root's process
            try:
                os.setgid(65534)
                os.setuid(65534)
                os.write(write, control.send_signal(key, signal.SIGTERM).message.encode())
            finally:
                os._exit(0)
        os.close(write)
        os.waitpid(pid, 0)
        message = os.read(read, 4096).decode()
        os.close(read)
        assert "permission denied" in message
        assert target.poll() is None
    finally:
        target.kill()
        target.wait()


def test_settings_round_trip_and_damaged_file(tmp_path):
    path = tmp_path / "toptui" / "config.json"
    s, warning = settings.load(path)
    assert warning is None and s == settings.Settings()
    s.sort, s.descending, s.unit, s.extra_columns = "RES", False, 1, ["PPID"]
    s.per_cpu = s.hide_idle = True
    settings.save(s, path)
    loaded, warning = settings.load(path)
    assert warning is None and loaded == s
    path.write_text("{not json")
    loaded, warning = settings.load(path)
    assert loaded == settings.Settings() and "damaged" in warning
    path.write_text(json.dumps({"sort": "BOGUS", "unit": 2}))
    loaded, warning = settings.load(path)
    assert loaded.sort == "%CPU" and loaded.unit == 2 and "sort" in warning


def test_extras_of_a_real_child_match_its_smaps_rollup():
    from children import MemoryChild

    from toptui.sampling.sampler import Sampler

    with MemoryChild(start_mib=16) as child:
        sampler = Sampler(pids=[child.pid])
        first = sampler.sample()
        (p,) = first.procs
        assert p.extras is None  # nothing asked for: nothing costly read
        sampler.extras_for = frozenset({p.key})
        sampler.sample()
        (p,) = sampler.sample().procs
        assert p.extras is not None
        with open(f"/proc/{child.pid}/smaps_rollup") as f:
            fields = {ln.split(":")[0]: int(ln.split()[1]) for ln in f.readlines()[1:]}
        assert p.extras.uss >= 16 * MIB
        assert abs(p.extras.pss - fields["Pss"] * 1024) < 2 * MIB
        assert p.extras.swap == fields["Swap"] * 1024
        assert p.extras.read_rate is not None and p.extras.read_rate >= 0
