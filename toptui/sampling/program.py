"""The program an interpreter runs, for naming a process the way htop does.

Three ``python3`` processes (a leaker, a holder, a sawtooth) all show as ``python3`` in top's
COMMAND; what tells them apart is the script. For an interpreter the program is its name plus
what it runs: ``python3 leaker.py``, ``python3 -m app``, ``node server.js``, ``java app.jar``,
``java Main``, ``bash backup.sh``. Anything else is its own program: the name (top's comm).

Rules, from the command line (arguments separated by spaces, as /proc gives them to toptui):

- the interpreter is recognised by the process's name (top's comm): python (any version, pypy
  too), node/nodejs, ruby, perl, php, java, sh/bash/dash/zsh/ksh; a process that named itself
  otherwise (setproctitle, prctl) keeps the name it chose;
- its options are skipped, with the values of those that take one (``-W error``, ``-cp lib``);
- ``python -m mod`` gives ``-m mod``; ``java -jar app.jar`` gives ``app.jar``; ``-c``/``-e`` code
  gives ``-c``/``-e`` alone (code is no name);
- a script is shown by its base name (``/srv/app/leaker.py`` → ``leaker.py``);
- a shell is named for its script only: ``bash -c '...'`` and a login shell stay ``bash``.

Pure: no /proc, no Textual.
"""

from __future__ import annotations

import re

_PYTHON = re.compile(r"^(python|pypy)(\d+(\.\d+)*)?[a-z]?$")
_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh"})
# Options that take the next argument as their value, per interpreter family.
_VALUED = {
    "python": frozenset({"-W", "-X", "--check-hash-based-pycs"}),
    "node": frozenset(
        {
            "-r",
            "--require",
            "--import",
            "--loader",
            "--experimental-loader",
            "--inspect-port",
            "--title",
            "--env-file",
        }
    ),
    "ruby": frozenset({"-I", "-r", "-C", "-E", "--encoding"}),
    "perl": frozenset({"-I", "-M", "-m"}),
    "php": frozenset({"-c", "-d", "-z"}),
    "java": frozenset(
        {
            "-cp",
            "-classpath",
            "--class-path",
            "-p",
            "--module-path",
            "--add-modules",
            "--add-opens",
            "--add-exports",
            "-javaagent",
        }
    ),
    "shell": frozenset({"-o", "+o", "-O", "+O"}),
}
# Options whose value is code or a module: the program is the option (and module) itself.
_CODE = {
    "python": {"-c": False, "-m": True},
    "node": {"-e": False, "--eval": False, "-p": False, "--print": False},
    "ruby": {"-e": False},
    "perl": {"-e": False, "-E": False},
    "php": {"-r": False},
    "java": {"-jar": True, "-m": True, "--module": True},
    "shell": {"-c": False},
}


def _family(base: str) -> str | None:
    if _PYTHON.match(base):
        return "python"
    if base in ("node", "nodejs"):
        return "node"
    if base in ("ruby", "perl", "php", "java"):
        return base
    if base.startswith("php") and base[3:].replace(".", "").isdigit():
        return "php"
    if base in _SHELLS:
        return "shell"
    return None


def _base(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def program_of(name: str, command: str) -> str:
    """``name`` (top's comm) or, for an interpreter, the interpreter and what it runs."""
    args = command.split()
    if not args:
        return name
    family = _family(name)
    if family is None:  # not an interpreter, or one that renamed itself (setproctitle, prctl)
        return name
    interpreter = _base(args[0]).lstrip("-")  # a login shell's argv[0] is "-bash"
    shown = interpreter if _family(interpreter) == family else name
    valued, code = _VALUED[family], _CODE[family]
    i = 1
    while i < len(args):
        arg = args[i]
        if arg in code:
            takes_value = code[arg]
            if takes_value and i + 1 < len(args):
                value = args[i + 1]
                return f"{shown} {_base(value) if arg == '-jar' else f'{arg} {value}'}"
            return f"{shown} {arg}"
        if arg == "--":
            i += 1
            break
        if not arg.startswith(("-", "+")) or arg in ("-", "+"):
            break
        if arg in valued:
            i += 2
            continue
        if family == "java" and arg.startswith(("-D", "-X", "-javaagent:", "--")) and "=" in arg:
            i += 1
            continue
        i += 1
    if i >= len(args) or args[i] in ("-", "+"):
        return shown
    target = args[i]
    if family == "java":
        return f"{shown} {target}"
    return f"{shown} {_base(target)}"
