"""Synthetic memory behaviour for an hour of history, generated tick by tick (nothing precomputed,
so the generator adds nothing to the RSS being measured).

``realistic`` is a busy server: most processes idle, some wiggling by a few pages, some breathing
with a garbage collector, a few leaking. ``worst`` has every process's RES, SHR and CPU change on
every tick, the most the history can be asked to keep.
"""

from __future__ import annotations

import random
from dataclasses import fields, replace

from toptui.model import ProcSample

PAGE = 4096
MIB = 1 << 20
_FIELDS = [f.name for f in fields(ProcSample)]
_RES, _SHR, _CPU = (_FIELDS.index(n) for n in ("res", "shr", "cpu_percent"))

# kind -> share of processes
MIXES: dict[str, dict[str, float]] = {
    "realistic": {"flat": 0.70, "wiggle": 0.20, "gc": 0.07, "leak": 0.03},
    "worst": {"noise": 1.0},
}


class Behaviour:
    """One process's RES over time; ``step`` returns a new sample only when something changed."""

    __slots__ = ("args", "base", "kind", "period", "rng", "sample")

    def __init__(self, kind: str, sample: ProcSample, seed: int, rng: random.Random) -> None:
        self.kind = kind
        self.rng = rng  # shared: one Random is ~5 KB, which would count in the RSS measured
        self.base = (8 + seed % 200) * MIB
        self.period = 20 + seed % 60
        self.sample = replace(sample, res=self.base, shr=self.base // 4, cpu_percent=0.0)
        self.args = [getattr(self.sample, name) for name in _FIELDS]  # positional: 3x faster

    def step(self, i: int) -> ProcSample:
        rng, base = self.rng, self.base
        kind = self.kind
        if kind == "flat":
            return self.sample  # the sampler hands over the same object for an idle process
        if kind == "wiggle":
            if rng.random() > 0.1:
                return self.sample
            res = base + rng.randrange(-8, 8) * PAGE
            cpu = rng.choice((0.0, 0.0, 0.1))
        elif kind == "gc":
            res = base + (i % self.period) * MIB // 4 + rng.randrange(0, 64) * PAGE
            cpu = rng.uniform(0.0, 5.0)
        elif kind == "leak":
            res = base + i * 3 * PAGE + rng.randrange(0, 128) * PAGE
            cpu = rng.uniform(0.0, 2.0)
        else:  # noise
            res = base + rng.randrange(0, 2048) * PAGE
            cpu = rng.uniform(0.0, 10.0)
        args = self.args
        args[_RES], args[_SHR], args[_CPU] = res, res // 4 + rng.randrange(4) * PAGE, round(cpu, 1)
        self.sample = ProcSample(*args)
        return self.sample


def behaviours(samples: list[ProcSample], mix: str, seed: int = 1) -> list[Behaviour]:
    """Assign kinds in the mix's proportions, deterministically."""
    shares = MIXES[mix]
    kinds: list[str] = []
    for kind, share in shares.items():
        kinds += [kind] * round(share * len(samples))
    kinds = (kinds + ["flat"] * len(samples))[: len(samples)]
    rng = random.Random(seed)
    rng.shuffle(kinds)
    pairs = enumerate(zip(kinds, samples, strict=True))
    return [Behaviour(k, s, i, rng) for i, (k, s) in pairs]
