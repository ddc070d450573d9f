"""Number formats follow top's own rules (procps-ng 4 scale_mem / scale_tics)."""

from toptui.render import format as fmt


def test_memory_fits_in_kib_by_default():
    assert fmt.scale_mem(37356, 7) == "37356"
    assert fmt.scale_mem(0, 6) == "0"


def test_memory_scales_when_it_does_not_fit():
    # 1228.8 MiB does not fit RES's 6 columns as "1228.8m", so top shows GiB.
    assert fmt.scale_mem(1258291, 6) == "1.2g"
    assert fmt.scale_mem(999999, 6) == "999999"
    assert fmt.scale_mem(1000000, 6) == "976.6m"
    assert fmt.scale_mem(40 * 1024 * 1024 * 1024, 7) == "40.0t"


def test_memory_unit_target_like_tops_e_key():
    assert fmt.scale_mem(9216, 6, target=1) == "9.0m"
    assert fmt.scale_mem(9216, 6, target=2) == "0.0g"


def test_time_plus_formats():
    assert fmt.time_plus(1.66) == "0:01.66"
    assert fmt.time_plus(61.5) == "1:01.50"
    assert fmt.time_plus(100 * 60 + 5.25) == "100:05.25"
    # 10000 minutes no longer fit with hundredths in 9 columns.
    assert fmt.time_plus(10000 * 60 + 7) == "10000:07"
    assert fmt.time_plus(2_000_000 * 60) == "33333,20"


def test_rates_and_sizes():
    assert fmt.rate(1.2 * 1024 * 1024) == "+1.2M/s"
    assert fmt.rate(0) == ""
    assert fmt.rate(512) == "+30.0K/m"
    assert fmt.human_bytes(3 * 1024**3) == "3.0 GiB"
    assert fmt.duration(3 * 3600 + 12 * 60) == "3h12m"
    assert fmt.duration(45) == "45s"


def test_huge_sizes_scale_past_tebibytes():
    """2^62 bytes (an absurd but parsable RSS in a file) reads 4.0E, not 4194304T."""
    from toptui.render.format import compact_bytes, human_bytes

    assert (compact_bytes(2**62), human_bytes(2**62)) == ("4.0E", "4.0 EiB")
    assert (compact_bytes(2**50), human_bytes(2**50)) == ("1.0P", "1.0 PiB")
    assert (compact_bytes(1023 * 2**40), human_bytes(512)) == ("1023T", "512 B")


def test_one_narrowing_for_the_table_the_growth_panel_and_batch():
    from toptui.model import ProcSample
    from toptui.render.rows import Narrowing

    def proc(pid: int, user: str, name: str, command: str) -> ProcSample:
        return ProcSample((pid, 1), pid, 1, user, name, command, "S", 20, 0, 1, 0, 0, 0, 0.0,
                          0.0, 0.0, 1.0)  # fmt: skip

    procs = [proc(1, "root", "sshd", "/usr/sbin/sshd -D"), proc(2, "alice", "python3",
             "python3 Leaker.py"), proc(3, "alice", "bash", "-bash")]  # fmt: skip
    assert not Narrowing() and Narrowing().apply(procs) == procs and Narrowing().note is None
    assert [p.pid for p in Narrowing(user="alice").apply(procs)] == [2, 3]
    assert [p.pid for p in Narrowing(text="leaker").apply(procs)] == [2]  # command, any case
    assert [p.pid for p in Narrowing(text="SSH").apply(procs)] == [1]  # name
    both = Narrowing(user="root", text="leaker")
    assert both.apply(procs) == [] and both.note == "user root, filter leaker"
