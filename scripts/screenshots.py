"""Refresh the README's screenshots: `rag ui` over the sample corpus (this project's docs).

Run: .venv/bin/python scripts/screenshots.py   (needs Debian's chromium: scripts/install-browser.sh)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
QUESTION = "How do I delete a document?"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port = "7871"
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "rag"), "ui", "--index", f"{tmp}/index", "--port", port],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("ready"):
                break
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
                for name, (w, h) in {"desktop": (1280, 800), "phone": (390, 844)}.items():
                    page = browser.new_context(viewport={"width": w, "height": h}).new_page()
                    page.goto(f"http://127.0.0.1:{port}/")
                    page.locator("#question textarea").click()
                    page.keyboard.type(QUESTION)
                    page.keyboard.press("Enter")
                    page.wait_for_function(
                        "() => { const b = document.querySelectorAll('#chat [data-testid=\"bot\"]');"
                        " return b.length && !b[b.length - 1].innerText.includes('\\u258c'); }",
                        timeout=60_000,
                    )
                    page.locator("#sources .rag-source").first.wait_for(timeout=60_000)
                    page.wait_for_timeout(1500)
                    OUT.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(OUT / f"ui-{name}.png"))
                    print(f"wrote {OUT / f'ui-{name}.png'}")
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    main()
