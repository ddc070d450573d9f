"""Regenerate screenshots/*.svg from the real app, watching a real leaking process in real time.

It starts a child that leaks ~2 MiB/s and one that holds 300 MiB flat, runs toptui headless at
160x45 until the detector flags the leaker (about a minute of history), then saves the table
sorted by memory with the growth panel, and the leaker's detail view.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from toptui.views.app import TopApp
from toptui.views.detail_screen import DetailScreen

LEAKER = r"""
import sys, time
kept = []
print("ok", flush=True)
t0 = time.monotonic(); i = 0
while True:
    i += 1
    kept.append(b"x" * (512 * 1024))
    time.sleep(max(0.0, t0 + i * 0.25 - time.monotonic()))
"""
FLAT = "import sys, time; big = b'x' * (300 << 20); print('ok', flush=True); time.sleep(10**6)"


def spawn(code: str) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    p.stdout.readline()
    return p


async def shoot(out: Path) -> None:
    leaker, flat = spawn(LEAKER), spawn(FLAT)
    try:
        app = TopApp(interval_s=1.0)
        async with app.run_test(size=(160, 45)) as pilot:
            await pilot.press("M")
            for _ in range(240):
                await pilot.pause(1.0)
                if app.frame and any(k[0] == leaker.pid for k, _ in app.frame.leaks()):
                    break
            else:
                raise SystemExit("the leaker was not flagged within 4 minutes")
            await pilot.pause(3.0)
            app.table.select_key(next(k for k, _ in app.frame.leaks() if k[0] == leaker.pid))
            await pilot.pause(0.2)
            app.save_screenshot(str(out / "main.svg"))
            await pilot.press("enter")
            await pilot.pause(2.5)
            assert isinstance(app.screen, DetailScreen)
            app.save_screenshot(str(out / "detail.svg"))
    finally:
        for p in (leaker, flat):
            p.kill()
            p.wait()


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")
    target.mkdir(parents=True, exist_ok=True)
    asyncio.run(shoot(target))
    print(f"wrote {target}/main.svg and {target}/detail.svg")
