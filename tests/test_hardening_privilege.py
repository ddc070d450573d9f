"""No privilege games: toptui (often run as root) never runs a shell or any program, never follows
a path a process controls (/proc/PID/exe, cwd, root, fd), and writes only the files the user
named: a recording, the settings file, the ``x`` export in the current directory.

The first checks read the package's source, so a new write or a new way to run a command shows up
here for review; the last ones run toptui beside processes whose names are shell code.
"""

from __future__ import annotations

import ast
import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from children import WAIT_S
from conftest import TOPTUI

import toptui
from toptui.views.app import TopApp

PACKAGE = Path(toptui.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))

# Modules and calls that run other programs, or code from text.
RUNNERS = {"subprocess", "pty", "pexpect", "sh", "plumbum", "commands"}
RUNNER_CALLS = {"system", "popen", "execv", "execve", "execvp", "execvpe", "execl", "execle",
                "execlp", "execlpe", "spawnv", "spawnve", "spawnvp", "spawnl", "posix_spawn",
                "posix_spawnp", "fork", "forkpty", "eval", "exec", "startfile"}  # fmt: skip
# What a process controls under /proc/PID: links out to anywhere.
PROCESS_LINKS = ("/exe", "/cwd", "/root", "/fd/", "/fd", "/map_files")
FOLLOWERS = {"readlink", "realpath", "resolve", "scandir"}

# Every place that may create, change or remove a file: (module, function) -> why it may.
WRITERS = {
    ("recording.py", "__init__"): "opens the recording the user named (--record, x) to append",
    ("recording.py", "_prepare"): "drops a crash's partial last line of that recording",
    ("recording.py", "record"): "takes back a partial tick after a failed write",
    ("settings.py", "save"): "W: the settings file under $XDG_CONFIG_HOME/toptui",
    ("state_store.py", "__init__"): "makes the store's directory (--state-dir, "
    "$XDG_STATE_HOME/toptui or systemd's StateDirectory=), mode 0700",
    ("state_store.py", "_compress"): "gzips a finished minute of the store beside it, then "
    "replaces the plain file",
    ("state_store.py", "_lock"): "the store's lock file: one serve writes a store",
    ("state_store.py", "prune"): "drops the store's minutes older than --history",
    ("state_store.py", "write_checkpoint"): "the store's checkpoint, written to a temporary "
    "file and renamed over the last",
    ("arguments.py", "to_devnull"): "points stdout/stderr at /dev/null when they cannot be "
    "written (reader left, full, closed)",
}
WRITE_FLAGS = {"O_WRONLY", "O_RDWR", "O_CREAT", "O_APPEND", "O_TRUNC"}
WRITE_CALLS = {"write_text", "write_bytes", "replace", "rename", "renames", "unlink", "remove",
               "rmdir", "removedirs", "mkdir", "makedirs", "ftruncate", "truncate", "chmod",
               "chown", "symlink", "link", "mkfifo", "mknod", "touch", "copy", "copyfile",
               "copy2", "copytree", "move", "rmtree", "NamedTemporaryFile", "mkstemp",
               "mkdtemp"}  # fmt: skip


def functions(tree: ast.AST):
    """(function name, node) for every node, the innermost enclosing def naming it."""
    stack: list[tuple[str, ast.AST]] = [("<module>", tree)]
    while stack:
        name, node = stack.pop()
        for child in ast.iter_child_nodes(node):
            is_def = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            inner = child.name if is_def else name
            yield inner, child
            stack.append((inner, child))


def call_name(node: ast.Call) -> str:
    f = node.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def names_in(node: ast.AST) -> set[str]:
    return {n.attr if isinstance(n, ast.Attribute) else n.id
            for n in ast.walk(node) if isinstance(n, ast.Attribute | ast.Name)}  # fmt: skip


FILE_MODULES = {"os", "shutil", "tempfile", "pathlib", "Path", "path"}
# Methods only a path (or an open file descriptor) has: counted whatever the receiver.
PATH_METHODS = {"write_text", "write_bytes", "mkdir", "touch", "unlink", "rmdir", "chmod",
                "symlink_to", "hardlink_to", "ftruncate"}  # fmt: skip


def imported_names(tree: ast.AST) -> dict[str, str]:
    """Bare names a module imported, and from where (``replace`` may be dataclasses' or os')."""
    return {a.asname or a.name: node.module or "" for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) for a in node.names}  # fmt: skip


def is_write(node: ast.Call, imported: dict[str, str]) -> bool:
    name = call_name(node)
    f = node.func
    if name == "open" and isinstance(f, ast.Attribute):  # os.open(path, flags)
        return len(node.args) > 1 and bool(names_in(node.args[1]) & WRITE_FLAGS)
    if name == "open":  # builtin open(path, mode)
        mode = node.args[1] if len(node.args) > 1 else next(
            (k.value for k in node.keywords if k.arg == "mode"), None)  # fmt: skip
        if mode is None:
            return False
        return not isinstance(mode, ast.Constant) or bool(set(str(mode.value)) & set("wax+"))
    if name not in WRITE_CALLS:
        return False
    if isinstance(f, ast.Attribute):
        return name in PATH_METHODS or bool(names_in(f.value) & FILE_MODULES)
    return imported.get(name, "").split(".")[0] in FILE_MODULES


def test_nothing_runs_a_shell_or_another_program():
    found = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(), str(path))
        for func, node in functions(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                    node.module or ""]  # fmt: skip
                found += [f"{path.name}:{node.lineno} imports {m}" for m in mods
                          if m.split(".")[0] in RUNNERS]  # fmt: skip
            elif isinstance(node, ast.Call):
                if call_name(node) in RUNNER_CALLS:
                    found.append(f"{path.name}:{node.lineno} {func}() calls {call_name(node)}")
                for k in node.keywords:
                    if k.arg == "shell":
                        found.append(f"{path.name}:{node.lineno} {func}() passes shell=")
    assert found == []


def test_no_path_a_process_controls_is_followed():
    found = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(), str(path))
        for func, node in functions(tree):
            if isinstance(node, ast.Call) and call_name(node) in FOLLOWERS:
                # realpath/resolve of a path the user typed is fine; of /proc/PID/... it is not.
                if any((isinstance(n, ast.Constant) and "/proc" in str(n.value))
                       or (isinstance(n, ast.Name) and n.id == "PROC")
                       for n in ast.walk(node)):  # fmt: skip
                    found.append(f"{path.name}:{node.lineno} {func}() {call_name(node)} in /proc")
                if call_name(node) == "readlink":
                    found.append(f"{path.name}:{node.lineno} {func}() calls readlink")
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                if any(text.startswith(link) and text[len(link) : len(link) + 1] in ("", "/")
                       for link in PROCESS_LINKS):  # fmt: skip
                    found.append(f"{path.name}:{node.lineno} {func}() uses {text!r}")
    assert found == []


def test_files_are_written_only_where_the_user_asked():
    found = {}
    for path in SOURCES:
        tree = ast.parse(path.read_text(), str(path))
        imported = imported_names(tree)
        for func, node in functions(tree):
            if isinstance(node, ast.Call) and is_write(node, imported):
                found.setdefault((path.name, func), []).append(node.lineno)
    unexpected = {k: v for k, v in found.items() if k not in WRITERS}
    assert unexpected == {}, "new places that write files: review them, then list them in WRITERS"
    assert set(found) == set(WRITERS), "WRITERS lists places that no longer write: drop them"


SHELL_NAMES = [b"$(touch pwn1)", b"`touch pwn2`", b";touch pwn3;", b"|touch pwn4"]


@pytest.fixture
def shell_named(tmp_path):
    """Sleepers named (comm and argv) with shell code that would create files in tmp_path."""
    procs = []
    for comm in SHELL_NAMES:
        code = (f"open('/proc/self/comm', 'wb').write({comm!r}); import sys, time; "
                "sys.stdout.write('ok\\n'); sys.stdout.flush(); time.sleep(600)")  # fmt: skip
        p = subprocess.Popen([sys.executable, "-c", code, comm.decode() + "; touch pwn-argv"],
                             stdout=subprocess.PIPE, cwd=tmp_path)  # fmt: skip
        assert p.stdout is not None and p.stdout.readline() == b"ok\n"
        procs.append(p)
    yield procs
    for p in procs:
        p.kill()
        p.wait()
        if p.stdout is not None:
            p.stdout.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="names processes through /proc")
async def test_names_that_are_shell_code_stay_text(shell_named, tmp_path, monkeypatch):
    pids = ",".join(str(p.pid) for p in shell_named)
    for args in (["--format", "json"], [], ["--record", str(tmp_path / "rec.csv")]):
        r = subprocess.run([*TOPTUI, "-b", "-n", "2", "-d", "0.2", "-p", pids, *args],
                           capture_output=True, text=True, timeout=60, cwd=tmp_path)  # fmt: skip
        assert r.returncode == 0, r.stderr
    names = {p["name"] for p in json.loads(subprocess.run(
        [*TOPTUI, "-b", "-n", "1", "-p", pids, "--format", "json"], capture_output=True,
        text=True, timeout=60).stdout)["processes"]}  # fmt: skip
    assert names == {n.decode() for n in SHELL_NAMES}
    # The screen, with the export key: it writes toptui-PID-DATE.csv here, named by the pid.
    monkeypatch.chdir(tmp_path)
    app = TopApp(interval_s=0.2, pids=[p.pid for p in shell_named])
    async with app.run_test(size=(160, 45)) as pilot:
        loop = asyncio.get_running_loop()
        end = loop.time() + WAIT_S
        while app.frames_seen < 3:
            assert loop.time() < end
            await pilot.pause(0.05)
        await pilot.press("home", "x", "enter", "escape", "k", "escape", "q")
    written = sorted(p.name for p in tmp_path.iterdir())
    assert [n for n in written if n.startswith("pwn")] == []
    exports = [n for n in written if n.startswith("toptui-")]
    assert len(exports) == 1 and exports[0].split("-")[1] in pids.split(",")
    assert set(written) == {"rec.csv", *exports}
