"""Command-line pieces shared by ``toptui`` and ``toptui analyze``."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """A mistake is one line on stderr naming the program, and exit status 2: no usage dump."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: {message} (try '{self.prog} --help')\n")
        sys.exit(2)


def pid_list(text: str) -> list[int]:
    """``-p 12,34``: positive process ids, separated by commas."""
    pids = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or int(part) < 1:
            raise argparse.ArgumentTypeError(f"not a process id: {part!r}")
        pids.append(int(part))
    if not pids:
        raise argparse.ArgumentTypeError("no process id given")
    return pids
