"""The monitor's judging schedule: quiet processes cost no detector runs, busy ones a bounded
slice of CPU per refresh, and neither changes what a verdict says."""

from dataclasses import replace

from test_history import SYSTEM, proc

from toptui.analysis.growth import judge
from toptui.engine.monitor import MAX_LAG_S, Monitor, collecting_verdict
from toptui.model import Snapshot

MIB = 1024 * 1024


class Script:
    """A sampler replaying RES per process and tick: ``res(pid, tick)``."""

    def __init__(self, pids: list[int], res) -> None:
        self.pids, self.res, self.tick = pids, res, 0
        self.rows = {pid: proc(pid, pid, MIB) for pid in pids}

    def sample(self) -> Snapshot:
        procs = []
        for pid in self.pids:
            value = self.res(pid, self.tick)
            row = self.rows[pid]
            if row.res != value:  # like the real sampler: the same object when nothing moved
                row = self.rows[pid] = replace(row, res=value)
            procs.append(row)
        snap = Snapshot(1000.0 + self.tick, 0.0, 1.0, SYSTEM, tuple(procs))
        self.tick += 1
        return snap


def run(script: Script, ticks: int, **kw) -> Monitor:
    mon = Monitor(script, interval_s=1.0, history_s=kw.pop("history_s", 600.0),
                  judge_every_s=kw.pop("judge_every_s", 5.0))  # fmt: skip
    for key, value in kw.items():
        setattr(mon, key, value)
    for _ in range(ticks):
        mon.step()
    return mon


def fresh(mon: Monitor, key):
    t, res = mon.history.res_series(key)
    return judge(t, res, available_bytes=float(SYSTEM.memory.available))


def test_quiet_processes_are_not_judged_again_but_their_verdicts_stay_true():
    # 40 idle processes and 10 that wiggle by a few pages; everybody due every tick.
    def res(pid: int, i: int) -> int:
        return (20 + pid) * MIB + (i % 3) * 4096 * (pid > 40)

    mon = run(Script(list(range(1, 51)), res), 120, judge_every_s=1.0)
    judged = mon.judged
    for _ in range(60):
        mon.step()
    assert mon.judged == judged  # a minute more: not one more detector run
    for key, v in mon.verdicts.items():
        s = mon.history.summary(key)
        assert v.verdict == fresh(mon, key).verdict == "no_leak"
        assert (v.samples, v.window_s) == (s.samples, s.window_s)  # refreshed all the same


def test_a_quiet_process_that_starts_leaking_is_judged_and_flagged():
    def res(pid: int, i: int) -> int:
        return 30 * MIB + (max(0, i - 100) * MIB if pid == 7 else 0)

    mon = run(Script([6, 7], res), 100)
    assert mon.verdicts[(7, 7)].verdict == "no_leak"
    for _ in range(120):
        mon.step()
    assert mon.verdicts[(7, 7)].verdict == "leak"
    assert mon.verdicts[(6, 6)].verdict == "no_leak"


def test_full_judgements_stop_at_the_budget_and_the_rest_wait_their_turn():
    # Every process moves by MiBs every tick: none is quiet.
    script = Script(list(range(1, 31)), lambda pid, i: (50 + (i + pid) % 7) * MIB)
    mon = run(script, 60, judge_budget_s=0.0)
    per_tick = []
    for _ in range(40):
        before = mon.judged
        mon.step(urgent=[(3, 3)])
        per_tick.append(mon.judged - before)
    # With no budget: the urgent process, plus the one that is always let through.
    assert max(per_tick) <= 2
    # Oldest due first: every process gets its turn, and none falls further behind than the lag
    # at which a postponed judgement jumps to the present.
    assert len(mon.verdicts) == 30
    lags = [mon.history.now - at for at in mon._due_at.values()]
    assert max(lags) <= MAX_LAG_S + 1


def test_without_pressure_every_process_is_judged_every_period():
    script = Script(list(range(1, 21)), lambda pid, i: (50 + (i + pid) % 7) * MIB)
    mon = run(script, 120)
    before = mon.judged
    for _ in range(10):
        mon.step()
    assert mon.judged - before == 2 * 20  # each once per 5 s
    for key, v in mon.verdicts.items():
        assert v.verdict == fresh(mon, key).verdict


def test_verdicts_do_not_depend_on_the_cpu_budget():
    """Judgements the budget postpones run later on the history as it was at their own sample:
    once caught up, a loaded monitor shows exactly what an idle one shows."""
    import random

    rng = random.Random(5)
    noise = {pid: [rng.randrange(0, 64) * 4096 for _ in range(700)] for pid in range(1, 6)}

    def res(pid: int, i: int) -> int:
        base = 100 * MIB + noise[pid][i]
        if pid == 1:  # a leak under a GC sawtooth
            return base + i * 150 * 1024 + (i % 70) * 300 * 1024
        if pid == 2:  # a warm-up that levels off
            return base + min(i, 200) * 400 * 1024
        if pid == 3:  # a slow leak in noise
            return base + i * 20 * 1024
        if pid == 4:  # a sawtooth
            return base + (i % 40) * MIB
        return base  # flat

    idle = Monitor(Script([1, 2, 3, 4, 5], res), interval_s=1.0, judge_every_s=1.0)
    loaded = Monitor(Script([1, 2, 3, 4, 5], res), interval_s=1.0, judge_every_s=1.0)
    idle.judge_budget_s = float("inf")
    compared = 0
    for tick in range(650):
        busy = tick % 9 < 4  # four ticks in nine: one judgement per tick, the rest postponed
        loaded.judge_budget_s = 0.0 if busy else float("inf")
        a, b = idle.step(), loaded.step()
        if not busy:
            assert {k: (v.verdict, v.rate_bytes_per_s) for k, v in a.verdicts.items()} == {
                k: (v.verdict, v.rate_bytes_per_s) for k, v in b.verdicts.items()
            }, tick
            compared += 1
    assert compared > 250
    assert {v.verdict for v in idle.verdicts.values()} >= {"leak", "no_leak"}


def test_what_the_schedule_keeps_per_process_goes_with_the_process():
    """Short-lived processes postponed at their first judgement and gone before it must not
    stay in the schedule (a serve running for months beside builds and cron jobs)."""
    mon = Monitor(None, interval_s=1.0, history_s=120.0, judge_every_s=1.0)  # type: ignore[arg-type]
    mon.judge_budget_s = 0.0  # every judgement past the first of a tick is postponed
    stable = [proc(pid, pid, 10 * MIB) for pid in range(2, 20)]
    born: dict[int, int] = {}
    sizes = []
    for tick in range(600):
        born = {pid: t for pid, t in born.items() if tick - t < 3}  # each lives 3 ticks
        for i in range(10):
            born[1000 + tick * 10 + i] = tick
        procs = stable + [proc(pid, pid, (5 + tick - t) * MIB) for pid, t in born.items()]
        mon.ingest(Snapshot(1000.0 + tick, 0.0, 1.0, SYSTEM, tuple(procs)))
        sizes.append(len(mon._due_at))
        assert len(mon._due_at) <= len(mon.history)
        assert len(mon._pinned) <= len(mon.history)
    assert max(sizes[300:]) <= max(sizes[100:300])  # bounded, not growing with the churn


def test_a_young_window_is_answered_as_the_detector_would_without_running_it():
    import random

    rng = random.Random(18)
    checked = 0
    for _ in range(3000):
        n = rng.choice([1, 2, 3, 4, 5, 10, 30, 46, 90])
        dt = rng.choice([0.1, 0.5, 1.0, 1.5, 4.9, 5.0, 20.0, 22.5, 23.0, 45.0])
        t0 = rng.uniform(0, 1e5)
        t = [t0]
        for _ in range(n - 1):
            t.append(t[-1] + dt * rng.uniform(0.9, 1.1))
        res = [rng.randrange(1, 1 << 34) for _ in range(n)]
        quick = collecting_verdict(t, res)
        if quick is not None:
            assert quick == judge(t, res), (t, res)
            checked += 1
        else:
            assert n >= 3 and t[-1] - t[0] >= 45.0
    assert checked > 1000
    # What judge would clean first goes to judge.
    assert collecting_verdict([1.0, 1.0, 2.0], [1, 2, 3]) is None
    assert collecting_verdict([1.0, float("nan"), 2.0], [1, 2, 3]) is None
    assert collecting_verdict([], []) is None


def test_young_processes_cost_no_detector_run_and_show_what_it_would_say():
    script = Script(list(range(1, 41)), lambda pid, i: (30 + pid + i % 5) * MIB)
    mon = run(script, 40, judge_every_s=1.0, judge_budget_s=0.0)
    assert mon.judged == 0
    for key, v in mon.verdicts.items():
        assert v == fresh(mon, key)
        assert v.verdict == "collecting"
    for _ in range(20):
        mon.step()
    assert mon.judged > 0


def test_the_young_shortcut_gives_every_verdict_the_full_path_gives():
    """Processes that come and go, miss ticks, move or stay flat: answered from the history's
    count and span (History.young) or from the whole series, every verdict is the same."""
    import random

    rng = random.Random(7)
    plan = {
        pid: (rng.randrange(0, 80), rng.randrange(20, 200), rng.random()) for pid in range(1, 40)
    }

    class Churn(Script):
        def sample(self) -> Snapshot:
            i = self.tick
            procs = []
            for pid, (born, life, moves) in plan.items():
                if not born <= i < born + life or (moves > 0.7 and i % 7 == 3):
                    continue  # not born yet, gone, or missing from this snapshot
                value = (20 + pid) * MIB + (rng.randrange(0, 3) * 2 * MIB if moves > 0.4 else 0)
                procs.append(replace(self.rows[pid], res=value))
            self.tick += 1
            return Snapshot(1000.0 + i * 0.5, 0.0, 0.5, SYSTEM, tuple(procs))

    fast = Monitor(Churn(list(plan), None), interval_s=0.5, history_s=60.0, judge_every_s=0.5)
    slow = Monitor(Churn(list(plan), None), interval_s=0.5, history_s=60.0, judge_every_s=0.5)
    slow.history.young = lambda *a: None  # every judgement through _judge
    fast.judge_budget_s = slow.judge_budget_s = float("inf")  # (a budget only delays verdicts)
    answered = []
    young = fast.history.young

    def counted(*a):
        found = young(*a)
        answered.append(found is not None)
        return found

    fast.history.young = counted
    state = rng.getstate()
    seen = set()
    for tick in range(400):
        rng.setstate(state)
        a = fast.step()
        rng.setstate(state)
        b = slow.step()
        state = rng.getstate()
        assert a.verdicts == b.verdicts, tick
        seen.update(v.verdict for v in a.verdicts.values())
        first = fast.history._first_tick()
        keys = fast.history.keys()
        for key in keys:  # the history's shortcut is its summary, inlined
            h = fast.history.get(key)
            found = h.young(first, 45.0)
            assert found is None or found == h.summary(first), (tick, key)
    assert sum(answered) > 1000 and not all(answered)
    assert seen >= {"collecting", "no_leak"}
