"""``toptui serve``: the monitor without a screen, its verdicts served to Prometheus at /metrics.

A thread samples every ``-d`` seconds through the same :class:`~toptui.engine.monitor.Monitor` and
:class:`~toptui.engine.pacing.Pacer` as the screen (same history, same verdicts);
prometheus-client's WSGI app serves the latest frame through
:class:`~toptui.commands.exporter.FrameCollector`, behind wsgiref's threading server with
optional TLS and basic auth. Nothing here imports Textual. It keeps a rolling history on disk
(``--state-dir``, toptui.engine.state.StoreKeeper) and starts from it when restarted.

Listening off loopback shows every exported process's name, program and user to the network, so
it is refused unless the scrapes are authenticated (``--basic-auth-file``, or TLS client
certificates with ``--tls-client-ca``) or ``--allow-remote`` says the network is trusted. Every
mistake at start (a bad flag, a port in use, a certificate that does not load) is one line on
stderr and exit status 2; SIGTERM, SIGINT and SIGHUP end the service with status 0.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import hmac
import ipaddress
import os
import re
import signal
import socket
import ssl
import stat
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from toptui import __version__
from toptui.commands.arguments import (
    DEFAULT_DELAY_S,
    MAX_HISTORY_S,
    OneLineParser,
    add_state_options,
    known_user,
    missing_pids,
    pid_list,
    positive_int,
    say,
    seconds,
)
from toptui.commands.exporter import DEFAULT_TOP, FrameCollector, Selection
from toptui.engine.pacing import MAX_DELAY_S, MIN_DELAY_S

if TYPE_CHECKING:
    from toptui.engine.monitor import Frame, Monitor
    from toptui.engine.state import StoreKeeper

# Not the port of a common exporter (node_exporter 9100, process-exporter 9256, ...).
DEFAULT_PORT = 9772
DEFAULT_LISTEN = f"127.0.0.1:{DEFAULT_PORT}"
# A connection is shut this long after it was accepted, answered or not: a client that trickles
# bytes or sends none holds a thread for this long at most.
REQUEST_TIMEOUT_S = 30.0
# Sweeps failing in a row that end the service (one is said, and sampling goes on).
MAX_FAILED_SWEEPS = 5
# Connections served at once; one more is closed unanswered, so clients never cost more threads.
MAX_CLIENTS = 32
PROG = "toptui serve"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class UsageError(Exception):
    """A problem with what was asked for; one line on stderr, exit status 2."""


@dataclass(frozen=True, slots=True)
class Listen:
    """Where to listen: ``host`` as given (for messages), the address and family to bind."""

    host: str
    port: int
    family: socket.AddressFamily
    address: str

    @property
    def loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.address.partition("%")[0]).is_loopback
        except ValueError:
            return False

    def url(self, port: int | None = None, tls: bool = False) -> str:
        host = f"[{self.address}]" if self.family == socket.AF_INET6 else self.address
        return f"{'https' if tls else 'http'}://{host}:{self.port if port is None else port}"


def listen_address(text: str) -> Listen:
    """``ADDR:PORT``, ``[IPV6]:PORT`` or ``:PORT`` (every IPv4 interface); an argparse type."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        raise argparse.ArgumentTypeError(f"not ADDR:PORT: {text!r} (e.g. 127.0.0.1:{DEFAULT_PORT})")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise argparse.ArgumentTypeError(f"put an IPv6 address in brackets: [{host}]:{port_text}")
    port = int(port_text)
    try:
        infos = socket.getaddrinfo(host or "0.0.0.0", port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)  # fmt: skip
    except (socket.gaierror, UnicodeError) as exc:
        why = exc.strerror if isinstance(exc, socket.gaierror) else "not a host name"
        raise argparse.ArgumentTypeError(f"cannot listen on {host!r}: {why}") from None
    family, _, _, _, sockaddr = infos[0]
    return Listen(host, port, family, str(sockaddr[0]))


def _regex(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"not a regular expression: {text!r} ({exc})") from None


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog=PROG,
        description="Sample every process as the screen does and serve the memory figures and "
        "leak verdicts to Prometheus at /metrics. Headless: no terminal needed.",
    )
    p.add_argument("-d", "--delay", type=seconds(MIN_DELAY_S, MAX_DELAY_S),
                   default=DEFAULT_DELAY_S, metavar="SECONDS",
                   help=f"sampling interval (default {DEFAULT_DELAY_S:g})")  # fmt: skip
    p.add_argument("--history", type=seconds(MIN_DELAY_S, MAX_HISTORY_S), default=3600.0,
                   metavar="SECONDS",
                   help="memory history kept per process (default 3600)")  # fmt: skip
    p.add_argument("-p", "--pid", type=pid_list, action="append", metavar="PID[,PID...]",
                   help="watch only these processes")  # fmt: skip
    add_state_options(p, writes=True)
    p.add_argument("-u", "--user", metavar="USER", help="export only this user's processes")
    p.add_argument("--listen", type=listen_address, default=None, metavar="ADDR:PORT",
                   help=f"where to serve /metrics (default {DEFAULT_LISTEN}; :PORT for every IPv4 "
                   "interface, [::]:PORT for IPv6)")  # fmt: skip
    p.add_argument("--top", type=positive_int, default=DEFAULT_TOP, metavar="N",
                   help=f"export the N largest processes by RES, plus every leak (default "
                   f"{DEFAULT_TOP})")  # fmt: skip
    p.add_argument(
        "--include",
        type=_regex,
        action="append",
        default=[],
        metavar="REGEX",
        help="export only processes whose name, program or user matches (repeatable)",
    )
    p.add_argument("--exclude", type=_regex, action="append", default=[], metavar="REGEX",
                   help="never export processes whose name, program or user matches "
                   "(repeatable)")  # fmt: skip
    p.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate (PEM)")
    p.add_argument(
        "--tls-key",
        metavar="FILE",
        help="the certificate's private key (PEM; default: in --tls-cert)",
    )
    p.add_argument(
        "--tls-client-ca",
        metavar="FILE",
        help="require client certificates signed by these CAs (mutual TLS)",
    )
    p.add_argument("--basic-auth-file", metavar="FILE",
                   help="require HTTP basic auth; FILE holds USER:PASSWORD lines and must not "
                   "be readable by other users")  # fmt: skip
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="listen off loopback without authentication (a trusted network)",
    )
    p.add_argument("-V", "--version", action="version", version=f"toptui {__version__}")
    return p


# -- basic auth -------------------------------------------------------------------------------


class BasicAuth:
    """The users and passwords of ``--basic-auth-file``: ``USER:PASSWORD`` a line, ``#``
    comments and blank lines ignored."""

    def __init__(self, users: dict[str, bytes]) -> None:
        self.users = users

    @classmethod
    def load(cls, path: str) -> BasicAuth:
        try:
            with open(path, "rb") as f:
                mode = os.fstat(f.fileno()).st_mode
                data = f.read()
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            raise UsageError(f"{path} is readable by other users; chmod go-r {path}")
        users: dict[str, bytes] = {}
        for n, raw in enumerate(data.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith(b"#"):
                continue
            user, sep, password = line.partition(b":")
            if not sep or not user or not password:
                raise UsageError(f"{path}:{n}: not USER:PASSWORD")
            try:
                users[user.decode("utf-8")] = password
            except UnicodeDecodeError:
                raise UsageError(f"{path}:{n}: the user name is not UTF-8") from None
        if not users:
            raise UsageError(f"{path} names no user (USER:PASSWORD lines)")
        return cls(users)

    def allows(self, header: str | None) -> bool:
        scheme, _, encoded = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, sep, password = base64.b64decode(encoded.strip(), validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return False
        expected = self.users.get(user.decode("utf-8", "replace"))
        # Compared in constant time, and against something even for an unknown user.
        ok = hmac.compare_digest(password, expected if expected is not None else b"\0" * 16)
        return bool(sep) and expected is not None and ok


def utf8_names_allowed(accept: str) -> str:
    """``accept`` with ``escaping=allow-utf-8`` added to each OpenMetrics type that names no
    escaping.

    Without it prometheus-client (0.26) escapes every sample's metric name to underscores one
    character at a time, a quarter of a scrape's CPU at --top 100; every name toptui and
    prometheus-client export is a legacy Prometheus name, which no escaping changes, so the body
    is the same byte for byte. The Content-Type then says ``escaping=allow-utf-8``."""
    parts = accept.split(",")
    for i, part in enumerate(parts):
        params = [t.strip() for t in part.split(";")]
        if params[0] == "application/openmetrics-text" and not any(
            t.startswith("escaping=") for t in params
        ):
            parts[i] = f"{part};escaping=allow-utf-8"
    return ",".join(parts)


def web_app(metrics: WSGIApp, auth: BasicAuth | None = None) -> WSGIApp:
    """/metrics from prometheus-client, a short page at /, 404 elsewhere; all behind ``auth``."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if auth is not None and not auth.allows(environ.get("HTTP_AUTHORIZATION")):
            start_response(
                "401 Unauthorized",
                [
                    ("WWW-Authenticate", 'Basic realm="toptui"'),
                    ("Content-Type", "text/plain; charset=utf-8"),
                ],
            )
            return [b"401 Unauthorized\n"]  # fmt: skip
        path = environ.get("PATH_INFO") or "/"
        if path == "/metrics":
            accept = environ.get("HTTP_ACCEPT")
            if accept:
                environ["HTTP_ACCEPT"] = utf8_names_allowed(accept)
            return metrics(environ, start_response)
        if path == "/":
            body = (b"<html><head><title>toptui</title></head><body><h1>toptui</h1>"
                    b'<p><a href="metrics">Metrics</a></p></body></html>\n')  # fmt: skip
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"404 Not Found: the metrics are at /metrics\n"]

    return app


# -- the HTTP server --------------------------------------------------------------------------


class _Handler(WSGIRequestHandler):
    timeout = REQUEST_TIMEOUT_S

    def setup(self) -> None:
        # The whole request, not each read, has REQUEST_TIMEOUT_S: then the socket is shut.
        self._deadline = threading.Timer(REQUEST_TIMEOUT_S, self._cut_off)
        self._deadline.daemon = True
        self._deadline.start()
        super().setup()
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()  # here, in the request's thread, not in accept()

    def _cut_off(self) -> None:
        with contextlib.suppress(OSError):
            self.request.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        self._deadline.cancel()
        super().finish()

    def log_message(self, format: str, *args: object) -> None:
        """Scrapes are not logged (every 15 s, forever)."""


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a slow client never holds up the exit

    def server_activate(self) -> None:
        super().server_activate()
        self._slots = threading.BoundedSemaphore(MAX_CLIENTS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)  # over MAX_CLIENTS: closed unanswered
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up, timed out or failed the TLS handshake is not toptui's error;
        anything else is one line, not a traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):  # ssl.SSLError, ConnectionError, TimeoutError too
            return
        say(PROG, f"error while answering {client_address}: {exc!r}")


def tls_context(cert: str, key: str | None, client_ca: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        what = f"{cert} and {key}" if key else cert
        raise UsageError(f"cannot load the TLS certificate from {what}: {_why(exc)}") from None
    if client_ca is not None:
        try:
            ctx.load_verify_locations(cafile=client_ca)
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(f"cannot load the client CAs from {client_ca}: {_why(exc)}") from None
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def _why(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


def make_server(listen: Listen, app: WSGIApp, tls: ssl.SSLContext | None = None) -> _Server:
    """Bound and listening (raises OSError when it cannot be), not yet serving."""

    class Server(_Server):
        address_family = listen.family

    server = Server((listen.address, listen.port), _Handler, bind_and_activate=True)
    server.set_app(app)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)  # fmt: skip
    return server


# -- sampling ---------------------------------------------------------------------------------


class Sampling:
    """The engine's runner in a thread of its own, publishing each frame to the collector."""

    def __init__(self, step: Callable[[], Frame], period_s: float, collector: FrameCollector,
                 stop: threading.Event) -> None:  # fmt: skip
        from toptui.engine.runner import Runner

        self.collector = collector
        self.stop = stop
        self.error: BaseException | None = None
        self._failures = 0  # sweeps failed in a row
        self.runner = Runner(step, period_s, self._publish, on_error=self._failed, stop=stop)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = self.runner.start("toptui-sampling")

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _publish(self, frame: Frame) -> None:
        self._failures = 0
        self.collector.publish(frame, self.runner.last_step_s)

    def _failed(self, exc: Exception) -> None:
        """A sweep that fails is said once and sampling goes on (the next may well work, and
        the history is worth keeping); MAX_FAILED_SWEEPS in a row end the service (serve then
        says why and exits 1, for its unit to restart it)."""
        self._failures += 1
        if self._failures == 1:
            say(PROG, f"a sweep failed, sampling goes on: {exc!r}")
        if self._failures >= MAX_FAILED_SWEEPS:
            self.error = exc
            self.stop.set()
            self.runner.stop()


# -- main -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Config:
    listen: Listen
    selection: Selection
    pids: frozenset[int] | None
    delay_s: float
    history_s: float
    tls: ssl.SSLContext | None
    auth: BasicAuth | None
    warnings: tuple[str, ...] = ()
    state_dir: str | None = None  # the store's directory; None: --no-state


def configure(args: argparse.Namespace) -> Config:
    """Everything checked before anything is bound or sampled; raises UsageError."""
    listen = args.listen or listen_address(DEFAULT_LISTEN)
    user = None
    if args.user is not None:
        user = known_user(args.user)
        if user is None:
            raise UsageError(f"unknown user {args.user!r}")
    pids = None
    if args.pid:
        wanted = [p for group in args.pid for p in group]
        missing = missing_pids(wanted)
        if missing:
            raise UsageError(f"no such process: {', '.join(map(str, missing))}")
        pids = frozenset(wanted)
    if (args.tls_key or args.tls_client_ca) and not args.tls_cert:
        raise UsageError("--tls-key and --tls-client-ca need --tls-cert")
    tls = tls_context(args.tls_cert, args.tls_key, args.tls_client_ca) if args.tls_cert else None
    auth = BasicAuth.load(args.basic_auth_file) if args.basic_auth_file else None
    warnings = []
    if not listen.loopback:
        where = f"{listen.host or '0.0.0.0'}:{listen.port}"
        if auth is None and args.tls_client_ca is None and not args.allow_remote:
            raise UsageError(
                f"{where} is off loopback: every process's name and user would be open to the "
                "network; add --basic-auth-file (with --tls-cert) or --tls-client-ca, or "
                "--allow-remote for a trusted network"
            )
        if auth is not None and tls is None:
            warnings.append(f"basic auth without TLS on {where}: passwords cross the network "
                            "in clear text (add --tls-cert)")  # fmt: skip
    selection = Selection(top=args.top, include=tuple(args.include),
                          exclude=tuple(args.exclude), user=user)  # fmt: skip
    if args.no_state and args.state_dir is not None:
        raise UsageError("--state-dir and --no-state do not go together")
    from toptui.store.state_store import default_state_dir

    state_dir = None if args.no_state else (args.state_dir or default_state_dir())
    return Config(listen, selection, pids, args.delay, args.history, tls, auth, tuple(warnings),
                  state_dir)  # fmt: skip


def serve(config: Config, stop: threading.Event) -> int:
    """Bind, sample and serve until ``stop`` is set; the exit status."""
    from prometheus_client import CollectorRegistry, make_wsgi_app
    from prometheus_client.gc_collector import GCCollector
    from prometheus_client.platform_collector import PlatformCollector
    from prometheus_client.process_collector import ProcessCollector

    from toptui.engine.monitor import Monitor, judge_every_for
    from toptui.engine.sources import live_source
    from toptui.sampling.cgroup import CgroupReader

    # Live processes: their time to OOM is reckoned against their cgroup's limit where tighter.
    collector = FrameCollector(config.selection, interval_s=config.delay_s, cgroups=CgroupReader())
    registry = CollectorRegistry()
    registry.register(collector)
    for extra in (ProcessCollector, PlatformCollector, GCCollector):  # toptui's own process
        extra(registry=registry)
    app = web_app(make_wsgi_app(registry), config.auth)
    listen = config.listen
    try:
        server = make_server(listen, app, config.tls)
    except OSError as exc:
        where = f"{listen.host or '0.0.0.0'}:{listen.port}"
        raise UsageError(f"cannot listen on {where}: {exc.strerror or exc}") from None
    for warning in config.warnings:
        say(PROG, warning)
    port = server.server_address[1]
    say(PROG, f"serving {listen.url(port, tls=config.tls is not None)}/metrics")
    monitor = Monitor(
        live_source(config.pids),
        interval_s=config.delay_s,
        history_s=config.history_s,
        judge_every_s=judge_every_for(config.delay_s),
    )
    monitor.kinds_reader = None  # /metrics has no per-kind figures: no smaps is read for them
    monitor.cgroups = collector.cgroups  # one reader of the cgroup mounts, the exporter's
    keeper = _open_store(config.state_dir, monitor)

    def step() -> Frame:
        frame = monitor.step()
        if keeper is not None:
            keeper.after(frame)
        return frame

    sampling = Sampling(step, config.delay_s, collector, stop)
    http = threading.Thread(target=server.serve_forever, name="toptui-http", daemon=True)
    http.start()
    sampling.start()
    try:
        while not stop.wait(3600.0):  # signals end the wait (their handlers set stop)
            pass
    finally:
        server.shutdown()
        server.server_close()
        sampling.join(timeout=max(5.0, 2 * config.delay_s))
        if keeper is not None:
            keeper.close()  # the last checkpoint; every sample already written is on disk
    if sampling.error is not None:
        say(PROG, f"sampling failed: {sampling.error!r}")
        return 1
    return 0


def _open_store(directory: str | None, monitor: Monitor) -> StoreKeeper | None:
    """The store at ``directory``, the monitor set to start from what it holds (of this boot); a
    directory that cannot be used is said once and serve runs without it."""
    if directory is None:
        return None
    from toptui.engine.state import StoreError, StoreKeeper, load_store

    preload, _, notes = load_store([directory])
    for note in notes:
        say(PROG, note)
    monitor.preload = preload
    try:
        return StoreKeeper(directory, monitor, lambda line: say(PROG, line))
    except StoreError as exc:
        say(PROG, f"{exc}; sampling goes on without the store")
        return None


def main(argv: Sequence[str] | None = None) -> int:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda _signum, _frame: stop.set())
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        return serve(configure(args), stop)
    except UsageError as exc:
        say(PROG, str(exc))
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
