"""Family soak: does switching family mode (``F``) on and off cost the screen memory it keeps?

Issue 14, item 3: *a soak that switches F on and off every minute beside 1000 processes and churn
ends with toptui's RSS within 10% of where it was after the first switch, and judged no_leak by
toptui itself.* This script measures exactly that, on the real screen:

1. spawns ``--procs`` (1000) idle processes, each holding ``--hold-kib`` (128) KiB of written
   memory, as ``--procs / 25`` families (a head with 24 children) under one helper in a session
   of its own (children die with their parent through ``PR_SET_PDEATHSIG``, and sleep for at
   most the run's length plus 10 minutes, so nothing outlives a lost run);
2. starts a churn of short-lived processes, ``scripts/soak.py --churn-only --rate RATE`` (50
   births per second by default);
3. starts the screen in a private tmux server (``tmux -L toptui-famsoak-PID``, so no other tmux
   is touched): ``toptui -d 1 --record FILE`` in a 200x50 window; toptui's pid is the pane's;
4. once the screen shows the process table, presses ``M`` (that moment is t = 0), then ``F`` at
   t = 60, 120, ... s while t < ``--minutes`` x 60 (family mode on at odd switches, off at even
   ones), and checks each time on the screen (the growth panel's ``F:`` hint) that the mode did
   change;
5. reads toptui's RSS from ``/proc/PID/statm`` every 5 s (and just before each switch);
6. at the end closes the tmux server (toptui exits) and asks toptui for its verdict on itself:
   ``toptui analyze --format json -p PID FILE`` on the recording, which holds toptui's own row
   every second (the recording is of every process: family mode needs all of them on screen).
   For comparison, the script's own 5 s samples are also judged (``t,rss`` CSV through
   ``toptui analyze``), as information only.

Measures: toptui's RSS at t = 0, 10 s after the first switch and just before the second switch,
at each switch (just before the key, and 10 s after), at the end and its maximum. *After the
first switch* is taken just before the second switch: the whole first minute of family mode
belongs to the first switch. The soak passes when the end's RSS is at most 110% of that (a drop
passes), toptui's analysis of its own recorded RSS says ``no_leak``, and every switch was seen
on the screen. The load average at the start and the end is printed: the machine's other work
shares the CPU with toptui.

    .venv/bin/python scripts/family_soak.py [--minutes 15] [--procs 1000] [--rate 50] [--keep DIR]
    make family-soak MINUTES=15

Exit status 0 when the soak passed, 1 when it failed, 2 when it could not be run (no tmux, the
screen did not come up), 130 on Ctrl+C (after the report of what was seen so far). Every process
it started (the idle processes, the churn, the tmux server and toptui) is ended on the way out,
also on Ctrl+C, SIGTERM and SIGHUP. The recording is deleted unless ``--keep DIR`` is given.
Linux only; standard library only; toptui is used through its command line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOPTUI = ROOT / ".venv" / "bin" / "toptui"
PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024
SAMPLE_S = 5.0
SWITCH_S = 60.0
FAMILY_SIZE = 25  # an idle family: a head and 24 children
PASS_RATIO = 1.10
PR_SET_PDEATHSIG = 1


# -- the idle processes ----------------------------------------------------------------------


def _die_with_parent(parent: int) -> None:
    """In a forked child: get SIGKILL when ``parent`` goes away (or leave now if it has)."""
    import ctypes  # only in the helper process

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(0)


def _name(comm: str) -> None:
    with contextlib.suppress(OSError), open("/proc/self/comm", "w") as f:
        f.write(comm)


def idle_tree(total: int, hold_kib: int, lifetime: float) -> None:
    """Fork ``total`` idle processes in families of FAMILY_SIZE; print ``ok N``; wait.

    Each process writes ``hold_kib`` KiB and then sleeps, without waking up, for ``lifetime``
    seconds at most. The helper waits until its standard input closes (or it is killed).
    """
    helper = os.getpid()
    _die_with_parent(os.getppid())
    hold = hold_kib * 1024
    ready_r, ready_w = os.pipe()
    sizes = [FAMILY_SIZE] * (total // FAMILY_SIZE)
    if total % FAMILY_SIZE:
        sizes.append(total % FAMILY_SIZE)
    for size in sizes:
        if os.fork() == 0:  # a family's head
            try:
                os.close(ready_r)
                _die_with_parent(helper)
                _name("famsoak-head")
                head = os.getpid()
                for _ in range(size - 1):
                    if os.fork() == 0:  # one of its children
                        try:
                            os.close(ready_w)
                            _die_with_parent(head)
                            _name("famsoak-idle")
                            kept = b"x" * hold  # written: every page of it is resident
                            time.sleep(lifetime)
                            del kept
                        finally:
                            os._exit(0)
                kept = b"x" * hold
                os.write(ready_w, b".")
                os.close(ready_w)
                time.sleep(lifetime)
                del kept
            finally:
                os._exit(0)
    os.close(ready_w)
    heads = 0
    while heads < len(sizes):
        got = os.read(ready_r, 4096)
        if not got:
            break
        heads += len(got)
    print(f"ok {total}", flush=True)
    sys.stdin.read()  # until the soak closes our stdin (or kills our process group)


def start_idle(total: int, hold_kib: int, lifetime: float) -> subprocess.Popen:
    p = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--idle-only", str(total),
         "--hold-kib", str(hold_kib), "--lifetime", f"{lifetime:.0f}"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    assert p.stdout is not None
    line = p.stdout.readline().strip()
    if line != f"ok {total}":
        stop_group(p)
        raise RuntimeError(f"the idle processes did not start ({line!r})")
    return p


def start_churn(rate: float, births: list[int]) -> subprocess.Popen:
    """``scripts/soak.py --churn-only``, in a session of its own; its births per second go to
    ``births``."""
    p = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "soak.py"), "--churn-only", "--rate", str(rate)],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip

    def count() -> None:
        assert p.stdout is not None
        with contextlib.suppress(ValueError, OSError):
            for line in p.stdout:
                if line.startswith("births "):
                    births.append(int(line.split()[1]))

    threading.Thread(target=count, daemon=True).start()
    return p


def stop_group(p: subprocess.Popen) -> None:
    """End a helper started with ``start_new_session``: its whole process group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(p.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        p.wait(timeout=30)
    for stream in (p.stdin, p.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(p.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


# -- the screen in tmux ----------------------------------------------------------------------


class Screen:
    """toptui's screen in a tmux server of our own."""

    def __init__(self) -> None:
        self.socket = f"toptui-famsoak-{os.getpid()}"
        self.session = "famsoak"
        self.pid: int | None = None
        self.start_ticks: str | None = None
        self.socket_path = ""  # tmux leaves its socket file behind: removed on close

    def start(self, record: Path) -> None:
        command = f"exec {shlex.quote(str(TOPTUI))} -d 1 --record {shlex.quote(str(record))}"
        self.tmux("new-session", "-d", "-s", self.session, "-x", "200", "-y", "50", command)
        for _ in range(50):  # the pane's process is toptui itself (exec)
            out = self.tmux("list-panes", "-t", self.session, "-F", "#{pane_pid}", check=False)
            if out.strip().isdigit() and "toptui" in _cmdline(int(out.strip())):
                self.pid = int(out.strip())
                self.start_ticks = _start_ticks(self.pid)
                self.socket_path = self.tmux("display-message", "-p", "#{socket_path}").strip()
                return
            time.sleep(0.1)
        raise RuntimeError("toptui did not start in tmux")

    def tmux(self, *args: str, check: bool = True) -> str:
        r = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        if check and r.returncode != 0:
            raise RuntimeError(f"tmux {args[0]}: {r.stderr.strip()}")
        return r.stdout

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys)

    def capture(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session, check=False)

    def alive(self) -> bool:
        return self.pid is not None and _start_ticks(self.pid) == self.start_ticks

    def rss(self) -> int | None:
        if self.pid is None:
            return None
        try:
            with open(f"/proc/{self.pid}/statm", "rb") as f:
                rss = int(f.read().split()[1]) * PAGE
        except (OSError, ValueError, IndexError):
            return None
        return rss if self.alive() else None

    def close(self) -> None:
        """End the tmux server (toptui gets SIGHUP), then make sure toptui is gone."""
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            self.tmux("kill-server", check=False)
        deadline = time.monotonic() + 15
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.alive() and self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        if self.socket_path:
            with contextlib.suppress(OSError):
                os.unlink(self.socket_path)


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _start_ticks(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/PID/stat): a reused pid has another."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return None


def family_mode_shown(screen: str) -> bool | None:
    """What the growth panel's hint says: True in family mode, False not, None not seen."""
    if "F: single processes" in screen:
        return True
    if "F: families" in screen:
        return False
    return None


# -- the soak --------------------------------------------------------------------------------


@dataclass
class Switch:
    n: int
    t: float
    on: bool  # family mode after this press
    rss_before: int | None = None
    rss_after: int | None = None  # 10 s later
    seen: bool | None = None  # the screen showed the new mode


@dataclass
class Run:
    samples: list[tuple[float, int]] = field(default_factory=list)
    switches: list[Switch] = field(default_factory=list)
    births: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    tasks_line: str = ""
    interrupted: bool = False


def mib(b: int | None) -> str:
    return "-" if b is None else f"{b / MIB:.1f} MiB"


def count_processes() -> int:
    return sum(1 for name in os.listdir("/proc") if name.isdigit())


def soak(screen: Screen, minutes: float, run: Run) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        shown = screen.capture()
        if "Tasks:" in shown and "PID" in shown and "RES" in shown:
            break
        if not screen.alive():
            raise RuntimeError(f"toptui ended before its screen came up:\n{shown}")
        time.sleep(0.5)
    else:
        raise RuntimeError("the screen did not come up within 120 s")
    time.sleep(2.0)  # a first refresh with %CPU
    screen.keys("M")
    t0 = time.monotonic()
    end_s = minutes * 60
    run.tasks_line = next((ln for ln in screen.capture().splitlines() if "Tasks:" in ln), "")
    print(f"screen up, M pressed (t = 0); {run.tasks_line.strip()}", flush=True)
    plan = [Switch(k, k * SWITCH_S, k % 2 == 1) for k in range(1, int(end_s // SWITCH_S) + 1)]
    plan = [s for s in plan if s.t < end_s]
    i_sample = 0
    pending = list(plan)
    checking: list[Switch] = []
    while True:
        t_sample = i_sample * SAMPLE_S
        t_switch = pending[0].t if pending else float("inf")
        t_next = min(t_sample, t_switch, end_s)
        time.sleep(max(0.0, t0 + t_next - time.monotonic()))
        now = time.monotonic() - t0
        rss = screen.rss()
        if rss is None:
            run.problems.append(f"toptui ended during the soak, at {now:.0f} s")
            return
        run.samples.append((now, rss))
        if t_next >= end_s:
            return
        if pending and t_switch <= t_next:
            s = pending.pop(0)
            s.rss_before = rss
            screen.keys("F")
            run.switches.append(s)
            checking.append(s)
            if t_sample <= t_switch:
                i_sample += 1
            continue
        i_sample += 1
        for s in list(checking):
            if now >= s.t + SAMPLE_S - 0.5 and s.seen is None:
                s.seen = family_mode_shown(screen.capture()) == s.on
            if now >= s.t + 2 * SAMPLE_S - 0.5:
                s.rss_after = rss
                checking.remove(s)
                print(f"{s.t:5.0f}s  switch {s.n:2}: family mode {'on ' if s.on else 'off'}  "
                      f"(on screen: {'yes' if s.seen else 'NO'})  RSS before {mib(s.rss_before)}, "
                      f"10 s after {mib(s.rss_after)}", flush=True)  # fmt: skip


def analyze(args: list[str]) -> list[dict]:
    r = subprocess.run(
        [str(TOPTUI), "analyze", "--format", "json", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    out = []
    for line in r.stdout.splitlines():
        with contextlib.suppress(ValueError):
            out.append(json.loads(line))
    if not out:
        out.append({"verdict": f"error (status {r.returncode}: {r.stderr.strip()[:300]})"})
    return out


def series_note(s: dict) -> str:
    if "samples" not in s:
        return s["verdict"]
    rate = s.get("rate_bytes_per_s") or 0.0
    return (f"{s['verdict']} ({s['samples']} samples over {s['duration_s']:.0f} s, "
            f"{mib(s['first_rss'])} -> {mib(s['last_rss'])}, rate {rate / 1024:+.2f} KiB/s; "
            f"{'; '.join(s.get('reasons', []))})")  # fmt: skip


def report(run: Run, minutes: float, pid: int | None, record: Path, workdir: Path) -> bool:
    ok = not run.problems and not run.interrupted
    samples = run.samples
    mean_births = sum(run.births) / max(1, len(run.births))
    print()
    print(f"family soak: {minutes:g} min, toptui -d 1 (pid {pid}), F every {SWITCH_S:.0f} s: "
          f"{len(run.switches)} switches; churn {mean_births:.0f} births/s")  # fmt: skip
    if not samples:
        print("no RSS samples")
        return False
    start = next((r for t, r in samples if t >= 0), samples[0][1])
    first = run.switches[0] if run.switches else None
    second = run.switches[1] if len(run.switches) > 1 else None
    baseline = second.rss_before if second else samples[-1][1]
    end = samples[-1][1]
    peak_t, peak = max(samples, key=lambda s: s[1])
    print(f"toptui RSS at t = 0 (M pressed): {mib(start)}")
    if first is not None:
        print(f"toptui RSS 10 s after the first switch: {mib(first.rss_after)}")
    when = "just before the second" if second else "no second switch: the last sample"
    print(f"toptui RSS after the first switch ({when}): {mib(baseline)}")
    print(f"toptui RSS at the end ({samples[-1][0]:.0f} s): {mib(end)}")
    ratio = end / baseline if baseline else float("inf")
    print(f"end / after the first switch: {ratio:.3f} (pass: at most {PASS_RATIO:.2f})")
    if first is not None and first.rss_after:
        print(f"end / 10 s after the first switch: {end / first.rss_after:.3f} (information)")
    print(f"max RSS: {mib(peak)} at {peak_t:.0f} s")
    print("RSS at each switch:")
    for s in run.switches:
        print(f"  #{s.n:<2} {s.t:5.0f}s  F -> {'on ' if s.on else 'off'}  "
              f"before {mib(s.rss_before)}  10 s after {mib(s.rss_after)}  seen on screen: "
              f"{'yes' if s.seen else 'no' if s.seen is False else '?'}")  # fmt: skip
    unseen = [s.n for s in run.switches if s.seen is not True]
    if unseen:
        run.problems.append(f"switches not seen on the screen: {unseen}")
    if ratio > PASS_RATIO:
        run.problems.append(f"RSS at the end is {ratio:.3f}x what it was after the first switch")

    if not run.interrupted and pid is not None:
        own = [s for s in analyze(["-p", str(pid), str(record)]) if s.get("pid") in (pid, None)]
        verdicts = [s["verdict"] for s in own]
        print("toptui's verdict on itself (toptui analyze -p PID on its recording):")
        for s in own:
            print(f"  {series_note(s)}")
        if verdicts != ["no_leak"]:
            run.problems.append(f"toptui's verdict on its own recorded RSS: {verdicts}")
        csv = workdir / "famsoak-rss.csv"
        csv.write_text("t,rss\n" + "".join(f"{t:.1f},{r}\n" for t, r in samples if t >= 0))
        print("toptui analyze on this script's 5 s samples (information):")
        for s in analyze([str(csv)]):
            print(f"  {series_note(s)}")
        if record.exists():
            print(f"recording: {record} ({record.stat().st_size / MIB:.0f} MiB)")
    ok = not run.problems and not run.interrupted
    for p in run.problems:
        print(f"FAIL: {p}")
    print("interrupted" if run.interrupted else "family soak: OK" if ok else "family soak: FAILED")
    return ok


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=15.0, help="how long after M (default 15)")
    p.add_argument("--procs", type=int, default=1000, help="idle processes (default 1000)")
    p.add_argument("--hold-kib", type=int, default=128, help="KiB each idle process writes")
    p.add_argument("--rate", type=float, default=50.0, help="churn births per second (50)")
    p.add_argument("--keep", type=Path, help="keep the recording in this directory")
    p.add_argument("--idle-only", type=int, metavar="N", help=argparse.SUPPRESS)
    p.add_argument("--lifetime", type=float, default=3600.0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.idle_only is not None:
        idle_tree(args.idle_only, args.hold_kib, args.lifetime)
        return 0
    if not TOPTUI.exists():
        print(f"family_soak: {TOPTUI} is missing (make install)", file=sys.stderr)
        return 2
    if subprocess.run(["tmux", "-V"], capture_output=True).returncode != 0:
        print("family_soak: tmux is needed", file=sys.stderr)
        return 2

    def stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    workdir = Path(tempfile.mkdtemp(prefix="toptui-famsoak-")) if args.keep is None else args.keep
    workdir.mkdir(parents=True, exist_ok=True)
    record = workdir / "famsoak.csv"
    run = Run()
    screen: Screen | None = None
    load_start = os.getloadavg()
    print(f"load average at the start: {load_start[0]:.2f} {load_start[1]:.2f} "
          f"{load_start[2]:.2f} ({os.cpu_count()} CPUs); {count_processes()} processes",
          flush=True)  # fmt: skip
    status = 0
    try:
        with contextlib.ExitStack() as stack:
            try:
                idle = start_idle(args.procs, args.hold_kib, args.minutes * 60 + 600)
                stack.callback(stop_group, idle)
                churn = start_churn(args.rate, run.births)
                stack.callback(stop_group, churn)
                time.sleep(2.0)
                print(f"{args.procs} idle processes and a churn of {args.rate:g}/s started; "
                      f"{count_processes()} processes", flush=True)  # fmt: skip
                screen = Screen()
                stack.callback(screen.close)
                screen.start(record)
                soak(screen, args.minutes, run)
            except KeyboardInterrupt:
                run.interrupted = True
            except RuntimeError as exc:
                print(f"family_soak: {exc}", file=sys.stderr)
                status = 2
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_IGN)  # let the clean-up below finish
            if not run.interrupted:
                print(f"{count_processes()} processes at the end", flush=True)
            load_end = os.getloadavg()
        # everything is ended here: toptui has exited, so its recording is whole
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGHUP, stop)
        print(f"load average at the end: {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}")
        ok = report(run, args.minutes, screen.pid if screen else None, record, workdir)
    except KeyboardInterrupt:
        run.interrupted = True
        ok = False
    finally:
        if args.keep is None:
            for f in (record, workdir / "famsoak-rss.csv"):
                with contextlib.suppress(OSError):
                    f.unlink()
            with contextlib.suppress(OSError):
                workdir.rmdir()
    if run.interrupted:
        return 130
    return status or (0 if ok else 1)


if __name__ == "__main__":
    sys.exit(main())
