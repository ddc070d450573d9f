"""The fast path of the breakdown by kind (/proc/PID/maps joined with numa_maps) against smaps, on
real children each holding one kind of memory; and its fallbacks to smaps (no numa_maps, the two
files listing different mappings) and bad input (a line that does not parse), said so."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator

import pytest
from children import CHILD_CODE
from test_memory_kinds_live import FILE_CODE, SHM_CODE, THREADS_CODE, child

from toptui.mapping_model import KINDS, OTHER
from toptui.sampling import smaps
from toptui.sampling.smaps import (
    MAPS_NUMA,
    SMAPS,
    KindsReader,
    parse_maps_numa,
    read_kinds,
    read_smaps,
    read_tmpfs_devices,
)

# Per kind, how far the two paths may differ: numa_maps leaves out the kernel's own pages of
# [vdso] (a few KiB of "other"); the children are idle between the two reads, so nothing else.
TOLERANCE = 64 << 10
STEP_MIB = 8
HAS_NUMA = os.path.exists("/proc/self/numa_maps")
needs_numa = pytest.mark.skipif(not HAS_NUMA, reason="this kernel has no numa_maps")


def assert_same_kinds(pid: int) -> None:
    tmpfs = read_tmpfs_devices(pid)
    fast = read_kinds(pid, 0.0, tmpfs)
    slow = read_smaps(pid, 0.0, tmpfs)
    assert fast.source == MAPS_NUMA and fast.reason == "", fast.reason
    assert slow.kinds is not None and fast.kinds is not None
    for kind, (a, b) in enumerate(zip(fast.kinds, slow.kinds, strict=True)):
        assert abs(a - b) <= TOLERANCE, (KINDS[kind], a, b)
    assert fast.thread_stacks == slow.thread_stacks
    # The same mappings, each with the same RES but [vdso]'s.
    assert [m[:4] for m in fast.mappings] == [m[:4] for m in slow.mappings]
    differ = [(a, b) for a, b in zip(fast.mappings, slow.mappings, strict=True) if a != b]
    assert all(a.kind == OTHER for a, _ in differ), differ


@needs_numa
def test_anonymous_memory_reads_the_same() -> None:
    with child(CHILD_CODE) as c:
        c.grow(STEP_MIB)
        assert_same_kinds(c.proc.pid)


@needs_numa
def test_file_backed_memory_reads_the_same() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory(dir=here) as d, child(FILE_CODE, d) as c:
        c.grow(STEP_MIB)
        assert_same_kinds(c.proc.pid)


@needs_numa
def test_shmem_reads_the_same() -> None:
    if not os.path.isdir("/dev/shm"):
        pytest.skip("no /dev/shm here")
    path = f"/dev/shm/toptui-test-{uuid.uuid4().hex}"
    try:
        with child(SHM_CODE, path) as c:
            c.grow(STEP_MIB)
            assert_same_kinds(c.proc.pid)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


@needs_numa
def test_thread_stacks_read_the_same() -> None:
    with child(THREADS_CODE) as c:
        c.grow(10)
        assert_same_kinds(c.proc.pid)
        assert read_kinds(c.proc.pid, 0.0).thread_stacks >= 10


@contextlib.contextmanager
def fake_proc(pid: int, numa: bool) -> Iterator[str]:
    """A copy of the child's maps and smaps (and numa_maps if ``numa``) under a fake /proc."""
    with tempfile.TemporaryDirectory() as d:
        os.mkdir(os.path.join(d, str(pid)))
        for name in ("maps", "smaps", "mountinfo") + (("numa_maps",) if numa else ()):
            shutil.copyfile(f"/proc/{pid}/{name}", os.path.join(d, str(pid), name))
        yield d


def test_without_numa_maps_smaps_is_read() -> None:
    with child(CHILD_CODE) as c:
        c.grow(1)
        pid = c.proc.pid
        with fake_proc(pid, numa=False) as proc:
            r = read_kinds(pid, 0.0, proc=proc)
            assert r.source == SMAPS and r.reason == "" and r.kinds is not None
            reader = KindsReader(proc=proc)  # no numa_maps in its /proc/self
            assert not reader.numa and reader.smaps((pid, 1), 0.0).source == SMAPS
        assert KindsReader(numa=False).smaps((pid, 1), 0.0).source == SMAPS


@needs_numa
def test_files_listing_different_mappings_fall_back_to_smaps() -> None:
    """A mapping in numa_maps that maps lacks (made between the two reads), every time: read
    again once, then smaps."""
    with child(CHILD_CODE) as c:
        pid = c.proc.pid
        with fake_proc(pid, numa=True) as proc:
            assert read_kinds(pid, 0.0, proc=proc).source == MAPS_NUMA
            with open(os.path.join(proc, str(pid), "numa_maps"), "ab") as f:
                f.write(b"7fff00000000 default anon=1 dirty=1 N0=1 kernelpagesize_kB=4\n")
            r = read_kinds(pid, 0.0, proc=proc)
            assert r.source == SMAPS and r.reason == "" and r.kinds is not None


MAPS = (
    b"55d0c0000000-55d0c0021000 r--p 00000000 fe:00 260386     /usr/bin/prog\n"
    b"7f0000000000-7f0000100000 rw-p 00000000 00:00 0 \n"
    b"7f0000100000-7f0000200000 rw-p 00000000 00:00 0 \n"
    b"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0        [vsyscall]\n"
)
NUMA = (
    b"55d0c0000000 default file=/usr/bin/prog mapped=3 N0=2 N1=1 kernelpagesize_kB=4\n"
    b"7f0000000000 default anon=256 dirty=256 N0=256 kernelpagesize_kB=4\n"
    b"7f0000100000 default\n"
)


def test_numa_pages_summed_over_nodes_and_the_gate_mapping_counted_zero() -> None:
    r = parse_maps_numa(MAPS, NUMA)
    assert r is not None and r.reason == "" and r.kinds is not None
    assert [m.rss for m in r.mappings] == [3 * 4096, 256 * 4096, 0, 0]


def test_an_unparseable_mapping_line_leaves_its_memory_out_and_says_so() -> None:
    bad = MAPS.replace(b"7f0000000000-7f0000100000 rw-p", b"7f00zz000000-7f0000100000 rw-p")
    r = parse_maps_numa(bad, NUMA)
    assert r is not None and r.kinds is not None
    assert r.reason.startswith("1 mapping could not be parsed")
    assert sum(r.kinds) == 3 * 4096
    worse = NUMA.replace(b"N0=256 kernelpagesize_kB=4", b"N0=lots kernelpagesize_kB=4")
    r = parse_maps_numa(MAPS, worse)
    assert r is not None and r.reason.startswith("1 mapping could not be parsed")


def test_different_mapping_lists_are_no_reading() -> None:
    assert parse_maps_numa(MAPS, NUMA + b"7f0000300000 default\n") is None
    moved = NUMA.replace(b"7f0000100000 default", b"7f0000400000 default")
    assert parse_maps_numa(MAPS, moved) is None


def test_a_process_that_has_exited_gives_an_absent_breakdown(tmp_path) -> None:
    r = read_kinds(999_999_999, 0.0)
    assert r.kinds is None and r.reason == "the process has exited"
    assert smaps.read_kinds(1, 0.0, proc=str(tmp_path)).kinds is None
