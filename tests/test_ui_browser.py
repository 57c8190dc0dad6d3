"""The app in a real browser: Debian's Chromium driven by Playwright, over ``rag ui`` in a subprocess.

Needs ``/usr/bin/chromium`` (scripts/install-browser.sh) and the ``playwright`` package;
Playwright's own browser download is not used. Screenshots of each step go to
``test-artifacts/ui/`` (the README's screenshots come from ``scripts/screenshots.py``).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ARTICLE, free_port, start_ui, stop_process

pytestmark = pytest.mark.slow
playwright_api = pytest.importorskip("playwright.sync_api")

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "ui"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
XSS_DOC = (
    "# Zorblat care\n\nThe zorblat <script>window.__pwned = 1</script> eats moss and "
    '<img src=x onerror="window.__pwned = 2"> lichen every single day.\n'
)
TIMING_JS = """
window.__t = {enter: [], first: []};
document.addEventListener('keydown', e => {
  if (e.key === 'Enter' && e.target.closest('#question')) window.__t.enter.push(performance.now());
}, true);
new MutationObserver(() => {
  const bots = document.querySelectorAll('#chat [data-testid="bot"]');
  const n = bots.length, t = window.__t;
  if (n && n === t.enter.length && t.first.length < n) {
    const text = bots[n - 1].innerText.replace('\\u258c', '').trim();
    if (text) t.first.push(performance.now());
  }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``rag ui`` over a fresh index; the empty index gets the fixture article as its sample corpus."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-browser.sh")
    folder = tmp_path_factory.mktemp("ui-browser")
    port = free_port()
    started = time.perf_counter()
    proc = start_ui(["--index", str(folder / "index"), "--port", str(port), "--sample", str(ARTICLE),
                     "--uploads", str(folder / "uploads")], folder)
    ready = time.perf_counter() - started
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield {"url": f"http://127.0.0.1:{port}/", "ready": ready, "started": started, "folder": folder}
    stop_process(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def _ask(page: Any, question: str, done_text: str, timeout: float = 60_000) -> Any:
    """Type ``question``, press Enter, wait until the newest answer is complete and contains ``done_text``."""
    n = page.locator('#chat [data-testid="user"]').count() + 1
    box = page.locator("#question textarea")
    box.click()
    page.keyboard.type(question)
    page.keyboard.press("Enter")
    page.locator('#chat [data-testid="bot"]').nth(n - 1).filter(has_text=done_text).wait_for(timeout=timeout)
    page.wait_for_function(
        "n => { const b = document.querySelectorAll('#chat [data-testid=\"bot\"]'); "
        "return b.length === n && !b[n - 1].innerText.includes('\\u258c'); }", arg=n, timeout=timeout,
    )
    return page.locator('#chat [data-testid="bot"]').nth(n - 1)


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_ask_follow_up_open_source_upload_delete(server: dict[str, Any], browser: Any, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.add_init_script(TIMING_JS)
    page.goto(server["url"])
    page.locator("#question textarea").wait_for()
    ready_in_browser = time.perf_counter() - server["started"]
    _shot(page, "01-ready")

    # ask; the answer streams in; the sources panel shows the cited passage, sentence highlighted
    answer = _ask(page, "Who is Ilse Varga?", "chief water engineer")
    mark = page.locator("#sources .rag-source mark.rag-support").first
    mark.wait_for()
    assert "led by Ilse Varga, the city's chief water engineer" in mark.inner_text()
    assert ARTICLE.name in page.locator("#sources .rag-file").first.inner_text()
    assert "score" in page.locator("#sources .rag-meta").first.inner_text()
    _shot(page, "02-answer")

    # [1] opens the cited document, scrolled to the highlighted sentence
    with context.expect_page() as opened:
        answer.get_by_role("link", name="[1]").click()
    doc = opened.value
    doc.locator("#rag-cited").wait_for(timeout=30_000)
    assert "chief water engineer" in doc.locator("#rag-cited").inner_text()
    assert "Brennmoor Tunnelling" in doc.locator(".rag-doc-text").inner_text()  # the whole document, not just the chunk
    doc.screenshot(path=str(ARTIFACTS / "03-source.png"))
    doc.close()

    # a follow-up in the same conversation
    _ask(page, "What did she say at the groundbreaking?", "[1]")
    assert page.locator('#chat [data-testid="bot"]').count() == 2
    page.locator("#sources .rag-source").first.wait_for()
    _shot(page, "04-follow-up")

    # upload a new file (and the hostile one, and a refused type), see per-file results
    herons = tmp_path / "herons.md"
    herons.write_text("# Herons\n\nThe heron named Hugo fishes at the quiet lake every dawn.\n")
    zorblat = tmp_path / "zorblat.md"
    zorblat.write_text(XSS_DOC)
    page.get_by_role("tab", name="Documents").click()
    page.locator("#upload input[type=file]").set_input_files([str(herons), str(zorblat)])
    page.locator("#upload").get_by_text("zorblat", exact=True).wait_for()
    page.locator("#add-docs").click()
    progress = page.locator("#ingest-progress")
    progress.get_by_text("chunks embedded").wait_for(timeout=60_000)
    assert "herons.md" in progress.inner_text() and "done: added" in progress.inner_text()
    page.locator("#documents").get_by_text("herons.md").wait_for()
    _shot(page, "05-uploaded")

    # ask about it
    page.get_by_role("tab", name="Chat").click()
    _ask(page, "Who fishes at the quiet lake?", "Hugo")
    assert "herons.md" in page.locator("#sources .rag-file").first.inner_text()
    _shot(page, "06-ask-new-file")

    # the hostile document is shown as text and runs nothing, in the chat, the panel and the page
    hostile = _ask(page, "What does the zorblat eat every single day?", "lichen")
    assert "<img src=x" in hostile.inner_text() or "<script>" in hostile.inner_text()
    assert "<script>window.__pwned" in page.locator("#sources").inner_text()
    with context.expect_page() as opened:
        hostile.get_by_role("link", name="[1]").click()
    doc = opened.value
    doc.locator("#rag-cited").wait_for(timeout=30_000)
    assert "<img src=x" in doc.locator(".rag-doc-text").inner_text()
    assert doc.evaluate("window.__pwned") is None and doc.locator(".rag-doc-text img").count() == 0
    doc.close()
    assert page.evaluate("window.__pwned") is None and not dialogs
    assert page.locator("#chat img[src='x'], #sources img").count() == 0
    _shot(page, "07-escaped")

    # delete the new file; it is gone from the list and from answers
    page.get_by_role("tab", name="Documents").click()
    page.locator("#delete-pick input").click()
    page.get_by_role("option", name="herons.md").click()
    page.locator("#delete-doc").click()
    page.locator("#delete-confirm").click()  # deleting asks first
    page.locator("#delete-note").get_by_text("Deleted herons.md").wait_for()
    page.wait_for_function("() => !document.querySelector('#documents').innerText.includes('herons.md')")
    _shot(page, "08-deleted")
    page.get_by_role("tab", name="Chat").click()
    last = _ask(page, "Who fishes at the quiet lake?", "")
    assert "Hugo" not in last.inner_text()

    # first keypress (Enter) to first streamed token, over every question asked
    for q in ("Which contractor is digging the tunnel?", "How high is the earth dam?"):
        _ask(page, q, "")
    t = page.evaluate("window.__t")
    waits = [f - e for e, f in zip(t["enter"], t["first"], strict=False)]
    assert len(waits) >= 5
    print(f"\nfirst token after Enter: p50 {statistics.median(waits):.0f} ms over {len(waits)} questions "
          f"(min {min(waits):.0f}, max {max(waits):.0f})")
    print(f"rag ui: 'ready' printed after {server['ready']:.1f}s; chat usable in the browser after "
          f"{ready_in_browser:.1f}s (from starting the command, sample corpus ingested)")
    context.close()


@pytest.mark.parametrize(("name", "viewport"), [("desktop", (1280, 800)), ("phone", (390, 844))])
def test_layout_at_desktop_and_phone_width(
    server: dict[str, Any], browser: Any, name: str, viewport: tuple[int, int]
) -> None:
    w, h = viewport
    context = browser.new_context(viewport={"width": w, "height": h}, device_scale_factor=1)
    page = context.new_page()
    page.goto(server["url"])
    page.locator("#question textarea").wait_for()
    _ask(page, "Who is Ilse Varga?", "chief water engineer")
    page.locator("#sources .rag-source").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= w + 1, "horizontal scrolling"
    chat = page.locator("#chat").bounding_box()
    sources = page.locator("#sources").bounding_box()
    assert chat and sources
    if name == "desktop":
        assert sources["x"] > chat["x"] + chat["width"] - 1, "the sources panel sits beside the chat"
    else:
        assert sources["y"] > chat["y"] + chat["height"] - 1, "on a phone the sources panel comes below"
        assert chat["width"] > w * 0.8
    path = ARTIFACTS / f"ui-{name}.png"
    page.screenshot(path=str(path))
    context.close()


def _upload_in_a_new_page(server: dict[str, Any], browser: Any, files: list[Path], shot: str) -> dict[str, str]:
    """Upload ``files`` in the Documents tab of a fresh page; the progress rows by file name, once done."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(server["url"])
    page.get_by_role("tab", name="Documents").click()
    page.locator("#upload input[type=file]").set_input_files([str(f) for f in files])
    page.locator("#upload").get_by_text(files[-1].name.removesuffix(".zip"), exact=True).wait_for()
    page.locator("#add-docs").click()
    progress = page.locator("#ingest-progress")
    progress.get_by_text("chunks embedded").wait_for(timeout=60_000)
    _shot(page, shot)
    text = progress.inner_text()
    context.close()
    return {line.split("\t")[1].strip(): line for line in text.splitlines() if line.count("\t") >= 2}


def test_hostile_zips_uploaded_in_the_browser_stay_inside_the_uploads_folder(
    server: dict[str, Any], browser: Any, tmp_path: Path
) -> None:
    from tests import hostile_uploads as hostile

    folder: Path = server["folder"]  # the working folder of `rag ui`; its uploads folder is folder/uploads
    (folder / "victim").mkdir(exist_ok=True)
    (folder / "victim" / "notes.md").write_text(hostile.VICTIM_TEXT)
    skip = (folder / "uploads", folder / "index")
    before = hostile.snapshot(folder, skip)

    rows = _upload_in_a_new_page(server, browser, [hostile.dots_zip(tmp_path)], "09-dots-zip")
    assert (folder / "victim" / "notes.md").read_text() == hostile.VICTIM_TEXT
    assert hostile.snapshot(folder, skip) == before, "a file outside the uploads folder changed"
    assert "done: added" in rows["archive/victim/notes.md"]

    files = [hostile.escaping_zip(tmp_path), hostile.bad_crc_zip(tmp_path)]
    rows = _upload_in_a_new_page(server, browser, files, "10-hostile-zips")
    assert "done: added" in rows["escaping/good/kept.md"] and "done: added" in rows["bad-crc/sound.md"]
    assert "climbs out" in rows["escaping.zip/../../victim/notes.md"]
    assert "absolute" in rows["escaping.zip//tmp/absolute-escape.md"]
    assert "symbolic link" in rows["escaping.zip/link.md"]
    assert "Bad CRC-32" in rows["bad-crc.zip/broken.md"]
    assert hostile.snapshot(folder, skip) == before, "a file outside the uploads folder changed"
    assert hostile.leftovers(folder / "uploads") == []
