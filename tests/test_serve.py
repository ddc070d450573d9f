"""``toptui serve`` as a service runs: a real process beside real children that allocate and write
memory, scraped over HTTP (and HTTPS with basic auth) and parsed with prometheus-client's parser;
checked against /proc/PID/statm and, where Debian's prometheus package put promtool, linted by
Prometheus's own tool together with the example alert rules."""

from __future__ import annotations

import base64
import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from children import WAIT_S, MemoryChild, spawn_leaker, statm_bytes, wait_until
from conftest import IN_CI, ROOT, prometheus_tool
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024


class Served:
    """``toptui serve ARGS`` on a free port (loopback unless ``listen`` says otherwise; the
    requests go to 127.0.0.1 all the same); its stderr kept by a thread."""

    def __init__(self, *args: str, scheme: str = "http", listen: str = "127.0.0.1:0") -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "toptui", "serve", "--listen", listen, *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        wait_until(lambda: self.url or self.proc.poll() is not None, "toptui serve listening")
        assert self.url, f"exited {self.proc.poll()}: {self.lines}"
        assert self.printed is not None
        host = listen.rpartition(":")[0] or "0.0.0.0"
        assert self.printed.startswith(f"{scheme}://{host}:"), self.printed

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    @property
    def printed(self) -> str | None:
        """The URL serve said it serves at."""
        for line in self.lines:
            m = re.search(r"serving (\S+/metrics)$", line)
            if m:
                return m.group(1)
        return None

    @property
    def url(self) -> str | None:
        """Where to reach it: an every-interface address is reached on loopback."""
        printed = self.printed
        return None if printed is None else printed.replace("//0.0.0.0:", "//127.0.0.1:")

    def get(self, path: str | None = None, **kw) -> str:
        url = self.url if path is None else self.url.rsplit("/", 1)[0] + path
        with urllib.request.urlopen(urllib.request.Request(url, **kw), timeout=WAIT_S,
                                    context=self.context) as r:  # fmt: skip
            return r.read().decode()

    context: ssl.SSLContext | None = None

    def scrape(self, **kw) -> dict[str, list]:
        return {f.name: list(f.samples) for f in text_string_to_metric_families(self.get(**kw))}

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=WAIT_S)
        self._reader.join(timeout=WAIT_S)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        return rc

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.stop()


@contextlib.contextmanager
def served(*args: str, **kw) -> Iterator[Served]:
    s = Served(*args, **kw)
    try:
        yield s
    finally:
        s.close()


def of(samples: list, pid: int) -> list:
    return [s for s in samples if s.labels.get("pid") == str(pid)]


def value(m: dict[str, list], family: str, pid: int) -> float | None:
    found = of(m.get(family, []), pid)
    return found[0].value if found else None


def test_resident_bytes_match_statm_with_stable_labels_and_top_bound():
    with MemoryChild(start_mib=96) as big, MemoryChild(start_mib=48) as mid, \
            MemoryChild(start_mib=8) as small:  # fmt: skip
        pids = f"{big.pid},{mid.pid},{small.pid}"
        with served("-d", "0.2", "-p", pids, "--top", "2") as s:
            state: dict = {}

            def res_matches() -> bool:
                m = state["m"] = s.scrape()
                got = value(m, "toptui_process_resident_memory_bytes", big.pid)
                return got is not None and abs(got - statm_bytes(big.pid)[1]) <= PAGE

            wait_until(res_matches, "the big child's RES as in /proc/PID/statm")
            m = state["m"]
            # --top 2 of three: the two largest, nothing else.
            exported = {int(x.labels["pid"]) for x in m["toptui_process_resident_memory_bytes"]}
            assert exported == {big.pid, mid.pid}
            assert m["toptui_exported_processes"][0].value == 2
            assert m["toptui_processes"][0].value == 3
            labels = of(m["toptui_process_resident_memory_bytes"], big.pid)[0].labels
            comm = Path(f"/proc/{big.pid}/comm").read_text().strip()
            assert labels == {"pid": str(big.pid), "name": comm, "program": f"{comm} -c",
                              "user": pwd.getpwuid(os.getuid()).pw_name}  # fmt: skip
            start = value(m, "toptui_process_start_time_seconds", big.pid)
            assert start == pytest.approx(psutil.Process(big.pid).create_time(), abs=0.05)
            for family in ("toptui_process_shared_memory_bytes",
                           "toptui_process_virtual_memory_bytes", "toptui_process_swap_bytes",
                           "toptui_process_leak", "toptui_process_verdict_state"):  # fmt: skip
                assert [x.labels for x in of(m[family], big.pid)] == [labels], family
            virt, _, shr = statm_bytes(big.pid)
            assert value(m, "toptui_process_virtual_memory_bytes", big.pid) == virt
            assert abs(value(m, "toptui_process_shared_memory_bytes", big.pid) - shr) <= PAGE

            # Grown by 64 MiB: the new figure shows, under the same labels, same series.
            samples = m["toptui_samples"][0].value
            big.grow(64)
            wait_until(res_matches, "RES after growing 64 MiB")
            m = state["m"]
            assert m["toptui_samples"][0].value > samples
            assert value(m, "toptui_process_resident_memory_bytes", big.pid) >= 96 * MIB + 64 * MIB
            assert of(m["toptui_process_resident_memory_bytes"], big.pid)[0].labels == labels
            # The middle one drops out only when something outgrows it: still two.
            assert {int(x.labels["pid"]) for x in m["toptui_process_resident_memory_bytes"]} == {
                big.pid, mid.pid}  # fmt: skip
            assert s.get("/").startswith("<html>")
            with pytest.raises(urllib.error.HTTPError) as err:
                s.get("/nothing")
            assert err.value.code == 404
            assert s.stop() == 0  # SIGTERM: a clean exit
            assert not any("Traceback" in line for line in s.lines), s.lines


def test_the_whole_machine_stays_within_top_n_plus_leaks():
    with served("-d", "0.5", "--top", "3") as s:
        wait_until(lambda: "toptui_process_leak" in s.scrape(), "process series")
        for _ in range(3):
            m = s.scrape()
            series = m["toptui_process_resident_memory_bytes"]
            leaks = sum(1 for x in m["toptui_process_leak"] if x.value == 1)
            assert len(series) <= 3 + leaks
            assert m["toptui_processes"][0].value > len(series)
            assert len({x.labels["pid"] for x in series}) == len(series)
        assert s.stop(signal.SIGINT) == 0  # Ctrl+C ends a service cleanly too


@pytest.mark.slow
def test_a_real_leak_reads_leak_1_with_its_rate_and_passes_promtool():
    leaker = spawn_leaker(1.0)
    try:
        with MemoryChild(start_mib=40) as flat, \
                served("-d", "0.5", "-p", f"{leaker.pid},{flat.pid}") as s:  # fmt: skip
            state: dict = {}

            def flagged() -> bool:
                m = state["m"] = s.scrape()
                return value(m, "toptui_process_leak", leaker.pid) == 1

            wait_until(flagged, "toptui_process_leak == 1 for the leaker", timeout=3 * WAIT_S)
            m = state["m"]
            assert value(m, "toptui_process_verdict_state", leaker.pid) == 3
            assert value(m, "toptui_process_leak", flat.pid) == 0
            assert value(m, "toptui_process_verdict_state", flat.pid) in (0, 1)
            rate = value(m, "toptui_process_growth_bytes_per_second", leaker.pid)
            assert rate == pytest.approx(MIB, rel=0.35)
            # Against MemAvailable, or the room under the cgroup limit the tests run under.
            room = value(m, "toptui_process_memory_headroom_bytes", leaker.pid)
            if value(m, "toptui_process_memory_headroom_cgroup", leaker.pid) == 0:
                assert room == m["toptui_memory_available_bytes"][0].value
            eta = value(m, "toptui_process_memory_exhaustion_seconds", leaker.pid)
            assert eta == pytest.approx(room / rate, rel=1e-6)
            assert value(m, "toptui_process_memory_exhaustion_seconds", flat.pid) is None
            text = s.get()
    finally:
        leaker.kill()
        leaker.wait()
    if shutil.which("promtool") is None and not IN_CI:
        return  # the lint below is test_promtool_checks_a_scrape's when promtool is missing
    r = subprocess.run([prometheus_tool("promtool"), "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=WAIT_S)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr


def test_promtool_checks_a_scrape():
    tool = prometheus_tool("promtool")
    with MemoryChild(start_mib=8) as child, served("-d", "0.2", "-p", str(child.pid)) as s:
        wait_until(lambda: "toptui_process_leak" in s.scrape(), "process series")
        text = s.get()
    r = subprocess.run([tool, "check", "metrics"], input=text, capture_output=True, text=True,
                       timeout=WAIT_S)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr


# What Prometheus 2.x asks for (scrape/scrape.go).
PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                     "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")  # fmt: skip


def test_utf8_names_allowed_only_adds_to_openmetrics_types_naming_no_escaping():
    from toptui.commands.serve import utf8_names_allowed

    assert utf8_names_allowed(PROMETHEUS_ACCEPT) == PROMETHEUS_ACCEPT.replace(
        "version=1.0.0,", "version=1.0.0;escaping=allow-utf-8,"
    ).replace("q=0.75,", "q=0.75;escaping=allow-utf-8,")
    for kept in ("text/plain;version=0.0.4", "*/*",
                 "application/openmetrics-text;version=1.0.0;escaping=underscores"):  # fmt: skip
        assert utf8_names_allowed(kept) == kept


def test_an_openmetrics_scrape_has_the_text_scrape_s_series():
    """Prometheus asks for OpenMetrics; serve answers it with the same series as in the text
    format (every name a legacy one, unescaped), and a body OpenMetrics' parser reads whole."""
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse

    with MemoryChild(start_mib=8) as child, served("-d", "0.2", "-p", str(child.pid)) as s:
        wait_until(lambda: "toptui_process_leak" in s.scrape(), "process series")
        req = urllib.request.Request(s.url, headers={"Accept": PROMETHEUS_ACCEPT})
        with urllib.request.urlopen(req, timeout=WAIT_S) as r:
            kind, body = r.headers["Content-Type"], r.read().decode()
        text = s.scrape()
    assert kind.startswith("application/openmetrics-text; version=1.0.0"), kind
    assert body.endswith("# EOF\n")
    families = {f.name: f for f in om_parse(body)}
    process = [n for n in text if n.startswith("toptui_process_")]
    assert process
    for name in process:
        # OpenMetrics names a counter without _total; every process family is a gauge.
        assert {tuple(sorted(x.labels.items())) for x in families[name].samples} == {
            tuple(sorted(x.labels.items())) for x in text[name]
        }, name


def test_promtool_checks_and_tests_the_alert_rules():
    tool = prometheus_tool("promtool")
    contrib = ROOT / "contrib" / "prometheus"
    r = subprocess.run([tool, "check", "rules", str(contrib / "toptui-alerts.yml")],
                       capture_output=True, text=True, timeout=WAIT_S)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([tool, "test", "rules", "toptui-alerts.test.yml"], cwd=contrib,
                       capture_output=True, text=True, timeout=WAIT_S)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed: no certificate to test TLS with")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=WAIT_S)  # fmt: skip
    return cert, key


def test_https_with_basic_auth(tmp_path):
    cert, key = _self_signed(tmp_path)
    auth = tmp_path / "auth"
    auth.write_text("prometheus:s3cret\n")
    auth.chmod(0o600)
    with served("-d", "0.2", "--tls-cert", str(cert), "--tls-key", str(key),
                "--basic-auth-file", str(auth), scheme="https") as s:  # fmt: skip
        s.context = ssl.create_default_context(cafile=str(cert))
        with pytest.raises(urllib.error.HTTPError) as err:
            s.get()
        assert err.value.code == 401
        assert err.value.headers["WWW-Authenticate"].startswith("Basic")
        token = base64.b64encode(b"prometheus:s3cret").decode()
        port = int(s.url.rsplit(":", 1)[1].split("/")[0])
        with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S):
            # A client that connects and says nothing (no TLS handshake) holds up no one.
            m = s.scrape(headers={"Authorization": f"Basic {token}"})
        assert m["toptui_build_info"][0].value == 1
        # Plain HTTP to the HTTPS port is refused; the service goes on answering.
        s.context = None
        with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
            urllib.request.urlopen(s.url.replace("https:", "http:"), timeout=WAIT_S).read()
        s.context = ssl.create_default_context(cafile=str(cert))
        assert "toptui_samples" in s.scrape(headers={"Authorization": f"Basic {token}"})
        assert s.stop() == 0
        assert not any("Traceback" in line for line in s.lines), s.lines


def test_a_port_in_use_is_one_line_and_status_2():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "toptui", "serve", "--listen",
                            f"127.0.0.1:{port}"], capture_output=True, text=True,
                           timeout=WAIT_S)  # fmt: skip
    assert r.returncode == 2
    assert r.stderr == f"toptui serve: cannot listen on 127.0.0.1:{port}: Address already in use\n"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--listen", "0.0.0.0:0"], "off loopback"),
        (["--listen", "9772"], "not ADDR:PORT"),
        (["--top", "0"], "must be 1 or more"),
        (["--include", "("], "not a regular expression"),
        (["-p", "999999999"], "no such process"),
        (["--tls-cert", "/nonexistent/cert.pem"], "cannot load the TLS certificate"),
        (["--tls-client-ca", "ca.pem"], "need --tls-cert"),
        (["--basic-auth-file", "/nonexistent/auth"], "cannot read"),
    ],
)
def test_mistakes_are_one_line_and_status_2(args, says):
    r = subprocess.run([sys.executable, "-m", "toptui", "serve", *args], capture_output=True,
                       text=True, timeout=WAIT_S)  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("toptui serve: "), r.stderr
    assert says in r.stderr


def test_the_unit_files_name_the_service():
    system = (ROOT / "contrib" / "toptui.service").read_text()
    user = (ROOT / "contrib" / "toptui-user.service").read_text()
    for unit in (system, user):
        assert re.search(r"^ExecStart=\S*toptui serve\b", unit, re.M), unit
    assert re.search(r"^StateDirectory=toptui$", system, re.M)
    assert re.search(r"^(DynamicUser=yes|User=\S+)$", system, re.M)
    assert "WantedBy=default.target" in user
    verify = shutil.which("systemd-analyze")
    if verify is None:
        return
    for name in ("toptui.service", "toptui-user.service"):
        # Only the files' syntax: ExecStart= points where toptui is installed, not here.
        r = subprocess.run([verify, "verify", "--man=no", str(ROOT / "contrib" / name)],
                           capture_output=True, text=True, timeout=WAIT_S)  # fmt: skip
        problems = [line for line in (r.stdout + r.stderr).splitlines()
                    if "toptui" in line and "Command " not in line
                    and "is not executable" not in line]  # fmt: skip
        assert not problems, problems


def test_idle_connections_cost_a_bounded_number_of_threads():
    """A client may connect and never send (or trickle bytes): past MAX_CLIENTS a connection is
    closed unanswered, so no one can grow toptui's threads; scrapes work again once they go."""
    from toptui.commands.serve import MAX_CLIENTS

    with served("-d", "0.5") as s:
        port = int(s.url.rsplit(":", 1)[1].split("/")[0])
        idle = [socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
                for _ in range(3 * MAX_CLIENTS)]  # fmt: skip
        try:
            refused = False
            deadline = time.monotonic() + WAIT_S
            while not refused and time.monotonic() < deadline:
                with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as probe:
                    probe.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
                    refused = probe.recv(64) == b""
            assert refused, "a connection over the limit was answered"
            status = Path(f"/proc/{s.proc.pid}/status").read_text()
            threads = int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))
            assert threads <= 2 * MAX_CLIENTS + 10, threads  # a handler and a deadline each
        finally:
            for c in idle:
                c.close()
        deadline = time.monotonic() + WAIT_S
        while True:  # the idle ones' slots come back as their handlers see them close
            try:
                assert "toptui_build_info" in s.scrape()
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                assert time.monotonic() < deadline, "no scrape answered after the idle ones left"
                time.sleep(0.1)
        assert s.stop() == 0


def test_a_failed_sweep_is_said_and_sampling_goes_on(capsys):
    from toptui.commands.serve import MAX_FAILED_SWEEPS, Sampling

    class Collector:
        def __init__(self) -> None:
            self.frames: list[int] = []

        def publish(self, frame: int, took_s: float) -> None:
            self.frames.append(frame)
            if len(self.frames) == 3:
                stop.set()

    calls = iter(range(100))

    def flaky() -> int:
        n = next(calls)
        if n in (1, 2):
            raise OSError(f"sweep {n} failed")
        return n

    stop = threading.Event()
    sampling = Sampling(flaky, 0.0, Collector(), stop)  # type: ignore[arg-type]
    sampling.start()
    sampling.join(WAIT_S)
    assert sampling.collector.frames == [0, 3, 4] and sampling.error is None
    said = capsys.readouterr().err.splitlines()
    assert len(said) == 1 and "sweep 1 failed" in said[0] and "goes on" in said[0]

    def broken() -> int:
        raise OSError("no /proc")

    stop = threading.Event()
    sampling = Sampling(broken, 0.0, Collector(), stop)  # type: ignore[arg-type]
    sampling.start()
    sampling.join(WAIT_S)
    assert stop.is_set() and isinstance(sampling.error, OSError)
    assert sampling._failures == MAX_FAILED_SWEEPS


# -- off loopback, mutual TLS, cgroup limits ------------------------------------------------------


def test_off_loopback_with_allow_remote_serves_every_interface():
    with served("-d", "0.5", "--allow-remote", listen=":0") as s:
        assert s.printed is not None and s.printed.startswith("http://0.0.0.0:")
        assert "toptui_build_info" in s.scrape()
        assert s.stop() == 0
    assert not any("warn" in line or "clear text" in line for line in s.lines), s.lines


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=WAIT_S)


def _client_cert(tmp_path: Path, name: str) -> tuple[Path, Path, Path]:
    """A CA of its own and a client certificate it signed: (ca, cert, key)."""
    ca, ca_key = tmp_path / f"{name}-ca.pem", tmp_path / f"{name}-ca.key"
    cert, key, csr = (tmp_path / f"{name}.{ext}" for ext in ("pem", "key", "csr"))
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
             f"/CN={name} CA", "-keyout", str(ca_key), "-out", str(ca))  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout",
             str(key), "-out", str(csr))  # fmt: skip
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
             "-CAcreateserial", "-days", "2", "-out", str(cert))  # fmt: skip
    return ca, cert, key


def test_mutual_tls_off_loopback_needs_a_client_certificate_of_the_ca(tmp_path):
    """--tls-client-ca authenticates scrapes, so it may listen off loopback without
    --allow-remote; a client without a certificate, or with one of another CA, gets nothing."""
    cert, key = _self_signed(tmp_path)
    ca, client, client_key = _client_cert(tmp_path, "prometheus")
    _, stranger, stranger_key = _client_cert(tmp_path, "stranger")
    with served("-d", "0.5", "--tls-cert", str(cert), "--tls-key", str(key),
                "--tls-client-ca", str(ca), scheme="https", listen=":0") as s:  # fmt: skip
        s.context = ssl.create_default_context(cafile=str(cert))
        s.context.load_cert_chain(str(client), str(client_key))
        assert "toptui_build_info" in s.scrape()
        for chain in (None, (stranger, stranger_key)):
            s.context = ssl.create_default_context(cafile=str(cert))
            if chain is not None:
                s.context.load_cert_chain(str(chain[0]), str(chain[1]))
            with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
                s.get()
        assert s.stop() == 0
        assert not any("Traceback" in line for line in s.lines), s.lines


def test_a_process_under_a_tighter_cgroup_limit_has_that_room_as_its_headroom():
    from test_cgroup import memory_cgroup, move_into

    limit = 512 * MIB
    with memory_cgroup(limit) as group, MemoryChild() as boxed, MemoryChild(8) as free:
        assert group is not None
        move_into(group, boxed.pid)
        boxed.grow(64)  # charged to the cgroup: allocated after the move
        charged = group / "memory.current"  # v2; v1 calls it memory.usage_in_bytes
        usage = int((charged if charged.exists() else group / "memory.usage_in_bytes").read_text())
        with served("-d", "0.2", "-p", f"{boxed.pid},{free.pid}") as s:
            state: dict = {}

            def both() -> bool:
                m = state["m"] = s.scrape()
                return all(value(m, "toptui_process_memory_headroom_bytes", p) is not None
                           for p in (boxed.pid, free.pid))  # fmt: skip

            wait_until(both, "headroom of both children")
            m = state["m"]
            assert value(m, "toptui_process_memory_headroom_cgroup", boxed.pid) == 1
            room = value(m, "toptui_process_memory_headroom_bytes", boxed.pid)
            # limit − usage, less any reclaimable cache; the child holds still meanwhile.
            assert limit - usage - 4 * MIB <= room <= limit - 64 * MIB
            assert value(m, "toptui_process_memory_headroom_cgroup", free.pid) == 0
            available = m["toptui_memory_available_bytes"][0].value
            assert value(m, "toptui_process_memory_headroom_bytes", free.pid) == available
            assert s.stop() == 0


def test_u_exports_only_that_users_processes_as_the_screen_shows_them():
    me = pwd.getpwuid(os.getuid()).pw_name
    with MemoryChild(start_mib=8) as child, served("-d", "0.5", "-u", str(os.getuid())) as s:
        state: dict = {}

        def child_there() -> bool:
            m = state["m"] = s.scrape()
            return value(m, "toptui_process_resident_memory_bytes", child.pid) is not None

        wait_until(child_there, "the child's series under -u")
        users = {x.labels["user"] for x in state["m"]["toptui_process_resident_memory_bytes"]}
        assert users == {me}  # a uid is taken as the USER column's name, as the screen's -u
        assert s.stop() == 0
