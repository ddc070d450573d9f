"""Command-line pieces shared by ``toptui`` and ``toptui analyze``."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

# The refresh interval's bounds, the same for -d, the d key and a saved setting.
MIN_DELAY_S = 0.01
MAX_DELAY_S = 86400.0


class OneLineParser(argparse.ArgumentParser):
    """A mistake is one line on stderr naming the program, and exit status 2: no usage dump."""

    def error(self, message: str) -> NoReturn:
        try:
            sys.stderr.write(f"{self.prog}: {message} (try '{self.prog} --help')\n")
        except (OSError, ValueError, AttributeError):  # stderr closed or full: still status 2
            pass
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
