"""The command line as a script would use it: batch output, JSON, and one-line errors."""

import json
import os
import subprocess
import sys
import time

import pytest
from children import CLK_TCK, WAIT_S, MemoryChild, cpu_ticks

TOPTUI = [sys.executable, "-m", "toptui"]


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*TOPTUI, *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize(
    "args,needle",
    [
        (["-d", "0"], "--delay: must be at least 0.01 seconds"),  # one wording for "too small"
        (["-d", "0.001"], "--delay: must be at least 0.01 seconds"),
        (["-d", "-1"], "--delay: must be at least 0.01 seconds"),
        (["-d", "nan"], "--delay: not a number of seconds"),
        (["-d", "abc"], "-d"),
        (["-b", "-n", "abc"], "-n"),
        (["-b", "-n", "0"], "-n"),
        (["-o", "nosuch"], "unknown sort field"),
        (["-u", "no-such-user-xyz"], "unknown user"),
        (["-p", "x"], "process id"),
        (["-p", "999999999"], "no such process"),
        (["--format", "xml", "-b"], "--format"),
        (["--frobnicate"], "unrecognized"),
        (["--history", "0"], "--history"),
        (["--families"], "--families is for batch JSON"),  # the screen has F
        (["-b", "-n", "1", "--families"], "--families is for batch JSON"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, needle):
    r = run(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("toptui: ")
    assert needle in lines[0]
    assert "Traceback" not in r.stderr


def test_version_and_help():
    from toptui import __version__

    r = run("--version")
    assert r.returncode == 0 and __version__ in r.stdout
    r = run("--help")
    assert r.returncode == 0 and "--format" in r.stdout and "-b" in r.stdout


def test_dash_1_gives_a_cpu_line_per_cpu_as_top_1():
    import psutil

    r = run("-b", "-n", "1", "-1", "-p", str(os.getpid()))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    n = len(psutil.cpu_times(percpu=True))
    assert [line[:5] for line in lines[2 : 2 + n]] == [f"%Cpu{i}"[:5] for i in range(n)]
    assert lines[2 + n].startswith("MiB Mem :")


def test_batch_text_looks_like_top():
    with MemoryChild(start_mib=5) as child:
        r = run("-b", "-n", "2", "-d", "0.2", "-p", str(child.pid))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("toptui - ") and "load average:" in lines[0]
    assert lines[1].startswith("Tasks:")
    assert lines[2].startswith("%Cpu(s):")
    assert lines[3].startswith("MiB Mem :")
    assert lines[4].startswith("MiB Swap:")
    header = lines[6].split()
    assert header[:12] == ["PID", "USER", "PR", "NI", "VIRT", "RES", "SHR", "S", "%CPU", "%MEM",
                           "TIME+", "GROWTH"]  # fmt: skip
    assert lines[7].split()[0] == str(child.pid)
    assert r.stdout.count("toptui - ") == 2


def test_batch_json_schema_and_values():
    with MemoryChild(start_mib=12) as child:
        r = run("-b", "-n", "2", "-d", "0.2", "--format", "json", "-p", str(child.pid))
        with open(f"/proc/{child.pid}/statm") as f:
            res_pages = int(f.read().split()[1])
    assert r.returncode == 0, r.stderr
    objs = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(objs) == 2
    for obj in objs:
        assert set(obj) == {"time", "memory", "processes"}
        assert set(obj["memory"]) == {"total", "available", "free", "used", "buffers", "cached",
                                      "swap_total", "swap_free"}  # fmt: skip
        (p,) = obj["processes"]
        assert set(p) == {"pid", "ppid", "user", "name", "command", "state", "nice", "threads",
                          "virt", "res", "shr", "cpu_percent", "mem_percent", "cpu_time",
                          "create_time", "growth", "program"}  # fmt: skip
        assert p["pid"] == child.pid and p["ppid"] == os.getpid()
        # name is top's comm; program is what the interpreter runs (python3 -c, a script, ...)
        assert p["program"].startswith(p["name"]) and len(p["program"]) > len(p["name"])
        assert set(p["growth"]) == {"verdict", "rate_bytes_per_s", "samples", "window_s"}
        assert p["growth"]["verdict"] == "collecting"
    assert objs[1]["processes"][0]["growth"]["samples"] == 2
    assert objs[1]["processes"][0]["res"] == pytest.approx(res_pages * os.sysconf("SC_PAGE_SIZE"),
                                                           rel=0.05)  # fmt: skip


def test_batch_sort_and_user_filter():
    with MemoryChild(start_mib=30) as big, MemoryChild(start_mib=1) as small:
        pids = f"{big.pid},{small.pid}"
        r = run("-b", "-n", "1", "--format", "json", "-p", pids, "-o", "RES")
        first = [p["pid"] for p in json.loads(r.stdout)["processes"]]
        assert first == [big.pid, small.pid]
        r = run("-b", "-n", "1", "--format", "json", "-p", pids, "-o", "-RES")
        assert [p["pid"] for p in json.loads(r.stdout)["processes"]] == [small.pid, big.pid]
        import pwd

        me = pwd.getpwuid(os.geteuid()).pw_name
        r = run("-b", "-n", "1", "--format", "json", "-u", me)
        users = {p["user"] for p in json.loads(r.stdout)["processes"]}
        assert users == {me}


def test_text_fields_sort_high_to_low_as_in_top():
    """top -o COMMAND lists z before a; '-COMMAND' is a to z."""
    procs = [
        subprocess.Popen([cmd, *arg])
        for cmd, arg in (("sleep", ["60"]), ("tail", ["-f", "/dev/null"]))
    ]
    try:
        pids = ",".join(str(p.pid) for p in procs)
        for field, names in (("COMMAND", ["tail", "sleep"]), ("-COMMAND", ["sleep", "tail"])):
            r = run("-b", "-n", "1", "--format", "json", "-p", pids, "-o", field)
            assert [p["name"] for p in json.loads(r.stdout)["processes"]] == names
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_the_first_frame_has_cpu_use():
    """Like top -b -n 1, the only frame shows who is busy (not 0.0 for everyone).

    The first frame's interval is short (a pause of at least 50 ms, as top's 150 ms), and on a
    loaded machine a busy child may get no CPU at all in it; so each format is run until a frame
    shows the child's use, which never happens if the first frame has no interval. TIME+ is
    checked against the child's own counters, read before and after the run.
    """
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        for fmt in ("json", "text"):
            end = time.monotonic() + WAIT_S
            while True:
                lo = cpu_ticks(busy.pid)
                r = run("-b", "-n", "1", "--format", fmt, "-p", str(busy.pid))
                hi = cpu_ticks(busy.pid)
                assert r.returncode == 0, r.stderr
                if fmt == "json":
                    (p,) = json.loads(r.stdout)["processes"]
                    assert lo / CLK_TCK - 0.005 <= p["cpu_time"] <= hi / CLK_TCK + 0.005, (lo, hi)
                    cpu = p["cpu_percent"]
                else:
                    row = next(line.split() for line in r.stdout.splitlines()
                               if line.split()[:1] == [str(busy.pid)])  # fmt: skip
                    cpu = float(row[8])
                if cpu > 0:
                    break
                assert time.monotonic() < end, f"{fmt}: every first frame showed 0.0 %CPU"
    finally:
        busy.kill()
        busy.wait()


def test_batch_records_only_the_user_it_shows(tmp_path):
    """-u narrows the recording as -p does: what is shown is what is recorded."""
    import pwd

    from toptui.store.recording import read_series

    me = pwd.getpwuid(os.geteuid()).pw_name
    path = tmp_path / "rec.csv"
    r = run("-b", "-n", "2", "-d", "0.1", "-u", "nobody", "--record", str(path))
    assert r.returncode == 0, r.stderr
    pids = {row.split(",")[1] for row in path.read_text().splitlines()[1:]}
    assert str(os.getpid()) not in pids or me == "nobody"
    r = run("-b", "-n", "2", "-d", "0.1", "-u", me, "--record", str(path))
    assert os.getpid() in {s.pid for s in read_series(str(path))}


def test_batch_does_not_import_textual():
    code = ("import sys, io; from toptui.commands.batch import BatchOptions, run_batch; "
            "run_batch(BatchOptions(iterations=1, fmt='json'), out=io.StringIO()); "
            "print('textual' in sys.modules)")  # fmt: skip
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False"


def test_broken_pipe_is_quiet():
    r = subprocess.run(f"{sys.executable} -m toptui -b -n 3 -d 0.1 | head -1", shell=True,
                       capture_output=True, text=True)  # fmt: skip
    assert r.stdout.startswith("toptui - ")
    assert "Traceback" not in r.stderr
