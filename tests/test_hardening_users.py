"""Not root: toptui run as an ordinary user (nobody) sees other users' processes as far as the
kernel lets it, shows '?' for what it cannot read, and never fails on a permission.

Needs root (to become nobody with runuser) and a Python that nobody may run: the project's own
interpreter when its directory is readable, else the system's of the same version with the
project and its dependencies on PYTHONPATH. Skipped, with the reason, when there is none.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import ROOT

from toptui.engine.control import current_identity

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
USER = "nobody"


@functools.cache
def as_nobody() -> tuple[list[str], dict[str, str]] | str:
    """(command prefix, environment) that runs this project's Python as nobody, or why not."""
    if os.geteuid() != 0:
        return "needs root to become another user"
    runuser = shutil.which("runuser")
    if runuser is None:
        return "runuser is not installed"
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8",
           "PYTHONPATH": f"{ROOT}:{sysconfig.get_paths()['purelib']}",
           "PYTHONDONTWRITEBYTECODE": "1"}  # fmt: skip
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    tried = []
    for python in (sys.executable, shutil.which(version), f"/usr/bin/{version}"):
        if not python or python in tried:
            continue
        tried.append(python)
        cmd = [runuser, "-u", USER, "--", python]
        r = subprocess.run([*cmd, "-c", "import psutil, textual, toptui"], env=env,
                           capture_output=True, timeout=60, cwd="/")  # fmt: skip
        if r.returncode == 0:
            return cmd, env
    return f"no Python {version} that {USER} can run with this project's packages ({tried})"


@pytest.fixture
def nobody() -> tuple[list[str], dict[str, str]]:
    found = as_nobody()
    if isinstance(found, str):
        pytest.skip(found)
    return found


@pytest.fixture
def root_sleeper():
    """A process of root's, nobody's neighbour."""
    p = subprocess.Popen(["sleep", "600"])
    yield p
    p.kill()
    p.wait()


def test_batch_as_nobody_shows_root_processes_without_errors(nobody, root_sleeper):
    cmd, env = nobody
    r = subprocess.run([*cmd, "-m", "toptui", "-b", "-n", "2", "-d", "0.3", "--format", "json"],
                       env=env, capture_output=True, text=True, timeout=120, cwd="/")  # fmt: skip
    assert r.returncode == 0 and r.stderr == "", r.stderr
    frames = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(frames) == 2
    rows = {p["pid"]: p for p in frames[-1]["processes"]}
    mine = rows[root_sleeper.pid]
    assert mine["user"] == "root" and mine["command"] == "sleep 600"
    assert mine["res"] > 0 and mine["state"] == "S"
    assert {"root", USER} <= {p["user"] for p in rows.values()}
    for p in rows.values():  # nothing half-read: every row complete, '?' at worst for the user
        assert p["name"] and p["user"] and p["res"] >= 0 and p["create_time"] > 0


def test_the_screen_as_nobody_works_and_signals_to_root_fail_politely(nobody, root_sleeper,
                                                                        pty_app):  # fmt: skip
    cmd, env = nobody
    argv = [*cmd, "-m", "toptui", "-d", "0.3", "-p", str(root_sleeper.pid)]
    app = pty_app([], argv=argv, env={**env, "TERM": "xterm-256color"})
    app.wait_output(b"load average")
    app.wait_output(b"sleep")
    app.send(b"k")  # kill: choose the signal (SIGTERM first) ...
    app.wait_output(b"Send which signal")
    app.send(b"\r")
    app.wait_output(b"Send SIGTERM to")
    mark = len(app.output)
    app.send(b"y")  # ... and confirm
    app.wait_output(b"permission denied", start=mark)
    app.send(b"q")
    assert app.wait() == 0
    assert b"Traceback" not in app.output
    assert root_sleeper.poll() is None  # nobody could not signal root's process


def test_control_as_nobody_reports_instead_of_raising(nobody, root_sleeper):
    cmd, env = nobody
    key = current_identity(root_sleeper.pid)
    assert key is not None
    code = (f"from toptui.engine import control; key = {key!r}; "
            f"print(control.send_signal(key, {int(signal.SIGTERM)}, 'x').ok); "
            "print(control.renice(key, 5, 'x').ok)")  # fmt: skip
    r = subprocess.run([*cmd, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                       cwd="/")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "False"]
    assert root_sleeper.poll() is None


def test_files_nobody_cannot_read_are_one_line(nobody, tmp_path):
    """A recording or a settings file of root's, mode 600: named in one line, never a traceback."""
    cmd, env = nobody
    shared = Path("/tmp") / f"toptui-nobody-{os.getpid()}"
    shared.mkdir(mode=0o755, exist_ok=True)
    try:
        secret = shared / "secret.csv"
        secret.write_text("time,pid,create_time,name,rss,vms,shared,cpu_percent\r\n")
        secret.chmod(0o600)
        for args in (["--replay", str(secret)], ["analyze", str(secret)],
                     ["-b", "-n", "1", "--record", str(secret)]):  # fmt: skip
            r = subprocess.run([*cmd, "-m", "toptui", *args], env=env, capture_output=True,
                               text=True, timeout=60, cwd="/",
                               stdin=subprocess.DEVNULL)  # fmt: skip
            lines = r.stderr.strip().splitlines()
            # A recording that cannot be written leaves the monitor running (status 0).
            status = 0 if "--record" in args else 2
            assert r.returncode == status and len(lines) == 1, (args, r.stderr)
            assert "secret.csv" in lines[0] and "ermission" in lines[0], lines[0]
        # Settings under a directory nobody cannot enter: a warning, and the defaults.
        cfg = shared / "config" / "toptui"
        cfg.mkdir(parents=True)
        (cfg / "config.json").write_text("{}")
        (shared / "config").chmod(0o700)
        code = "from toptui.views import settings; print(settings.load()[1])"
        cfg_env = {**env, "XDG_CONFIG_HOME": str(shared / "config")}
        r = subprocess.run([*cmd, "-c", code], env=cfg_env, capture_output=True, text=True,
                           timeout=60, cwd="/")  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert "cannot read" in r.stdout and "using defaults" in r.stdout
    finally:
        shutil.rmtree(shared)
