"""Family totals turn many small per-worker growths into one visible leak; families judged by the
monitor through the same state machine as processes, named by the smallest one that explains the
growth, and holding no state once family mode is off or their heads are gone."""

import csv
import gc
import random
import weakref
from collections.abc import Callable
from dataclasses import replace
from itertools import pairwise

import pytest
from test_history import SYSTEM, proc

from toptui.analysis.families import (
    EXPLAINED_SHARE,
    FAMILY_EVERY_S,
    FamilyVerdict,
    named,
)
from toptui.analysis.family import family_total
from toptui.analysis.growth import GrowthVerdict, judge
from toptui.engine.monitor import Monitor
from toptui.model import Snapshot

MIB = 1024 * 1024


def test_members_are_summed_on_the_heads_timestamps():
    head = ([0.0, 1.0, 2.0, 3.0], [10.0, 10.0, 10.0, 10.0])
    worker_a = ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])  # born after the head
    worker_b = ([0.0, 1.0], [5.0, 5.0])  # exited
    t, total = family_total(head, [worker_a, worker_b])
    assert t == [0.0, 1.0, 2.0, 3.0]
    assert total == [15.0, 16.0, 12.0, 13.0]


def test_pool_whose_workers_each_grow_a_little_is_a_family_leak():
    # Sixteen 20 MiB workers each keep 400 B/s more: 350 KiB in fifteen minutes, far under what
    # a single process must leak to be flagged. Together they hold 5.5 MiB more: a family leak.
    times = [float(s) for s in range(0, 900, 2)]
    workers = [(times, [20 * MIB + 400 * t for t in times]) for _ in range(16)]
    assert all(judge(*w).verdict == "no_leak" for w in workers)
    head = (times, [50 * MIB for _ in times])
    t, total = family_total(head, workers)
    verdict = judge(t, total)
    assert verdict.verdict == "leak"
    assert abs(verdict.rate_bytes_per_s - 16 * 400) < 2048


def test_members_with_fewer_points_than_the_head_are_interpolated_between_their_samples():
    # An idle head keeps every sample; a worker's older stretch is kept as a few points only.
    head = ([float(s) for s in range(0, 101)], [10.0] * 101)
    worker = ([0.0, 7.0, 20.0, 27.0, 40.0, 95.0], [0.0, 7.0, 20.0, 27.0, 40.0, 95.0])  # y = t
    _, total = family_total(head, [worker])
    assert total[:96] == [10.0 + s for s in range(96)]
    assert total[96:] == [10.0] * 5  # after its last sample the worker is gone


def test_a_pool_of_slow_leakers_is_a_family_leak_after_the_history_has_compacted_them():
    """Four workers keep 700 B/s each for 15 minutes at 1 s: each one's RES moves a page every
    few seconds, so its older minutes are summarised to a few points per block, while the idle
    parent keeps every sample. The family still leaks 2800 B/s from first to last."""
    from toptui.model import CpuStates, MemoryStats, ProcSample, Snapshot, SystemStats, TaskCounts
    from toptui.store.history import History

    memory = MemoryStats(16 << 30, 8 << 30, 8 << 30, 0, 0, 0, 0)
    system = SystemStats(1.0, (0.0, 0.0, 0.0), 1, CpuStates(), memory, TaskCounts())
    history = History(history_s=3600, interval_s=1.0)

    def proc(pid: int, ppid: int, res: float) -> ProcSample:
        return ProcSample((pid, 1), pid, ppid, "u", "pool", "pool", "S", 20, 0, 1, 0,
                          int(res) // 4096 * 4096, 0, 0.0, 0.0, 0.0, 0.0)  # fmt: skip

    for s in range(900):
        procs = (
            proc(300, 1, 20 * MIB),
            *(proc(301 + i, 300, 20 * MIB + 700 * s) for i in range(4)),
        )
        history.ingest(Snapshot(1000.0 + s, 0.0, 1.0, system, procs))
    head = history.res_series((300, 1))
    workers = [history.res_series((301 + i, 1)) for i in range(4)]
    assert head is not None and all(w is not None for w in workers)
    assert all(len(w[0]) < len(head[0]) / 2 for w in workers)  # compacted: sparse old minutes
    assert all(judge(*w).verdict == "no_leak" for w in workers)
    t, total = family_total(head, workers)
    verdict = judge(t, total)
    assert verdict.verdict == "leak", verdict.reasons
    assert abs(verdict.rate_bytes_per_s - 4 * 700) < 400


# -- Families judged by the monitor (toptui/analysis/families.py) --------------------------------

KIB = 1024
PAGE = 4096

Shape = Callable[[int], int]  # RES at sample i


class Tree:
    """A fake source: processes (pid, ppid, name, RES shape), one sample per ``dt`` seconds.

    ``alive(pid, i)`` says whether a process is there at sample i (all are, by default). Rows
    that did not move are the same objects, as the real sampler hands them back."""

    live = False

    def __init__(self, procs: list[tuple[int, int, str, Shape]], dt: float = 1.0,
                 alive: Callable[[int, int], bool] | None = None) -> None:  # fmt: skip
        self.procs, self.dt, self.alive, self.i = procs, dt, alive, 0
        self.rows = {pid: replace(proc(pid, pid, res(0)), ppid=ppid, name=name)
                     for pid, ppid, name, res in procs}  # fmt: skip

    def sample(self) -> Snapshot:
        i, out = self.i, []
        for pid, _, _, res in self.procs:
            if self.alive is not None and not self.alive(pid, i):
                continue
            row, value = self.rows[pid], res(i) // PAGE * PAGE
            if row.res != value:
                row = self.rows[pid] = replace(row, res=value)
            out.append(row)
        self.i += 1
        return Snapshot(1000.0 + i * self.dt, 0.0, self.dt, SYSTEM, tuple(out))


def monitor_for(source: Tree, families: bool = True) -> Monitor:
    mon = Monitor(source, interval_s=source.dt, history_s=3600,
                  judge_every_s=max(0.5, min(5.0, source.dt)))  # fmt: skip
    mon.judge_budget_s = float("inf")  # no CPU budget: what is judged depends on samples only
    mon.families = families
    return mon


def tmux(leak_kib_s: float | None, seed: int) -> list[tuple[int, int, str, Shape]]:
    """The issue's case: a 300 MB holder, an 80 MB sawtooth and (maybe) a leaker, all children
    of one tmux server (the holder and the sawtooth are test_verdict_state's healthy shapes)."""
    r = random.Random(seed)
    procs = [
        (1, 0, "systemd", lambda i: 8 * MIB),
        (400, 1, "tmux: server", lambda i: 10 * MIB),
        (410, 400, "holder", lambda i: 300 * MIB + r.randint(0, 32) * PAGE),
        (420, 400, "sawtooth", lambda i: int(50 * MIB + (i % 40) / 40 * 80 * MIB)),
        (500, 1, "sshd", lambda i: 12 * MIB),
    ]
    if leak_kib_s is not None:
        procs.append((430, 400, "leaker", lambda i: int(30 * MIB + leak_kib_s * KIB * i)))
    return procs


@pytest.mark.parametrize("switched_on_at", [0, 120])
@pytest.mark.parametrize("leak_kib_s", [230.0, 100.0])
def test_family_mode_never_names_a_family_leak_that_the_leaker_does_not_explain(
    switched_on_at: int, leak_kib_s: float
):
    """Family mode on from the first sample (or two minutes in): from its first named family on,
    every family it names is the leaker, or holds it with the leaker accounting for
    EXPLAINED_SHARE of the growth. Never the tmux family for its holder and sawtooth."""
    mon = monitor_for(Tree(tmux(leak_kib_s, seed=1)), families=False)
    leaker = (430, 430)
    first, tmux_growing, named_at = None, 0, []
    for i in range(600):
        if i == switched_on_at:
            mon.families = True
        frame = mon.step()
        if frame.families is None:
            continue
        tmux_growing += any(f.head == (400, 400) for f in frame.families)
        shown = named(frame.families)
        if shown and first is None:
            first = i
        if first is None:
            continue
        named_at.append(i)
        for f in shown:
            rate = f.verdict.rate_bytes_per_s
            assert f.head == leaker or (
                leaker in f.members and leak_kib_s * KIB >= EXPLAINED_SHARE * rate
            ), (i, f.name, f.verdict.verdict, rate, f.verdict.reasons)
    assert first is not None and first <= switched_on_at + 90
    assert [f.head for f in named(mon.last.families)] == [leaker]
    # Not trivially so: the tmux family was judged growing (its total holds the leak) all along.
    assert tmux_growing > 300


@pytest.mark.parametrize("seed", [1, 2])
def test_a_holder_and_a_sawtooth_under_tmux_are_never_named(seed: int):
    # (The sawtooth may show as rising for a moment, as a process: not a leak, not named.)
    mon = monitor_for(Tree(tmux(None, seed)))
    for _ in range(600):
        frame = mon.step()
        assert named(frame.families) == [], [
            (f.name, f.verdict.verdict, f.verdict.reasons) for f in frame.families
        ]


def pool(workers: int, rate: float, head: int = 300) -> list[tuple[int, int, str, Shape]]:
    return [(1, 0, "systemd", lambda i: 8 * MIB), (head, 1, "pool", lambda i: 50 * MIB)] + [
        (head + 1 + w, head, "pool-worker", lambda i: int(20 * MIB + rate * i))
        for w in range(workers)
    ]


def test_a_pool_family_is_rising_then_a_leak_that_holds():
    # Four workers keep 400 B/s each: none leaks alone, the family does; once flagged, its
    # verdict holds at every sample (the state machine's rules, as for a process).
    mon = monitor_for(Tree(pool(4, 400.0)))
    words = []
    for _ in range(1200):
        frame = mon.step()
        fam = [f for f in frame.families if f.head == (300, 300)]
        words.append(fam[0].verdict.verdict if fam else "-")
        assert all(f.size == 0 for f in frame.families if f.head != (300, 300))  # no worker
    first = words.index("leak")
    assert "rising" in words[:first]
    assert set(words[first:]) == {"leak"}
    (f,) = named(mon.last.families)
    assert f.members == ((300, 300), *((301 + w, 301 + w) for w in range(4)))
    assert f.size == 4 and f.res == 50 * MIB + sum(mon.last.snapshot.procs[2 + w].res
                                                   for w in range(4))  # fmt: skip
    assert abs(f.verdict.rate_bytes_per_s - 1600) < 400
    assert len(f.times) == len(f.total) > 0  # the family's series, for the sparkline


@pytest.mark.parametrize("starts", [(0, 0, 0), (0, 20, 40)])
def test_a_pool_of_leaking_workers_is_named_as_the_pool_and_stays_so(starts):
    # Each worker leaks on its own too (the third one maybe 40 s after the first): once two of
    # them are leaks the pool is named, and from then on it is named alone at every sample.
    procs = pool(0, 0.0) + [
        (301 + w, 300, "pool-worker", lambda i, s=s: int(20 * MIB + 300 * KIB * max(0, i - s)))
        for w, s in enumerate(starts)
    ]
    mon = monitor_for(Tree(procs))
    first = None
    for i in range(300):
        shown = [f.head for f in named(mon.step().families, rising=True)]
        if first is None and shown == [(300, 300)]:
            first = i
        if first is not None:
            assert shown == [(300, 300)], i
    assert first is not None and first <= 60


def test_families_are_judged_every_5_s_of_sample_time_whatever_the_interval():
    # At the first sample 5 s after the last sweep, less half an interval for jitter (as the
    # monitor schedules a process's judgements).
    for dt in (0.5, 1.0, 2.0):
        mon = monitor_for(Tree(pool(2, 4096.0), dt=dt))
        judge_ = mon._family_judge
        assert judge_ is not None
        at = []
        for _ in range(int(120 / dt)):
            before = judge_.sweeps
            frame = mon.step()
            if judge_.sweeps > before:
                at.append(frame.snapshot.t_mono)
        gaps = {round(b - a, 6) for a, b in pairwise(at)}
        assert at[0] == 1000.0 and gaps == {dt * -(-(FAMILY_EVERY_S - dt / 2) // dt)}, (dt, gaps)


def test_switching_family_mode_off_drops_the_family_state():
    mon = monitor_for(Tree(pool(4, 4096.0)))
    for _ in range(120):
        mon.step()
    judge_ = mon._family_judge
    assert judge_ is not None and len(judge_) == 1 and mon.last.families
    gone = weakref.ref(judge_)
    del judge_
    mon.families = False
    frame = mon.step()
    assert frame.families is None and not mon.families
    del frame
    mon.last = None
    gc.collect()
    assert gone() is None  # nothing holds the states, the series or the verdicts any more
    mon.families = True  # on again: from nothing
    assert mon._family_judge is not None and len(mon._family_judge) == 0


def test_family_state_is_dropped_when_heads_exit_and_stays_bounded_under_churn():
    # Twelve short-lived pools, four alive at a time, each a head with two growing workers: the
    # state held never exceeds the families alive, and goes when they go.
    pools = [(1, 0, "systemd", lambda i: 8 * MIB)]
    pools += [p for n in range(12) for p in pool(2, 8192.0, head=1000 + 10 * n)[1:]]

    def alive(pid: int, i: int) -> bool:
        n = (pid - 1000) // 10
        return pid == 1 or 60 * n <= i < 60 * n + 240  # each lives 4 minutes, one a minute

    mon = monitor_for(Tree(pools, alive=alive))
    judge_ = mon._family_judge
    assert judge_ is not None
    most = 0
    for _ in range(60 * 12 + 300):
        frame = mon.step()
        alive_now = {p.key for p in frame.snapshot.procs}
        heads = {p.key for p in frame.snapshot.procs if p.ppid == 1}
        assert set(judge_.states) <= heads and set(judge_._rests) <= heads
        assert {f.head for f in frame.families} <= alive_now
        most = max(most, len(judge_.states))
    assert most == 4
    assert len(judge_) == 0 and not judge_._growing and not judge_._rests
    assert mon.last.families == ()


def test_toptuis_own_growth_does_not_flag_its_parents_family():
    # toptui (1001 here) grows while its history fills; its shell's family must not leak for it.
    procs = [
        (1, 0, "systemd", lambda i: 8 * MIB),
        (500, 1, "bash", lambda i: 5 * MIB),
        (1001, 500, "toptui", lambda i: int(30 * MIB + 300 * KIB * i)),
    ]
    heads = []
    for own in (None, 1001):
        mon = Monitor(Tree(procs), interval_s=1.0, judge_every_s=1.0)
        mon.own_pid = own
        mon.families = True
        for _ in range(120):
            mon.step()
        heads.append({f.head[0] for f in mon.last.families})
    assert 500 in heads[0]
    assert 500 not in heads[1]


def _fam(head: int, members: list[int], rate: float, verdict: str = "leak", by=()):
    v = GrowthVerdict(verdict, rate, rate * 100, 100.0, 100, 1.0, 0.0, None, ())
    keys = tuple((pid, pid) for pid in (head, *members))
    return FamilyVerdict((head, head), f"p{head}", keys, 0, v,
                         explained_by=tuple((pid, pid) for pid in by))  # fmt: skip


def test_named_picks_the_smallest_family_that_explains_the_growth():
    leaker = _fam(1001, [], 700 * KIB)
    bash = _fam(500, [1001], 720 * KIB)
    tmux_ = _fam(400, [500, 501, 1001], 750 * KIB)
    pool_ = _fam(300, [301, 302], 600 * KIB)  # two workers, neither explains it
    worker = _fam(301, [], 300 * KIB)
    assert named([leaker, bash, tmux_, pool_, worker]) == [leaker, pool_]
    # Without what grows inside it the rest of the family is no leak: explained by that, whatever
    # the rates say; named only if two of those are leaks (a pool of leakers).
    early = _fam(400, [410, 420, 1001], 1000 * KIB, by=[420, 1001])
    sawtooth = _fam(420, [], 800 * KIB, verdict="rising")
    rising = _fam(1001, [], 230 * KIB, verdict="rising")
    assert named([early, sawtooth, rising]) == []
    assert named([early, sawtooth, rising], rising=True) == []  # inside a leak: not listed
    assert named([sawtooth, rising], rising=True) == [sawtooth, rising]
    flagged = _fam(1001, [], 230 * KIB)
    assert named([early, sawtooth, flagged]) == [flagged]
    assert named([early, _fam(420, [], 600 * KIB), flagged]) == [early]  # two leakers
    # The table's filters: a filtered-out process explains nothing.
    assert named([leaker, bash, tmux_], keep=lambda k: k[0] != 1001) == [bash]
    assert named([early, sawtooth, flagged], keep=lambda k: k[0] != 1001) == [early]


def _pool_recording(path, seconds: int = 600) -> None:
    """A recording (format 2, with parent pids) of a pool: a flat head (pid 10) and sixteen
    20 MiB workers that each keep 800 B/s, too little to flag alone; and a flat lone process."""
    from toptui.store.recording import Recorder

    with Recorder(path) as rec:
        for i in range(seconds):
            head = proc(10, 1, 50 * MIB)
            workers = [replace(proc(100 + w, 2, 20 * MIB + 800 * i), ppid=10) for w in range(16)]
            lone = proc(99, 1, 80 * MIB)
            rec.record(Snapshot(float(i), float(i), 1.0, SYSTEM, (head, *workers, lone)))


def test_analyze_judges_the_families_of_a_recording_that_keeps_parent_pids(tmp_path, capsys):
    import json

    from toptui.commands import analyze

    path = tmp_path / "pool.csv"
    _pool_recording(path)
    assert analyze.main([str(path), "--format", "json", "--families"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    series = [o for o in lines if "family" not in o]
    assert len(series) == 18 and not any(o["verdict"] == "leak" for o in series)
    families = [o["family"] for o in lines if "family" in o]
    assert len(families) == 1, families
    pool = families[0]
    assert pool["root"] == 10 and pool["name"] == "p10" and pool["verdict"] == "leak"
    assert pool["members"] == [10, *range(100, 116)]
    assert abs(pool["rate_bytes_per_s"] - 16 * 800) < 2048
    assert pool["res"] == 50 * MIB + 16 * (20 * MIB + 800 * 599)
    # without --families the output is the series alone, as before
    assert analyze.main([str(path), "--format", "json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 18


def test_analyze_says_a_recording_without_parent_pids_has_no_families(tmp_path, capsys):
    from toptui.commands import analyze

    path = tmp_path / "pool.csv"
    _pool_recording(path, seconds=120)
    rows = list(csv.reader(path.read_text().splitlines()))
    v1 = ["time", "pid", "create_time", "name", "rss", "vms", "shared", "cpu_percent"]
    at = [rows[0].index(name) for name in v1]  # format 1: no ppid column (nor anything later)
    with path.open("w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([[row[i] for i in at] for row in rows])
    assert analyze.main([str(path), "--families"]) == 0
    captured = capsys.readouterr()
    assert captured.err.strip().endswith("recorded without parent pids: no families")
    assert "family " not in captured.out
