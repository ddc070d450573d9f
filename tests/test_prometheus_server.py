"""A real Prometheus (Debian's ``prometheus`` package) scraping a real ``toptui serve`` beside a
real leaking child: the leak metric reaches 1 in Prometheus's own HTTP API, the rate matches the
child's real rate, and toptui's alert rules load and go pending, then firing. And Prometheus
scraping over HTTPS with basic auth, as the README's scrape config says.

Every wait is on an event (an answer from the API) with a generous limit; nothing is asserted
about how long it took. The timings are printed (``pytest -s``) for the README."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from children import WAIT_S, spawn_leaker, statm_bytes, wait_until
from conftest import ROOT, prometheus_tool
from test_cgroup import memory_cgroup, move_into
from test_serve import _self_signed, served

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")

MIB = 1024 * 1024
# Prometheus scrapes and evaluates the rules this often: short, so the test ends soon.
SCRAPE_S = 1
# The test copy of the rules waits this long instead of the real rules' 5 minutes.
TEST_FOR = "5s"
# The leaking child's rate, MiB/s, and the cgroup limit it runs under where one can be made:
# far below MemAvailable, so its time to OOM is the cgroup's (under an hour: the alert fires).
LEAK_MIB_PER_S = 1.0
CGROUP_LIMIT_BYTES = 1024 * MIB
# A time to OOM this far beyond the alert's hour is sure not to fall under it during the test.
FAR_S = 2 * 3600.0
# How far toptui's rate may be from the child's real one (issue 16).
RATE_TOLERANCE = 0.20
# Generous: the detector needs 45 s of history and 10 s of confirmation before a leak, and a
# loaded machine only delays it.
LEAK_WAIT_S = 4 * WAIT_S


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    """A Prometheus server on a free loopback port with its own config and storage in ``home``."""

    def __init__(self, home: Path, config: str) -> None:
        self.home = home
        (home / "prometheus.yml").write_text(config)
        self.log = home / "prometheus.log"
        self.proc: subprocess.Popen[bytes] | None = None
        for _ in range(3):  # a free port taken by someone else meanwhile: try another
            self.port = free_port()
            with self.log.open("wb") as log:
                self.proc = subprocess.Popen(
                    [prometheus_tool("prometheus"), f"--config.file={home / 'prometheus.yml'}",
                     f"--storage.tsdb.path={home / 'data'}",
                     f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                )  # fmt: skip
            wait_until(lambda: self.proc.poll() is not None or self.ready(),
                       "prometheus ready")  # fmt: skip
            if self.proc.poll() is None:
                return
        raise AssertionError(f"prometheus did not start: {self.log.read_text()[-2000:]}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=WAIT_S) as r:
                return r.status == 200
        except (urllib.error.URLError, ConnectionError, OSError):
            return False

    def api(self, path: str, **params: str) -> object:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=WAIT_S) as r:
            body = json.load(r)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, promql: str) -> list[dict]:
        data = self.api("query", query=promql)
        assert isinstance(data, dict) and data["resultType"] == "vector", data
        return data["result"]

    def alerts(self, name: str) -> list[dict]:
        data = self.api("alerts")
        assert isinstance(data, dict)
        return [a for a in data["alerts"] if a["labels"]["alertname"] == name]

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=WAIT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=WAIT_S)


@contextlib.contextmanager
def prometheus(home: Path, config: str) -> Iterator[Prometheus]:
    server = Prometheus(home, config)
    try:
        yield server
    finally:
        server.close()


def _config(target: str, rules: Path | None = None, extra: str = "") -> str:
    rule_files = f"rule_files: [{json.dumps(str(rules))}]\n" if rules is not None else ""
    return (
        f"global: {{scrape_interval: {SCRAPE_S}s, evaluation_interval: {SCRAPE_S}s}}\n"
        f"{rule_files}"
        "scrape_configs:\n"
        f"  - job_name: toptui\n{extra}"
        f"    static_configs: [{{targets: [{json.dumps(target)}]}}]\n"
    )


def _test_rules(tmp_path: Path) -> Path:
    """contrib/prometheus's rules, their for: shortened to TEST_FOR."""
    text = (ROOT / "contrib" / "prometheus" / "toptui-alerts.yml").read_text()
    assert text.count("for: 5m") == 2, "the rules' for: changed: update this test"
    rules = tmp_path / "toptui-alerts.yml"
    rules.write_text(text.replace("for: 5m", f"for: {TEST_FOR}"))
    return rules


def _target(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc


@pytest.mark.slow
def test_a_real_prometheus_sees_the_leak_its_rate_and_the_alerts(tmp_path):
    prometheus_tool("prometheus")  # skip (or fail in CI) before starting anything
    marks: dict[str, float] = {}
    t0 = time.monotonic()
    leaker = spawn_leaker(LEAK_MIB_PER_S)
    try:
        with memory_cgroup(CGROUP_LIMIT_BYTES, required=False) as group:
            if group is not None:
                move_into(group, leaker.pid)
            try:
                _leak_seen_by_prometheus(tmp_path, leaker.pid, group is not None, marks, t0)
            finally:
                leaker.kill()
                leaker.wait(timeout=WAIT_S)
    finally:
        if leaker.poll() is None:
            leaker.kill()
            leaker.wait(timeout=WAIT_S)
        if leaker.stdout is not None:
            leaker.stdout.close()
    print("\nintegration timings (s from the leaker's start): "
          + ", ".join(f"{k} {v:.1f}" for k, v in marks.items()))  # fmt: skip


def _leak_seen_by_prometheus(
    tmp_path: Path, pid: int, in_cgroup: bool, marks: dict[str, float], t0: float
) -> None:
    def mark(what: str) -> None:
        marks[what] = time.monotonic() - t0

    with served("-d", "0.5", "-p", str(pid)) as s:
        mark("serving")
        rules = _test_rules(tmp_path)
        with prometheus(tmp_path, _config(_target(s.url), rules)) as prom:
            mark("prometheus ready")
            # The rules loaded, both of them, healthy.
            groups = prom.api("rules")["groups"]  # type: ignore[index]
            loaded = {r["name"]: r for g in groups for r in g["rules"]}
            assert set(loaded) == {"ProcessMemoryLeak", "ProcessMemoryExhaustionSoon"}
            wait_until(lambda: prom.query('up{job="toptui"} == 1'), "toptui scraped (up == 1)")
            mark("first scrape")
            seen: list[tuple[float, int]] = []  # (monotonic, RES) of the child, as it goes

            def leak_is_1() -> bool:
                seen.append((time.monotonic(), statm_bytes(pid)[1]))
                return bool(prom.query(f'toptui_process_leak{{pid="{pid}"}} == 1'))

            wait_until(leak_is_1, f"toptui_process_leak{{pid={pid}}} == 1 in Prometheus",
                       timeout=LEAK_WAIT_S)  # fmt: skip
            mark("leak == 1 in prometheus")
            # toptui's rate against the child's real one: RES from /proc/PID/statm over the
            # last half minute (or as long as the test watched).
            now_t, now_res = time.monotonic(), statm_bytes(pid)[1]
            then_t, then_res = next(((t, r) for t, r in seen if t >= now_t - 30), seen[0])
            real = (now_res - then_res) / (now_t - then_t)
            [row] = prom.query(f'toptui_process_growth_bytes_per_second{{pid="{pid}"}}')
            rate = float(row["value"][1])
            print(f"\ntoptui's rate {rate / MIB:.3f} MiB/s, the child's real rate "
                  f"{real / MIB:.3f} MiB/s over {now_t - then_t:.0f} s")  # fmt: skip
            assert rate == pytest.approx(real, rel=RATE_TOLERANCE), (rate, real)
            assert row["metric"]["program"].endswith("-c")  # python3 -c, as toptui shows it
            [state] = prom.query(f'toptui_process_verdict_state{{pid="{pid}"}}')
            assert state["value"][1] == "3"
            if in_cgroup:  # else the tests' own cgroup may or may not have a tighter limit
                [room] = prom.query(f'toptui_process_memory_headroom_cgroup{{pid="{pid}"}}')
                assert room["value"][1] == "1"
            ratio = prom.query(
                f'toptui_process_memory_exhaustion_seconds{{pid="{pid}"}}'
                f' / on(pid, instance) (toptui_process_memory_headroom_bytes{{pid="{pid}"}}'
                f' / on(pid, instance) toptui_process_growth_bytes_per_second{{pid="{pid}"}})'
            )
            assert float(ratio[0]["value"][1]) == pytest.approx(1.0, rel=1e-6)
            [eta] = prom.query(f'toptui_process_memory_exhaustion_seconds{{pid="{pid}"}}')

            def alert_in(name: str, state: str) -> dict | None:
                for a in prom.alerts(name):
                    if a["labels"]["pid"] == str(pid) and a["state"] in state:
                        return a
                return None

            wait_until(lambda: alert_in("ProcessMemoryLeak", "pending firing"),
                       "ProcessMemoryLeak pending")  # fmt: skip
            mark("ProcessMemoryLeak pending")
            wait_until(lambda: alert_in("ProcessMemoryLeak", "firing"), "ProcessMemoryLeak firing",
                       timeout=LEAK_WAIT_S)  # fmt: skip
            mark("ProcessMemoryLeak firing")
            groups = prom.api("rules")["groups"]  # type: ignore[index]
            health = {r["name"]: (r["health"], r.get("lastError")) for g in groups
                      for r in g["rules"]}  # fmt: skip
            assert all(h == "ok" for h, _ in health.values()), health  # evaluated, no error
            firing = alert_in("ProcessMemoryLeak", "firing")
            assert firing is not None and firing["labels"]["severity"] == "warning"
            assert f"pid {pid}," in firing["annotations"]["summary"]
            assert "B/s" in firing["annotations"]["description"]
            if in_cgroup:  # 1 GiB at 1 MiB/s: out of memory well within the hour
                wait_until(lambda: alert_in("ProcessMemoryExhaustionSoon", "firing"),
                           "ProcessMemoryExhaustionSoon firing", timeout=LEAK_WAIT_S)  # fmt: skip
                mark("ProcessMemoryExhaustionSoon firing")
                soon = alert_in("ProcessMemoryExhaustionSoon", "firing")
                assert soon is not None and soon["labels"]["severity"] == "critical"
                assert "cgroup's memory limit" in soon["annotations"]["description"]
            elif float(eta["value"][1]) > FAR_S:  # hours away: never the alert
                assert alert_in("ProcessMemoryExhaustionSoon", "pending firing") is None
        mark("prometheus stopped")
        assert s.stop() == 0


def test_a_real_prometheus_scrapes_over_https_with_basic_auth(tmp_path):
    prometheus_tool("prometheus")
    cert, key = _self_signed(tmp_path)
    auth = tmp_path / "auth"
    auth.write_text("prometheus:s3cret\n")
    auth.chmod(0o600)
    password = tmp_path / "password"
    password.write_text("s3cret")
    wrong = tmp_path / "wrong"
    wrong.write_text("guess")
    with served("-d", "0.5", "--tls-cert", str(cert), "--tls-key", str(key),
                "--basic-auth-file", str(auth), scheme="https") as s:  # fmt: skip
        target = _target(s.url)
        secure = (f"    scheme: https\n    tls_config: {{ca_file: {json.dumps(str(cert))}}}\n"
                  "    basic_auth: {username: prometheus, password_file: %s}\n")  # fmt: skip
        config = _config(target, extra=secure % json.dumps(str(password)))
        config += "  - job_name: wrong-password\n" + secure % json.dumps(str(wrong))
        config += f"    static_configs: [{{targets: [{json.dumps(target)}]}}]\n"
        with prometheus(tmp_path, config) as prom:
            wait_until(lambda: prom.query('up{job="toptui"} == 1'), "scraped over HTTPS")
            assert prom.query('toptui_build_info{job="toptui"}')
            assert prom.query('toptui_processes{job="toptui"} > 0')

            def refused() -> str | None:
                targets = prom.api("targets")["activeTargets"]  # type: ignore[index]
                for t in targets:
                    if t["labels"]["job"] == "wrong-password" and t["health"] == "down":
                        return t["lastError"]
                return None

            wait_until(refused, "the wrong password's scrape refused")
            assert "401" in (refused() or "")
            assert not prom.query('toptui_build_info{job="wrong-password"}')
        # The same server refuses a client that does not trust its certificate.
        with pytest.raises((ssl.SSLError, urllib.error.URLError)):
            token = base64.b64encode(b"prometheus:s3cret").decode()
            req = urllib.request.Request(s.url, headers={"Authorization": f"Basic {token}"})
            urllib.request.urlopen(req, timeout=WAIT_S, context=ssl.create_default_context())
        assert s.stop() == 0
