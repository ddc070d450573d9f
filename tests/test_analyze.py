"""``toptui analyze`` end to end: recordings, CSVs and mprof files in; verdicts, exit codes out."""

import dataclasses
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from children import MemoryChild

from toptui.commands import analyze
from toptui.engine.monitor import Monitor
from toptui.model import Snapshot
from toptui.sampling.sampler import Sampler
from toptui.store.recording import HEADER_V1_LINE, Recorder

MIB = 1024 * 1024
EPOCH = 1_700_000_000.0
TOPTUI = [sys.executable, "-m", "toptui", "analyze"]
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class StampedSampler:
    """The real sampler, with wall time taken from the fake clock too (recordings keep t_wall)."""

    def __init__(self, sampler: Sampler, clock: FakeClock) -> None:
        self.sampler = sampler
        self.clock = clock

    def sample(self) -> Snapshot:
        return dataclasses.replace(self.sampler.sample(), t_wall=EPOCH + self.clock.t)


def record_leaking_child(path: Path, steps: int = 120) -> tuple[int, Monitor, int | None]:
    """Record a real child that keeps 1 MiB more per (simulated) second.

    Returns its pid, the monitor that watched it live, and the step it was first flagged at.
    """
    clock = FakeClock()
    first_flag = None
    with MemoryChild(start_mib=8) as child:
        sampler = StampedSampler(Sampler(pids=[child.pid], clock=clock), clock)
        mon = Monitor(sampler, interval_s=1.0, judge_every_s=1.0, recorder=Recorder(path))
        for second in range(steps + 1):
            if second:
                child.grow(1)
            if mon.step().leaks() and first_flag is None:
                first_flag = second
            clock.t += 1.0
        mon.recorder.close()
        return child.pid, mon, first_flag


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*TOPTUI, *args], capture_output=True, text=True, timeout=60)


def write_csv(path: Path, rss, header: str = "t,rss") -> Path:
    path.write_text(header + "\n" + "".join(f"{t},{int(x)}\n" for t, x in enumerate(rss)))
    return path


def leaking(n: int = 300, seed: int = 1) -> list[float]:
    rnd = random.Random(seed)
    return [100 * MIB + t * 100 * 1024 + rnd.gauss(0, 64 * 1024) for t in range(n)]


def flat(n: int = 300, seed: int = 2) -> list[float]:
    rnd = random.Random(seed)
    return [100 * MIB + rnd.gauss(0, 64 * 1024) for _ in range(n)]


@linux_only
def test_a_recorded_real_leak_fails_the_build(tmp_path):
    path = tmp_path / "run.csv"
    pid, mon, first_flag = record_leaking_child(path)
    assert first_flag is not None and mon.last.leaks(), "the live monitor should flag it as well"
    r = run("--format", "json", "--fail-on-leak", str(path))
    assert r.returncode == 1, r.stderr
    assert r.stderr == ""
    objs = [json.loads(line) for line in r.stdout.splitlines()]
    (obj,) = objs
    assert obj["pid"] == pid and obj["verdict"] == "leak" and obj["source"] == str(path)
    assert obj["samples"] == 121 and obj["duration_s"] == pytest.approx(120.0)
    assert obj["rate_bytes_per_s"] == pytest.approx(MIB, rel=0.3)
    assert obj["last_rss"] - obj["first_rss"] >= 100 * MIB
    assert obj["exhaustion_s"] is None or obj["exhaustion_s"] > 0
    assert obj["reasons"]
    # Without --fail-on-leak the same finding exits 0.
    assert run(str(path)).returncode == 0


def test_mprof_file_gives_main_and_children(tmp_path, capsys):
    path = tmp_path / "mprofile_20240101120000.dat"
    lines = ["CMDLINE python leaky_service.py --port 8080"]
    t0 = 1_700_000_000.0
    for i, (main, grow) in enumerate(zip(flat(), leaking(), strict=True)):
        ts = t0 + i * 0.5 * 2
        lines.append(f"MEM {main / MIB:.6f} {ts:.4f}")
        lines.append(f"CHLD 4242 {grow / MIB:.6f} {ts + 0.01:.4f}")
        if i % 2 == 0:
            lines.append(f"CHLD 4343 {30 + (i % 3) * 0.01:.6f} {ts + 0.02:.4f}")
        if i == 10:
            lines.append(f"FUNC __main__.handler 40.1 {ts:.4f} 41.2 {ts + 1:.4f} 1")
    path.write_text("\n".join(lines) + "\n")
    assert analyze.main(["--format", "json", str(path)]) == 0
    objs = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    by_pid = {o["pid"]: o for o in objs}
    assert set(by_pid) == {None, 4242, 4343}
    assert by_pid[4242]["verdict"] == "leak" and objs[0]["pid"] == 4242  # leaks first
    assert by_pid[None]["verdict"] == "no_leak" and by_pid[4343]["verdict"] == "no_leak"
    assert by_pid[None]["name"] == "python leaky_service.py --port 8080"
    assert by_pid[None]["samples"] == 300 and by_pid[4343]["samples"] == 150
    assert by_pid[4343]["first_rss"] == 30 * MIB
    assert by_pid[4242]["rate_bytes_per_s"] == pytest.approx(100 * 1024, rel=0.3)


def test_csv_formats_are_told_by_content_not_extension(tmp_path, capsys):
    a = write_csv(tmp_path / "a.dat", leaking())
    b = write_csv(tmp_path / "b.log", flat(), header="time,rss")
    assert analyze.main(["--format", "json", "--fail-on-leak", str(a), str(b)]) == 1
    objs = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(o["source"], o["pid"], o["verdict"]) for o in objs] == [
        (str(a), None, "leak"),
        (str(b), None, "no_leak"),
    ]
    assert analyze.main(["--fail-on-leak", str(b)]) == 0


def test_piped_text_is_one_line_per_input_in_order_verdict_last(tmp_path):
    paths = [
        write_csv(tmp_path / f"{i}.csv", (leaking if i % 3 == 0 else flat)(seed=i))
        for i in range(7)
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("t,rss\n0,1\nzap,2\n")
    argv = [str(p) for p in paths[:3]] + [str(bad)] + [str(p) for p in paths[3:]]
    r = run(*argv)
    assert r.returncode == 2
    lines = r.stdout.splitlines()
    assert [ln.split()[0] for ln in lines] == argv
    assert [ln.split()[-1] for ln in lines] == [
        "leak", "no_leak", "no_leak", "error", "leak", "no_leak", "no_leak", "leak"
    ]  # fmt: skip
    assert r.stderr.count("\n") == 1 and f"{bad}:3:" in r.stderr


def test_terminal_text_has_a_header_and_a_graph_per_leak(tmp_path):
    import io

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    res = []
    for name, series in (("up", leaking), ("flat", flat)):
        loaded = analyze.load(str(write_csv(tmp_path / f"{name}.csv", series(seed=3))))
        res.append(analyze.judge_trace(loaded.traces[0], None))
    out = Tty()
    analyze._print([("x", analyze._ordered(res))], "text", out, "OOM IN counts down from 1 G")
    text = out.getvalue()
    first = text.splitlines()[0].split()
    assert first[0] == "SOURCE" and first[-1] == "VERDICT"
    assert "1 of 2 series leak. OOM IN counts down from 1 G." in text
    assert "up.csv" in text
    assert sum("\u2800" <= ch <= "\u28ff" for ch in text) > 20  # the braille plot of the leak


def test_available_sets_what_oom_in_counts_down_from(tmp_path, capsys):
    """A recording keeps no memory figure; --available gives the target machine's, so CI runs
    of the same file agree."""
    path = write_csv(tmp_path / "up.csv", leaking(seed=3))
    assert analyze.main([str(path), "--format", "json", "--available", "1G"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["verdict"] == "leak"
    assert row["exhaustion_s"] == pytest.approx((1 << 30) / row["rate_bytes_per_s"], abs=0.1)
    assert any(r.startswith("1.00 GiB available lasts") for r in row["reasons"])
    with pytest.raises(SystemExit) as bad:
        analyze.main([str(path), "--available", "lots"])
    assert bad.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a size: 'lots'" in err
    assert analyze._oom_basis(None, False).startswith("OOM IN is unknown")
    assert "as given" in analyze._oom_basis(float(1 << 30), True)


def test_pid_filter(tmp_path, capsys):
    from test_recording import proc, snap

    path = tmp_path / "rec.csv"
    with Recorder(path) as rec:
        for i in range(100):
            rec.record(snap(EPOCH + i, [proc(11, "a", 10 * MIB + i * 4096), proc(22, "b", MIB)]))
    assert analyze.main(["--format", "json", "-p", "22", str(path)]) == 0
    assert [json.loads(x)["pid"] for x in capsys.readouterr().out.splitlines()] == [22]
    assert analyze.main(["-p", "33", str(path)]) == 2
    assert "no process with pid 33" in capsys.readouterr().err


def test_a_cut_off_recording_is_analysed_up_to_the_cut_and_reported(tmp_path):
    from test_recording import proc, snap

    path = tmp_path / "rec.csv"
    with Recorder(path) as rec:
        for i in range(100):
            rec.record(snap(EPOCH + i, [proc(11, "a", 10 * MIB)]))
    with path.open("ab") as f:
        f.write(b"1700000100.000,11,1700000000.25,a,104")
    r = run("--format", "json", str(path))
    assert r.returncode == 2
    assert json.loads(r.stdout)["samples"] == 100
    assert r.stderr.count("\n") == 1 and f"{path}:102:" in r.stderr and "cut off" in r.stderr


BAD_INPUTS = {
    "empty": (b"", 1, "empty"),
    "header_only": (b"t,rss\n", 2, "no samples"),
    "corrupt": (b"t,rss\n0,100\n1,1,1\n2,300\n", 3, "expected 2 fields"),
    "not_a_number": (b"time,rss\n0,100\n1,lots\n", 3, "rss is not a number"),
    "truncated": (b"t,rss\n0,100\n1,", 3, "cut off"),
    "binary": (b"\x7fELF\x02\x01\x01\n\x00\x00\xff\xfe" + bytes(range(256)), 2, "binary"),
    "huge_rss": (b"t,rss\n0,100\n1,1e999\n", 3, "finite"),
    "huge_digits": (b"t,rss\n0,100\n1," + b"9" * 5000 + b"\n", 3, "finite"),
    "huge_int": (b"t,rss\n0,100\n1,99999999999999999999999\n", 3, "out of range"),
    "huge_time": (b"t,rss\n0,100\n1e300,5\n", 3, "time out of range"),
    "negative": (b"t,rss\n0,-100\n", 2, "out of range"),
    "unknown": (b"hello world\n", 1, "not a toptui recording"),
    "mprof_corrupt": (b"CMDLINE x\nMEM 1.0 1700000000.0\nMEM 1.0\n", 3, "expected MEM"),
    "mprof_truncated": (b"CMDLINE x\nMEM 1.0 1700000000.0\nMEM 2.0 17000", 3, "cut off"),
    "mprof_bad_child": (b"MEM 1.0 1700000000.0\nCHLD x 1.0 1700000000.0\n", 2, "pid is not"),
    "mprof_unknown_line": (b"MEM 1.0 1700000000.0\nWAT 1\n", 2, "not an mprof line"),
    "mprof_no_samples": (b"CMDLINE python x.py\n", 1, "no MEM"),
    "recording_corrupt": (
        b"time,pid,create_time,name,rss,vms,shared,cpu_percent\r\n1.0,1,1.0,a,1,1,1,0.0\r\n"
        b"2.0,1,1.0,a,1,1\r\n",
        3,
        "expected 8 fields",
    ),
    "recording_nul_name": (HEADER_V1_LINE.encode() + b"\r\n1,\x00", 2, "binary"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_unreadable_input_is_one_line_exit_2_and_others_still_analysed(tmp_path, capsys, case):
    data, line, needle = BAD_INPUTS[case]
    bad = tmp_path / f"{case}.csv"
    bad.write_bytes(data)
    good = write_csv(tmp_path / "good.csv", flat())
    assert analyze.main(["--format", "json", "--fail-on-leak", str(bad), str(good)]) == 2
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"toptui analyze: {bad}:{line}: "), lines[0]
    assert needle in lines[0]
    assert any(json.loads(x)["source"] == str(good) for x in out.splitlines())


@pytest.mark.parametrize("case", ["binary", "huge_digits", "truncated", "recording_corrupt"])
def test_the_command_never_shows_a_traceback(tmp_path, case):
    bad = tmp_path / f"{case}.csv"
    bad.write_bytes(BAD_INPUTS[case][0])
    r = run(str(bad))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr


@pytest.mark.parametrize("what", ["missing", "directory"])
def test_files_that_cannot_be_opened(tmp_path, what):
    path = tmp_path / "nope.csv" if what == "missing" else tmp_path
    r = run(str(path))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    (line,) = r.stderr.splitlines()
    assert line.startswith(f"toptui analyze: {path}: cannot read")


def test_bad_flags_are_one_line(tmp_path):
    for args in (["--format", "xml", "x"], [], ["-p", "abc", "x"]):
        r = run(*args)
        assert r.returncode == 2
        assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("toptui analyze: ")


def test_only_a_two_column_csv_may_end_without_a_newline(tmp_path, capsys):
    """Many tools omit a CSV's final newline; recordings and mprof end every line they write."""
    csv = tmp_path / "no_eol.csv"
    csv.write_bytes(b"t,rss\n0,100\n1,200\n2,300")
    assert analyze.main(["--format", "json", str(csv)]) == 0
    assert json.loads(capsys.readouterr().out)["last_rss"] == 300
    dat = tmp_path / "no_eol.dat"
    dat.write_bytes(b"MEM 1.0 1700000000.0\nMEM 2.0 1700000001.0\nMEM 3.0 1700000002.0")
    assert analyze.main(["--format", "json", str(dat)]) == 2
    out, err = capsys.readouterr()
    assert json.loads(out)["samples"] == 2 and f"{dat}:3: incomplete last line" in err


def test_byte_order_marks_and_quoted_csv_fields_are_read(tmp_path, capsys):
    bom = b"\xef\xbb\xbf"
    dat = tmp_path / "bom.dat"
    dat.write_bytes(bom + b"MEM 10 1700000000\nMEM 11 1700000001\n")
    r_csv = tmp_path / "r.csv"  # R: write.csv(d, row.names = FALSE) quotes the header names
    r_csv.write_text('"t","rss"\n0,100\n1,200\n')
    quoted = tmp_path / "quoted.csv"  # some spreadsheets quote every field
    quoted.write_bytes(bom + b'"time", "rss"\r\n"0","100"\r\n"1", "200"\r\n')
    assert analyze.main(["--format", "json", str(dat), str(r_csv), str(quoted)]) == 0
    out, err = capsys.readouterr()
    objs = [json.loads(x) for x in out.splitlines()]
    assert err == ""
    assert [(o["samples"], o["first_rss"], o["last_rss"]) for o in objs] == [
        (2, 10 * MIB, 11 * MIB), (2, 100, 200), (2, 100, 200)
    ]  # fmt: skip


def test_json_is_valid_utf8_whatever_bytes_the_names_hold(tmp_path, capsys):
    rec = tmp_path / "hand_made.csv"
    rows = b"".join(b"%d,7,1.0,py\xff\xfe,%d,1,1,0.0\r\n" % (i, MIB) for i in range(3))
    rec.write_bytes(HEADER_V1_LINE.encode() + b"\r\n" + rows)  # format 1 still reads
    odd = write_csv(tmp_path / os.fsdecode(b"mem\xe9.csv"), flat())
    assert analyze.main(["--format", "json", str(rec), str(odd)]) == 0
    out = capsys.readouterr().out
    assert "\\ud" not in out  # no lone surrogate, which strict JSON parsers reject
    a, b = (json.loads(x) for x in out.splitlines())
    assert a["name"] == "py\ufffd\ufffd"
    assert b["name"] == "mem\ufffd.csv" and b["source"].endswith("mem\ufffd.csv")


def test_a_terminal_table_fits_the_terminal_and_a_piped_one_is_never_cut(tmp_path, monkeypatch):
    import io

    from test_recording import proc, snap

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    long_dir = tmp_path / "recordings-of-the-nightly-soak-test" / "service-a"
    long_dir.mkdir(parents=True)
    path = long_dir / "memory-trace-2024-01-01.csv"
    name = "a-rather-long-process-name-here-x"
    with Recorder(path) as rec:
        for i in range(100):
            rec.record(snap(EPOCH + i, [proc(4242, name, 10 * MIB + i * 65536)]))
    res = [analyze.judge_trace(t, None) for t in analyze.load(str(path)).traces]
    per_input = [(str(path), res), ("missing.csv", None)]
    monkeypatch.setenv("COLUMNS", "100")
    tty = Tty()
    analyze._print(per_input, "text", tty, "")
    table = tty.getvalue().split("\n\n")[0].splitlines()
    assert len(table) == 3 and all(len(line) <= 100 for line in table), table
    source, _, shown_name = table[1].split()[:3]
    assert source.startswith("…") and source.endswith("-2024-01-01.csv")  # the file name stays
    assert shown_name.startswith("a-rather-") and shown_name.endswith("…")
    assert table[1].split()[-1] == "leak" and table[2].split()[-1] == "error"
    piped = io.StringIO()
    analyze._print(per_input, "text", piped, "")
    lines = piped.getvalue().splitlines()
    assert [ln.split()[0] for ln in lines] == [str(path), "missing.csv"]
    assert name[:31] in lines[0] and [ln.split()[-1] for ln in lines] == ["leak", "error"]
