"""The layering is a contract that fails the build: import-linter's contracts (.importlinter),
and at run time, headless entry points that never load the UI toolkit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    r = subprocess.run([str(lint), "--config", str(ROOT / ".importlinter")], cwd=ROOT,
                       capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout


def test_analyze_loads_no_textual(tmp_path):
    trace = tmp_path / "t.csv"
    trace.write_text("t,rss\n" + "".join(f"{i},{(100 + i) * 4096 * 256}\n" for i in range(120)))
    code = ("import sys; from toptui import analyze; "
            f"rc = analyze.main([{str(trace)!r}, '--format', 'json']); "
            "print('textual' in sys.modules, 'toptui.views' in sys.modules, rc)")  # fmt: skip
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip().splitlines()[-1] == "False False 0"
