"""Parsing /proc files, including the names that break naive parsers."""

import pytest

from toptui.sampling import procfs


def _stat(name: bytes) -> bytes:
    fields = b"S 1 2 3 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 3 0 1234 9000000 500"
    return b"42 (" + name + b") " + fields + b" 0 0 0\n"


@pytest.mark.parametrize(
    "raw,name",
    [
        (b"bash", "bash"),
        (b"my prog", "my prog"),
        (b"a) (b", "a) (b"),
        (b"((x))", "((x))"),
        (b"bad\xffutf8", "bad\ufffdutf8"),
    ],
)
def test_parse_stat_odd_names(raw, name):
    st = procfs.parse_stat(_stat(raw))
    assert st.name == name
    assert st.state == "S"
    assert st.ppid == 1
    assert (st.utime, st.stime) == (250, 30)
    assert (st.priority, st.nice, st.threads) == (20, 0, 3)
    assert st.starttime == 1234


def test_parse_stat_rejects_garbage():
    with pytest.raises((ValueError, IndexError)):
        procfs.parse_stat(b"garbage")


def test_parse_statm_and_status():
    assert procfs.parse_statm(b"9339 2302 1591 230 0 767 0\n") == (9339, 2302, 1591)
    status = b"Name:\tx\nUid:\t1000\t1001\t1000\t1000\nGid:\t0\t0\t0\t0\n"
    assert procfs.parse_status_euid(status) == 1001
    assert procfs.parse_status_euid(b"Name:\tx\n") is None


def test_parse_cmdline_is_printable():
    assert procfs.parse_cmdline(b"python3\0-c\0print(1)\0") == "python3 -c print(1)"
    assert procfs.parse_cmdline(b"a\nb\0c\xff\0") == "a?b c\\xff"
    assert procfs.parse_cmdline(b"") == ""


def test_vanished_process_raises_gone():
    with pytest.raises(procfs.Gone):
        procfs.read_file("/proc/999999999/stat")


def test_stat_fields_indices_match_parse_stat():
    data = _stat(b"x) y")
    name, rest = procfs.stat_fields(data)
    st = procfs.parse_stat(data)
    assert name == st.name == "x) y"
    assert int(rest[procfs.UTIME]) == st.utime and int(rest[procfs.STARTTIME]) == st.starttime
    assert int(rest[procfs.FLAGS]) == 4194560  # field 9
    with pytest.raises(ValueError):
        procfs.stat_fields(b"1 )x( S")


def test_status_euid_on_any_line():
    assert procfs.parse_status_euid(b"Uid:\t5\t6\t5\t5\n") == 6
    assert procfs.parse_status_euid(b"Name:\tx\nUid:\t5\t7\t5\t5") == 7  # no final newline


def test_read_raw_and_cmdline_of_gone_processes():
    assert procfs.read_raw("/proc/999999999/stat") is None
    assert procfs.read_cmdline(999999999) == ""


def test_parse_cmdline_keeps_printable_text_as_is():
    assert procfs.parse_cmdline(b"sleep\x00100\x00") == "sleep 100"
    assert procfs.parse_cmdline("naïve\0ü\0".encode()) == "naïve ü"
