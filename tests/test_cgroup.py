"""The cgroup memory limit a process runs under, and the headroom its time to OOM is reckoned
against: the reader on trees laid out as the kernel's cgroup file systems (v2 and v1), on a real
cgroup of this machine where the test may make one, and the pure chooser."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from children import MemoryChild

from toptui.analysis.headroom import CGROUP_LIMIT, MEM_AVAILABLE, choose_headroom
from toptui.sampling.cgroup import CgroupReader, memory_mounts

MIB = 1024 * 1024
GIB = 1024 * MIB
# cgroup v1's "no limit" on a 4 KiB-page machine, as memory.limit_in_bytes shows it.
V1_NO_LIMIT = "9223372036854771712"


def _files(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _mountinfo(*mounts: tuple[str, str, str, str]) -> str:
    """mountinfo lines for (root, mount point, fstype, super options)."""
    return "".join(f"{30 + i} 20 0:{40 + i} {root} {point} rw,nosuid - {fs} cgroup rw,{opts}\n"
                   for i, (root, point, fs, opts) in enumerate(mounts))  # fmt: skip


def test_v2_the_tightest_limit_on_the_way_up_counts_and_inactive_cache_is_room(tmp_path):
    cg = tmp_path / "cg"
    _files(tmp_path, {"proc/4242/cgroup": "0::/system.slice/app.service\n"})
    _files(cg, {
        "memory.stat": "anon 1\n",  # the root: no memory.max
        "system.slice/memory.max": "max\n",
        "system.slice/memory.current": str(3 * GIB),
        "system.slice/app.service/memory.max": str(512 * MIB),
        "system.slice/app.service/memory.current": str(300 * MIB),
        "system.slice/app.service/memory.stat": f"anon 1\ninactive_file {100 * MIB}\nfile 9\n",
    })  # fmt: skip
    reader = CgroupReader(str(tmp_path / "proc"), _mountinfo(("/", str(cg), "cgroup2", "")))
    found = reader.memory(4242)
    assert found is not None
    assert (found.limit_bytes, found.usage_bytes, found.reclaimable_bytes) == (
        512 * MIB, 300 * MIB, 100 * MIB)  # fmt: skip
    assert found.room_bytes == 312 * MIB  # 512 − (300 − 100)
    assert (found.path, found.version) == ("/system.slice/app.service", 2)
    # The slice gets a limit with less room than the service's own: the slice's counts.
    _files(cg, {"system.slice/memory.max": str(3 * GIB + 64 * MIB)})
    found = reader.memory(4242)
    assert found is not None and found.path == "/system.slice"
    assert found.room_bytes == 64 * MIB


def test_v1_memory_controller_with_its_no_limit_number(tmp_path):
    mem = tmp_path / "memory"
    _files(tmp_path, {
        "proc/7/cgroup": "9:name=systemd:/\n4:memory:/docker/abc\n0::/\n",
        "proc/8/cgroup": "4:memory:/\n0::/\n",
    })  # fmt: skip
    _files(mem, {
        "memory.limit_in_bytes": V1_NO_LIMIT,
        "memory.usage_in_bytes": str(5 * GIB),
        "docker/memory.limit_in_bytes": V1_NO_LIMIT,
        "docker/memory.usage_in_bytes": str(2 * GIB),
        "docker/abc/memory.limit_in_bytes": str(GIB),
        "docker/abc/memory.usage_in_bytes": str(900 * MIB),
        "docker/abc/memory.stat": f"inactive_file 1\ntotal_inactive_file {50 * MIB}\n",
    })  # fmt: skip
    cpu = str(tmp_path / "cpu")
    mounts = _mountinfo(("/", str(mem), "cgroup", "memory"), ("/", cpu, "cgroup", "cpu,cpuacct"))
    reader = CgroupReader(str(tmp_path / "proc"), mounts)
    assert [m.version for m in reader.mounts] == [1]  # the cpu controller's mount is not read
    found = reader.memory(7)
    assert found is not None and (found.path, found.version) == ("/docker/abc", 1)
    assert found.room_bytes == GIB - (900 - 50) * MIB
    assert reader.memory(8) is None  # the root's "limit" is no limit
    assert reader.memory(9) is None  # no such process: None, not an error


def test_a_mount_of_a_sub_tree_and_paths_outside_it(tmp_path):
    """In a container the mount shows a cgroup below the root (mountinfo's root field): paths
    are taken relative to it, and a cgroup outside it is not there to read."""
    cg = tmp_path / "cg"
    _files(tmp_path, {"proc/5/cgroup": "0::/pod/c1/app\n", "proc/6/cgroup": "0::/other\n"})
    _files(cg, {"app/memory.max": str(GIB), "app/memory.current": str(GIB // 2)})
    reader = CgroupReader(str(tmp_path / "proc"), _mountinfo(("/pod/c1", str(cg), "cgroup2", "")))
    found = reader.memory(5)
    assert found is not None and found.path == "/pod/c1/app" and found.room_bytes == GIB // 2
    assert reader.memory(6) is None
    assert memory_mounts("garbage\n\n1 2 3 - x\n") == []


def test_the_chooser_says_which_limit_counts():
    h = choose_headroom(8 * GIB, 300 * MIB, GIB)
    assert (h.bytes, h.source, h.limit_bytes, h.from_cgroup) == (300 * MIB, CGROUP_LIMIT, GIB, True)
    h = choose_headroom(200 * MIB, 300 * MIB, GIB)  # the machine is tighter than the cgroup
    assert (h.bytes, h.source, h.limit_bytes, h.from_cgroup) == (200 * MIB, MEM_AVAILABLE, None,
                                                                 False)  # fmt: skip
    assert choose_headroom(8 * GIB, None).source == MEM_AVAILABLE
    assert choose_headroom(GIB, GIB).source == MEM_AVAILABLE  # a tie: the machine's figure
    assert choose_headroom(-5, None).bytes == 0
    assert choose_headroom(GIB, float("nan")).source == MEM_AVAILABLE


# -- a real cgroup -----------------------------------------------------------------------------


@contextlib.contextmanager
def memory_cgroup(limit_bytes: int, required: bool = True) -> Iterator[Path | None]:
    """A new memory cgroup under this process's own, limited to ``limit_bytes``; removed after
    (its processes must be gone by then). Where the test may not make one: a skip, or None
    when not ``required``."""
    reader = CgroupReader()
    paths = reader.paths(os.getpid())
    for mount in reader.mounts:
        own, root = paths.get(mount.version), mount.root.rstrip("/")
        if own is None or not (own == mount.root or own.startswith(root + "/")):
            continue
        rel = own[len(root) :].strip("/")
        group = Path(mount.point, rel, f"toptui-test-{uuid.uuid4().hex[:8]}")
        limit_file = "memory.max" if mount.version == 2 else "memory.limit_in_bytes"
        try:
            group.mkdir()
        except OSError:
            continue
        try:
            if not (group / limit_file).exists():  # v2 without the memory controller here
                continue
            try:
                (group / limit_file).write_text(str(limit_bytes))
            except OSError:
                continue
            yield group
            return
        finally:
            with contextlib.suppress(OSError):
                group.rmdir()
    if required:
        pytest.skip(NO_CGROUP)
    yield None


NO_CGROUP = "cannot make a memory cgroup here (needs root and a writable cgroup fs)"


def move_into(group: Path, pid: int) -> None:
    (group / "cgroup.procs").write_text(f"{pid}\n")


def test_a_real_cgroup_limit_is_read_for_a_child_in_it():
    with memory_cgroup(256 * MIB) as group, MemoryChild() as child:
        assert group is not None
        move_into(group, child.pid)
        child.grow(64)  # charged to the new cgroup: allocated after the move
        found = CgroupReader().memory(child.pid)
        assert found is not None
        assert found.limit_bytes == 256 * MIB
        assert found.path.endswith("/" + group.name)
        assert found.usage_bytes >= 64 * MIB
        assert found.room_bytes <= 256 * MIB - 64 * MIB
        assert CgroupReader().memory(os.getpid()) != found  # not this process's
