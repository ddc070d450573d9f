"""toptui serve's metrics, on synthetic series: a Monitor fed by a fake source, its frames through
the collector, the scrape parsed back with prometheus-client's own parser. No sockets, no
clock; plus the pieces of the service that need no network (auth, listen address, policy)."""

from __future__ import annotations

import base64
import re
from dataclasses import replace

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from test_history import SYSTEM, proc

from toptui.commands.exporter import STATE_NUMBER, FrameCollector, Selection
from toptui.commands.serve import (
    BasicAuth,
    UsageError,
    build_parser,
    configure,
    listen_address,
    web_app,
)
from toptui.engine.monitor import Monitor
from toptui.model import ProcSample, Snapshot

MIB = 1024 * 1024


class FakeSource:
    """RES per process and tick, ``res(pid, tick)``; one sample a second from t=1000."""

    live = False
    extras_for: frozenset = frozenset()

    def __init__(self, rows: list[ProcSample], res) -> None:
        self.rows, self.res, self.tick = {p.pid: p for p in rows}, res, 0

    def sample(self) -> Snapshot:
        procs = []
        for pid, row in self.rows.items():
            value = self.res(pid, self.tick)
            if row.res != value:
                row = self.rows[pid] = replace(row, res=value)
            procs.append(row)
        snap = Snapshot(1000.0 + self.tick, 1_700_000_000.0 + self.tick, 1.0, SYSTEM, tuple(procs))
        self.tick += 1
        return snap


def named(pid: int, name: str, user: str = "u", program: str = "") -> ProcSample:
    return replace(proc(pid, pid, MIB), name=name, user=user, program=program,
                   create_time=1_600_000_000.0 + pid)  # fmt: skip


def scrape(collector: FrameCollector) -> dict[str, list]:
    """Every sample of a scrape, by metric family name (as Prometheus would read it)."""
    registry = CollectorRegistry()
    registry.register(collector)
    text = generate_latest(registry).decode()
    out: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        out[family.name] = list(family.samples)
    return out


def by_pid(samples: list) -> dict[int, float]:
    return {int(s.labels["pid"]): s.value for s in samples}


def run(source: FakeSource, ticks: int, collector: FrameCollector) -> Monitor:
    mon = Monitor(source, interval_s=1.0, history_s=600.0, judge_every_s=1.0)
    mon.judge_budget_s = float("inf")
    for _ in range(ticks):
        collector.publish(mon.step(), 0.004)
    return mon


def test_a_leaking_series_reads_leak_1_and_state_3_and_a_flat_one_0_and_1():
    def res(pid: int, i: int) -> int:
        return 50 * MIB + (i * 256 * 1024 if pid == 7 else 0)  # pid 7 leaks 256 KiB/s

    source = FakeSource([named(6, "flat"), named(7, "leaker", program="python3 leak.py")], res)
    collector = FrameCollector(Selection(top=10), interval_s=1.0)
    run(source, 180, collector)
    m = scrape(collector)
    assert by_pid(m["toptui_process_leak"]) == {6: 0.0, 7: 1.0}
    assert by_pid(m["toptui_process_verdict_state"]) == {6: STATE_NUMBER["no_leak"], 7: 3.0}
    rate = by_pid(m["toptui_process_growth_bytes_per_second"])[7]
    assert rate == pytest.approx(256 * 1024, rel=0.05)
    # Seconds until MemAvailable runs out at that rate: for the leak only.
    eta = by_pid(m["toptui_process_memory_exhaustion_seconds"])
    assert set(eta) == {7}
    assert eta[7] == pytest.approx(SYSTEM.memory.available / rate, rel=1e-6)
    resident = by_pid(m["toptui_process_resident_memory_bytes"])
    assert resident == {6: 50 * MIB, 7: 50 * MIB + 179 * 256 * 1024}
    assert by_pid(m["toptui_process_start_time_seconds"]) == {6: 1_600_000_006.0,
                                                              7: 1_600_000_007.0}  # fmt: skip
    leaker = next(s for s in m["toptui_process_leak"] if s.labels["pid"] == "7")
    assert leaker.labels == {"pid": "7", "name": "leaker", "program": "python3 leak.py",
                             "user": "u"}  # fmt: skip
    assert m["toptui_samples"][0].value == 180
    assert m["toptui_processes"][0].value == 2
    assert m["toptui_sample_duration_seconds"][0].value == 0.004  # as published by the runner
    assert m["toptui_sampling_interval_seconds"][0].value == 1.0
    assert m["toptui_memory_available_bytes"][0].value == SYSTEM.memory.available
    assert m["toptui_build_info"][0].labels["version"]


def test_before_the_first_sample_only_toptuis_own_figures_are_there():
    m = scrape(FrameCollector())
    assert m["toptui_samples"][0].value == 0
    assert m["toptui_build_info"][0].value == 1
    assert not any(name.startswith("toptui_process_") for name in m)


def test_at_most_top_n_by_res_plus_every_leak_are_exported():
    pids = list(range(1, 31))

    def res(pid: int, i: int) -> int:
        if pid == 30:  # the smallest process, and a leak
            return MIB + i * 256 * 1024
        return (100 + pid) * MIB

    source = FakeSource([named(pid, f"p{pid}") for pid in pids], res)
    collector = FrameCollector(Selection(top=5))
    run(source, 30, collector)
    m = scrape(collector)
    assert set(by_pid(m["toptui_process_resident_memory_bytes"])) == {25, 26, 27, 28, 29}
    assert m["toptui_exported_processes"][0].value == 5
    run_on = 150  # the small one becomes a leak: exported beside the five largest
    mon = Monitor(source, interval_s=1.0, history_s=600.0, judge_every_s=1.0)
    mon.judge_budget_s = float("inf")
    for _ in range(run_on):
        collector.publish(mon.step(), 0.0)
    m = scrape(collector)
    assert set(by_pid(m["toptui_process_resident_memory_bytes"])) == {25, 26, 27, 28, 29, 30}
    assert by_pid(m["toptui_process_leak"])[30] == 1
    for family in ("toptui_process_leak", "toptui_process_verdict_state",
                   "toptui_process_start_time_seconds"):  # fmt: skip
        assert len(m[family]) == 6


def test_include_and_exclude_match_name_program_or_user():
    rows = [
        named(1, "postgres", user="postgres"),
        named(2, "python3", program="python3 app.py"),
        named(3, "nginx", user="www-data"),
        named(4, "python3", program="python3 -c"),
    ]
    source = FakeSource(rows, lambda pid, i: (10 + pid) * MIB)

    def exported(**kw) -> set[int]:
        collector = FrameCollector(Selection(**kw))
        collector.publish(Monitor(source).ingest(source.sample()), 0.0)
        return set(by_pid(scrape(collector)["toptui_process_resident_memory_bytes"]))

    assert exported() == {1, 2, 3, 4}
    assert exported(include=(re.compile("app\\.py"),)) == {2}  # by program
    assert exported(include=(re.compile("^www"),)) == {3}  # by user
    assert exported(include=(re.compile("^p"),), exclude=(re.compile("-c$"),)) == {1, 2}
    assert exported(exclude=(re.compile("python"),)) == {1, 3}
    assert exported(user="postgres") == {1}


def test_labels_stay_as_first_exported_while_a_process_is_exported():
    """A series must not change labels during a process's life: a new label set is a new series
    and restarts an alert's for:. A process that renames itself keeps its labels meanwhile."""
    source = FakeSource([named(5, "worker")], lambda pid, i: 20 * MIB)
    collector = FrameCollector()
    mon = Monitor(source)
    collector.publish(mon.ingest(source.sample()), 0.0)
    first = scrape(collector)["toptui_process_resident_memory_bytes"][0].labels
    source.rows[5] = replace(source.rows[5], name="renamed")
    collector.publish(mon.ingest(source.sample()), 0.0)
    assert scrape(collector)["toptui_process_resident_memory_bytes"][0].labels == first
    assert first["name"] == "worker"


def test_odd_names_are_escaped_by_the_library():
    rows = [named(1, 'a"b\\c\nd'), named(2, "x\udcff")]
    source = FakeSource(rows, lambda pid, i: MIB)
    collector = FrameCollector()
    collector.publish(Monitor(source).ingest(source.sample()), 0.0)
    names = {s.labels["name"] for s in scrape(collector)["toptui_process_resident_memory_bytes"]}
    assert names == {'a"b\\c\nd', "x\\udcff"}


# -- the service's pieces that need no network ---------------------------------------------------


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_basic_auth_file_and_check(tmp_path):
    f = tmp_path / "auth"
    f.write_text("# scrapers\nprometheus:s3cret:with:colons\n\nother:pw\n")
    f.chmod(0o600)
    auth = BasicAuth.load(str(f))
    assert auth.allows(basic("prometheus", "s3cret:with:colons"))
    assert auth.allows(basic("other", "pw"))
    for header in (None, "", basic("prometheus", "wrong"), basic("nobody", "pw"), "Basic !!!",
                   "Bearer abc", basic("other", "")):  # fmt: skip
        assert not auth.allows(header), header
    f.chmod(0o644)
    with pytest.raises(UsageError, match="readable by other users"):
        BasicAuth.load(str(f))
    f.chmod(0o640)  # by its group too
    with pytest.raises(UsageError, match="readable by other users; chmod go-r"):
        BasicAuth.load(str(f))
    f.chmod(0o600)
    f.write_text("no colon here\n")
    with pytest.raises(UsageError, match=":1: not USER:PASSWORD"):
        BasicAuth.load(str(f))
    with pytest.raises(UsageError, match="cannot read"):
        BasicAuth.load(str(tmp_path / "missing"))


def call(app, path: str = "/metrics", auth: str | None = None) -> tuple[str, bytes]:
    from wsgiref.util import setup_testing_defaults

    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET"}
    if auth is not None:
        environ["HTTP_AUTHORIZATION"] = auth
    setup_testing_defaults(environ)
    status = []
    body = b"".join(app(environ, lambda s, headers: status.append(s)))
    return status[0], body


def test_web_app_routes_and_asks_for_auth(tmp_path):
    def metrics(environ, start_response):
        start_response("200 OK", [])
        return [b"m 1\n"]

    f = tmp_path / "auth"
    f.write_text("p:pw\n")
    f.chmod(0o600)
    app = web_app(metrics, BasicAuth.load(str(f)))
    assert call(app)[0].startswith("401")
    assert call(app, "/", basic("p", "no"))[0].startswith("401")
    assert call(app, auth=basic("p", "pw")) == ("200 OK", b"m 1\n")
    assert call(app, "/", basic("p", "pw"))[0] == "200 OK"
    assert call(app, "/other", basic("p", "pw"))[0].startswith("404")
    assert call(web_app(metrics), "/metrics") == ("200 OK", b"m 1\n")


def test_listen_addresses():
    a = listen_address("127.0.0.1:9772")
    assert (a.address, a.port, a.loopback) == ("127.0.0.1", 9772, True)
    a = listen_address(":9772")
    assert (a.address, a.loopback) == ("0.0.0.0", False)
    assert listen_address("localhost:0").loopback
    import argparse

    for bad in ("9772", "127.0.0.1", "127.0.0.1:x", "127.0.0.1:70000", "::1:9772"):
        with pytest.raises(argparse.ArgumentTypeError):
            listen_address(bad)


def test_off_loopback_needs_auth_or_allow_remote(tmp_path):
    parser = build_parser()
    with pytest.raises(UsageError, match="off loopback"):
        configure(parser.parse_args(["--listen", ":9772"]))
    assert configure(parser.parse_args(["--listen", ":9772", "--allow-remote"])).warnings == ()
    f = tmp_path / "auth"
    f.write_text("p:pw\n")
    f.chmod(0o600)
    config = configure(parser.parse_args(["--listen", ":9772", "--basic-auth-file", str(f)]))
    assert config.auth is not None
    assert any("clear text" in w for w in config.warnings)  # basic auth without TLS: said once
    config = configure(parser.parse_args(["--basic-auth-file", str(f)]))  # loopback: no warning
    assert config.warnings == ()


def test_labels_are_kept_for_a_processs_life_even_when_it_drops_out_and_comes_back():
    """Out of the top N and back in, renamed meanwhile: still the labels it was first exported
    with (the same process, the same series); a new process on the same pid gets its own."""
    sizes = {1: 50 * MIB, 2: 10 * MIB}
    source = FakeSource([named(1, "big"), named(2, "small")], lambda pid, i: sizes[pid])
    collector = FrameCollector(Selection(top=1))
    mon = Monitor(source)

    def labels_of_2() -> dict | None:
        collector.publish(mon.ingest(source.sample()), 0.0)
        found = [s.labels for s in scrape(collector)["toptui_process_resident_memory_bytes"]
                 if s.labels["pid"] == "2"]  # fmt: skip
        return found[0] if found else None

    sizes[2] = 90 * MIB
    first = labels_of_2()
    assert first is not None and first["name"] == "small"
    sizes[2] = 10 * MIB
    source.rows[2] = replace(source.rows[2], name="renamed")
    assert labels_of_2() is None  # out of the top 1
    sizes[2] = 90 * MIB
    assert labels_of_2() == first  # back: the same labels
    source.rows[2] = replace(source.rows[2], key=(2, 99), create_time=1_700_000_500.0)  # reused
    assert labels_of_2()["name"] == "renamed"


def _cgroup_tree(tmp_path, pid_paths: dict[int, str], limits: dict[str, tuple[int, int]]):
    """A /proc and a cgroup v2 mount laid out as the kernel's: each pid's cgroup, and
    (memory.max, memory.current) per cgroup."""
    from toptui.sampling.cgroup import CgroupReader

    cg = tmp_path / "cg"
    for pid, path in pid_paths.items():
        (tmp_path / "proc" / str(pid)).mkdir(parents=True)
        (tmp_path / "proc" / str(pid) / "cgroup").write_text(f"0::{path}\n")
    for path, (limit, current) in limits.items():
        d = cg / path.strip("/")
        d.mkdir(parents=True, exist_ok=True)
        (d / "memory.max").write_text(f"{limit}\n")
        (d / "memory.current").write_text(f"{current}\n")
    mountinfo = f"30 20 0:40 / {cg} rw - cgroup2 cgroup2 rw\n"
    return CgroupReader(str(tmp_path / "proc"), mountinfo)


def test_time_to_oom_is_against_the_cgroup_limit_when_tighter_than_memavailable(tmp_path):
    """Leaker 7 is in a cgroup with 100 MiB of room (far under MemAvailable): its headroom and
    time to OOM are that room's; leaker 8's cgroup allows more than MemAvailable: MemAvailable."""

    def res(pid: int, i: int) -> int:
        return 50 * MIB + (i * 256 * 1024 if pid in (7, 8) else 0)

    huge = 4 * SYSTEM.memory.available
    cgroups = _cgroup_tree(
        tmp_path,
        {6: "/flat", 7: "/box", 8: "/roomy"},
        {"/box": (400 * MIB, 300 * MIB), "/roomy": (huge, MIB)},
    )
    source = FakeSource([named(6, "flat"), named(7, "boxed"), named(8, "roomy")], res)
    collector = FrameCollector(Selection(top=10), interval_s=1.0, cgroups=cgroups)
    run(source, 180, collector)
    m = scrape(collector)
    assert by_pid(m["toptui_process_leak"]) == {6: 0, 7: 1, 8: 1}
    room = by_pid(m["toptui_process_memory_headroom_bytes"])
    assert room == {6: SYSTEM.memory.available, 7: 100 * MIB, 8: SYSTEM.memory.available}
    assert by_pid(m["toptui_process_memory_headroom_cgroup"]) == {6: 0, 7: 1, 8: 0}
    rate = by_pid(m["toptui_process_growth_bytes_per_second"])
    eta = by_pid(m["toptui_process_memory_exhaustion_seconds"])
    assert set(eta) == {7, 8}
    assert eta[7] == pytest.approx(100 * MIB / rate[7], rel=1e-6)
    assert eta[8] == pytest.approx(SYSTEM.memory.available / rate[8], rel=1e-6)


def test_the_default_is_loopback_on_toptuis_own_port():
    from toptui.commands.serve import DEFAULT_PORT

    listen = configure(build_parser().parse_args([])).listen
    assert (listen.address, listen.port, listen.loopback) == ("127.0.0.1", 9772, True)
    assert DEFAULT_PORT == 9772  # documented in the README: changing it breaks scrape configs
    listen = configure(build_parser().parse_args(["--listen", "[::1]:9800"])).listen
    assert (listen.address, listen.port, listen.loopback) == ("::1", 9800, True)
