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
    code = ("import sys; from toptui.commands import analyze; "
            f"rc = analyze.main([{str(trace)!r}, '--format', 'json']); "
            "print('textual' in sys.modules, 'toptui.views' in sys.modules, rc)")  # fmt: skip
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip().splitlines()[-1] == "False False 0"


def test_serve_loads_no_textual():
    """toptui serve, through the command line, samples and answers a scrape with no UI toolkit."""
    code = """
import os, signal, sys, threading, time, urllib.request
import toptui.commands.serve
urls = []
toptui.commands.serve.say = lambda prog, line: urls.append(line.split()[-1])

def scrape():
    end = time.monotonic() + 60
    body = ""
    while "toptui_process_leak" not in body and time.monotonic() < end:
        time.sleep(0.05)
        if urls:
            body = urllib.request.urlopen(urls[0], timeout=60).read().decode()
    print("scraped" if "toptui_process_leak" in body else "not scraped")
    os.kill(os.getpid(), signal.SIGTERM)

threading.Thread(target=scrape, daemon=True).start()
from toptui.commands.cli import main
rc = main(["serve", "--listen", "127.0.0.1:0", "-d", "0.1"])
print("textual" in sys.modules, "toptui.views" in sys.modules, rc)
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.stdout.strip().splitlines()[-2:] == ["scraped", "False False 0"], r.stdout + r.stderr
