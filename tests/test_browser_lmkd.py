"""Notebook 06's widget panel in a real browser: Voila serves it on 127.0.0.1, Playwright
drives Debian's Chromium (/usr/bin/chromium, installed by .ci/run with apt; Playwright is
only the driver, no browser is downloaded).

Checks: (1) the panel renders (the result line appears, computed by the model in the
kernel); (2) moving one slider by one step with the keyboard, as a user would, re-runs
the model and changes the plotted result (the summary text and the image).

The served notebook holds only the two lines notebook 06 uses to wire the panel
(``lmkd_panel()`` and its ``box``): Voila executes a notebook in full before it renders,
and notebook 06's other cells are not needed to check the panel.

Where Chromium, Voila or Playwright are missing the test skips and says which; with
``MRELEASE_REF_REQUIRE_BROWSER=1`` (set by .ci/run) it fails instead, so CI cannot pass
without running it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
PANEL_CELLS = [
    "from mrelease_ref.widgets.lmkd import lmkd_panel\n\npanel = lmkd_panel()",
    "panel.box",
]


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (.ci/run installs it with apt-get)"
    for mod in ("voila", "playwright"):
        try:
            __import__(mod)
        except ImportError:
            return f"python package {mod!r} is missing (pip install -e '.[browser]')"
    return None


def _skip_or_fail() -> None:
    reason = _missing()
    if reason is None:
        return
    if os.environ.get("MRELEASE_REF_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser test required but {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"voila exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"voila did not listen on {port} within {timeout} s")


@pytest.fixture
def voila_url(tmp_path: Path) -> Iterator[str]:
    """Serve a notebook holding the panel with Voila on 127.0.0.1 (stopped afterwards)."""
    _skip_or_fail()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in PANEL_CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = tmp_path / "lmkd_panel.ipynb"
    nbformat.write(nb, path)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["PYTHONPATH"] = str(ROOT)
    log = (tmp_path / "voila.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "voila", str(path), "--no-browser", f"--port={port}",
         "--Voila.ip=127.0.0.1", "--show_tracebacks=True"],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        _wait_port(port, proc, 60)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()  # our own Voila process only
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


def test_panel_renders_and_a_slider_changes_the_plot(voila_url: str, tmp_path: Path) -> None:
    """The panel appears with a model result; one ArrowRight on the "launch anon MiB"
    slider (800 -> 900 MiB) re-runs the model and changes the text and the picture."""
    from playwright.sync_api import expect, sync_playwright

    profile = tmp_path / "chromium-profile"  # a fresh --user-data-dir
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
        )
        try:
            page = ctx.new_page()
            page.goto(voila_url, wait_until="domcontentloaded")
            result = page.locator(".lmkd-result")
            expect(result).to_contain_text("kills", timeout=180_000)  # (1) rendered
            image = page.locator(".widget-image").first
            expect(image).to_have_attribute("src", __import__("re").compile("."))
            before_text = result.inner_text()
            before_src = image.get_attribute("src")
            readout = page.locator(".widget-readout").nth(3)
            expect(readout).to_have_text("800")
            page.locator(".widget-slider .noUi-handle").nth(3).focus()
            page.keyboard.press("ArrowRight")
            expect(readout).to_have_text("900")
            expect(result).not_to_have_text(before_text, timeout=120_000)  # (2) re-run
            expect(image).not_to_have_attribute("src", before_src or "", timeout=30_000)
            shot = ROOT / "build" / "e2e"
            shot.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot / "lmkd_panel.png"))
        finally:
            ctx.close()
    assert shutil.which(str(CHROMIUM))
