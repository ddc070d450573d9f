"""Shared by the hardening tests: toptui on a real pseudo-terminal, odd processes, a process churn.

Everything a fixture starts, it ends (by pid or process group) at teardown, pass or fail.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import pytest
from children import WAIT_S

ROOT = Path(__file__).resolve().parent.parent
TOPTUI = [sys.executable, "-m", "toptui"]
LINUX = sys.platform.startswith("linux") and os.path.isdir("/proc/self")
# The folder beside the checkout that holds the labelled traces (CI lays a copy there).
SHARED = ROOT.parent / "shared"
IN_CI = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@pytest.fixture(autouse=True)
def _own_state_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """toptui serve keeps its store in $XDG_STATE_HOME/toptui and the screen starts from it:
    each test (and every toptui it starts) gets an empty state directory of its own, never the
    user's, and never one that another test's serve wrote."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state-home")))


# -- tests that need what a developer's machine may lack --------------------------------------


def skip_or_fail(why: str) -> NoReturn:
    """Skip with a one-line reason on a developer's machine; fail under CI=true, where .ci/run
    installs everything and a missing piece must not pass unnoticed."""
    if IN_CI:
        pytest.fail(f"{why} (CI=true: missing is a failure)", pytrace=False)
    pytest.skip(why)


def prometheus_tool(name: str) -> str:
    """The path of ``prometheus`` or ``promtool``, from Debian's prometheus package."""
    found = shutil.which(name)
    if found is None:
        skip_or_fail(f"{name} is not installed (Debian's prometheus package; .ci/run installs it)")
    return found


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """A test marked ``needs_shared`` whose files are missing skips on a developer's machine, but
    fails under CI=true: there a missing or broken copy of the traces must not pass unnoticed."""
    for mark in item.iter_markers("needs_shared"):
        missing = [str(SHARED / rel) for rel in mark.args if not (SHARED / rel).exists()]
        if missing:
            skip_or_fail(f"needs {', '.join(missing)}, which is not there")


class PtyApp:
    """A program on a real pseudo-terminal (its controlling terminal), as a person runs it.

    Output is drained continuously by a thread (a full pty would block the program), and kept.
    """

    def __init__(
        self,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        size: tuple[int, int] = (120, 30),
        cwd: str | os.PathLike[str] | None = None,
    ) -> None:
        full_env = {**os.environ, "TERM": "xterm-256color", **(env or {})}
        full_env = {k: v for k, v in full_env.items() if v is not None}
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        workdir = os.fspath(cwd) if cwd is not None else None
        pid = os.fork()
        if pid == 0:  # the test process has threads: only exec-bound calls until execve
            try:
                os.close(master)
                os.login_tty(slave)
                if workdir is not None:
                    os.chdir(workdir)
                os.execve(argv[0], argv, full_env)
            finally:
                os._exit(127)
        os.close(slave)
        self.pid = pid
        self.fd: int | None = master
        self._out = bytearray()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.status: int | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        fd = self.fd
        assert fd is not None
        while not self._stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the program's side of the terminal is closed
                return
            if not data:
                return
            with self._lock:
                self._out += data

    @property
    def output(self) -> bytes:
        with self._lock:
            return bytes(self._out)

    def wait_output(self, needle: bytes, timeout: float = WAIT_S, start: int = 0) -> int:
        """Wait until ``needle`` appears at or after ``start``; its offset."""
        end = time.monotonic() + timeout
        while True:
            at = self.output.find(needle, start)
            if at >= 0:
                return at
            if time.monotonic() > end or self.poll() is not None:
                raise AssertionError(
                    f"{needle!r} not seen in {timeout}s (status {self.status}); last output: "
                    f"{self.output[-600:]!r}"
                )
            time.sleep(0.05)

    def send(self, data: bytes) -> None:
        assert self.fd is not None
        os.write(self.fd, data)

    def kill(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def state(self) -> str:
        """The process state letter from /proc (T when stopped); '' once it is gone."""
        try:
            with open(f"/proc/{self.pid}/stat", "rb") as f:
                data = f.read()
        except OSError:
            return ""
        return data[data.rfind(b")") + 2 :].split()[0].decode()

    def poll(self) -> int | None:
        if self.status is None:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.status = os.waitstatus_to_exitcode(status)
        return self.status

    def wait(self, timeout: float = WAIT_S) -> int:
        end = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > end:
                raise AssertionError(
                    f"still running {timeout}s later (state {self.state()!r}); last output: "
                    f"{self.output[-600:]!r}"
                )
            time.sleep(0.05)
        self._reader.join(timeout=5)
        assert self.status is not None
        return self.status

    def termios_lflag(self) -> int:
        """The terminal's local modes now (ECHO, ICANON ... as the program left them)."""
        assert self.fd is not None
        return termios.tcgetattr(self.fd)[3]

    def hang_up(self) -> None:
        """Close the terminal, as when an ssh connection drops: the kernel sends SIGHUP."""
        self._stop.set()
        self._reader.join(timeout=5)
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def close(self) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        self._stop.set()
        self._reader.join(timeout=5)
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


@pytest.fixture
def pty_app(tmp_path: Path) -> Iterator[Callable[..., PtyApp]]:
    """``start(args, env=..., size=...)`` runs toptui on a pty, with its own config directory."""
    started: list[PtyApp] = []

    def start(args: list[str], *, argv: list[str] | None = None, **kw: object) -> PtyApp:
        env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), **kw.pop("env", {})}  # type: ignore[dict-item]
        app = PtyApp(argv or [*TOPTUI, *args], env=env, **kw)  # type: ignore[arg-type]
        started.append(app)
        return app

    yield start
    for app in started:
        app.close()


# -- odd processes ---------------------------------------------------------------------------

SLEEPER = "import sys, time; sys.stdout.write('ok\\n'); sys.stdout.flush(); time.sleep(600)"


@dataclass
class OddProcesses:
    """Processes whose names, command lines or states are what breaks monitors."""

    comm: dict[str, tuple[int, bytes]] = field(default_factory=dict)  # label -> (pid, raw comm)
    long_cmdline: int = 0
    odd_cmdline: int = 0
    zombie: int = 0
    stopped: int = 0
    popens: list[subprocess.Popen] = field(default_factory=list)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.popens]


def _named(comm: bytes) -> subprocess.Popen:
    """A sleeper that renames itself by writing /proc/self/comm (as prctl(PR_SET_NAME) does)."""
    code = f"open('/proc/self/comm', 'wb').write({comm!r}); {SLEEPER}"
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert p.stdout is not None and p.stdout.readline() == b"ok\n"
    return p


@pytest.fixture(scope="module")
def odd_processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OddProcesses]:
    if not LINUX:
        pytest.skip("names processes through /proc")
    odd = OddProcesses()
    tmp = tmp_path_factory.mktemp("odd")
    try:
        # An executable whose very name has spaces and parentheses: comm is "a b) (c".
        exe = tmp / "a b) (c"
        exe.write_bytes(Path("/bin/sleep").read_bytes())
        exe.chmod(0o755)
        p = subprocess.Popen([str(exe), "600"])
        odd.popens.append(p)
        odd.comm["spaces_parens"] = (p.pid, b"a b) (c")
        for label, comm in {
            "newline": b"nl\nname",
            "escape": b"esc\x1b[31mred",
            "tab": b"tab\tx",
            "invalid_utf8": b"bad\xff\xfeutf",
            "close_paren_end": b"x) S 1 2 3 (",
        }.items():
            p = _named(comm)
            odd.popens.append(p)
            odd.comm[label] = (p.pid, comm)
        p = subprocess.Popen([sys.executable, "-c", SLEEPER, "x" * 100_000], stdout=subprocess.PIPE)
        assert p.stdout is not None and p.stdout.readline() == b"ok\n"
        odd.popens.append(p)
        odd.long_cmdline = p.pid
        p = subprocess.Popen([sys.executable.encode(), b"-c", SLEEPER.encode(),
                              b"arg\nwith\nnewlines", b"\xff\xfe\x1b[31mbytes"],
                             stdout=subprocess.PIPE)  # fmt: skip
        assert p.stdout is not None and p.stdout.readline() == b"ok\n"
        odd.popens.append(p)
        odd.odd_cmdline = p.pid
        p = subprocess.Popen(["sleep", "600"])
        os.kill(p.pid, signal.SIGSTOP)
        odd.popens.append(p)
        odd.stopped = p.pid
        p = subprocess.Popen(["true"])  # never waited for until teardown: a zombie
        odd.popens.append(p)
        odd.zombie = p.pid
        deadline = time.monotonic() + WAIT_S
        while not (_state(odd.zombie) == "Z" and _state(odd.stopped) == "T"):
            assert time.monotonic() < deadline, "zombie / stopped child did not settle"
            time.sleep(0.02)
        yield odd
    finally:
        for p in odd.popens:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=WAIT_S)
            if p.stdout is not None:
                p.stdout.close()


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return ""
    return data[data.rfind(b")") + 2 :].split()[0].decode()


# -- churn -----------------------------------------------------------------------------------


@dataclass
class Churn:
    """``scripts/soak.py --churn-only``: births per second as it reports them each second."""

    proc: subprocess.Popen
    births: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Births so far (the churn keeps to its schedule, catching up when it falls behind)."""
        return sum(self.births)


@pytest.fixture
def churn() -> Iterator[Churn]:
    """About 250 short-lived processes per second (plus threads), until the test ends."""
    if not LINUX:
        pytest.skip("the churn names its children through /proc")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "soak.py"), "--churn-only", "--rate", "250"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: one killpg ends it and its children
    )
    c = Churn(proc)

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("births "):
                c.births.append(int(line.split()[1]))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield c
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=WAIT_S)
        reader.join(timeout=WAIT_S)
        if proc.stdout is not None:
            proc.stdout.close()


SLEEPER_TAG = f"{os.getpid()}{time.monotonic_ns() % 10**6:06d}"  # unique per xdist worker


@pytest.fixture
def sleepers():
    """Two idle children with command lines nothing else on the machine has
    (``sleep <SLEEPER_TAG>0`` and ``...1``)."""
    procs = [subprocess.Popen(["sleep", f"{SLEEPER_TAG}{i}"]) for i in range(2)]
    yield procs
    for p in procs:
        p.kill()
        p.wait()
