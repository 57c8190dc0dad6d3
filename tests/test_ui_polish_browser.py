"""The newcomer's UI points, in a real browser (Debian's Chromium + Playwright) over ``rag ui``.

The server indexes small documents this test writes itself: a hard-wrapped Markdown file
with headings, a plain-text file named like a hash (no heading: it must give no example
question), and one whose title holds Markdown backticks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port, start_ui, stop_process

pytestmark = pytest.mark.slow
playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

FALCON = """# Project Falcon

Project Falcon is the river survey run by the Westbrook field station. Its leader
is Mira Okonkwo, who has directed the survey since 2019 and reports to the
station board every spring.

## Budget

The Falcon budget for the coming year is four million euros, most of it spent
on boats and water sensors. The station board approved that budget in March
after a short debate about the cost of the sensors.
"""
HASHED_NAME = "000_5e1f0c2a9b7d4e83.txt"
HASHED = (
    "The lighthouse at Carrow Point was kept by the Ellery family for three generations. "
    "Its lamp was converted to electricity in 1952, and the last keeper left in 1987.\n"
)
TICKS = "# Tuning `rag eval` runs\n\nA nightly `rag eval --limit 50` run on the small set takes about four minutes.\n"
# Characters that need an emoji font: pictographs, dingbats and symbols with emoji presentation.
EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff\ufe0f]")


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("polish-docs")
    (folder / "falcon.md").write_text(FALCON, "utf-8")
    (folder / HASHED_NAME).write_text(HASHED, "utf-8")
    (folder / "tuning.md").write_text(TICKS, "utf-8")
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, docs: Path) -> Iterator[dict[str, Any]]:
    """``rag ui`` over a new index whose sample corpus is ``docs``; uploads go where the app puts them."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-browser.sh")
    folder = tmp_path_factory.mktemp("polish-ui")
    port = free_port()
    proc = start_ui(["--index", str(folder / "index"), "--port", str(port), "--sample", str(docs)], folder)
    yield {"url": f"http://127.0.0.1:{port}/", "index": folder / "index", "folder": folder}
    stop_process(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(server: dict[str, Any], browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(server["url"])
    page.locator("#question textarea").wait_for()
    yield page
    context.close()


def _wait_answered(page: Any, n: int, timeout: float = 60_000) -> Any:
    """Wait until the ``n``-th answer is complete (no streaming cursor); return it."""
    page.wait_for_function(
        "n => { const b = document.querySelectorAll('#chat [data-testid=\"bot\"]'); "
        "return b.length === n && !b[n - 1].innerText.includes('\\u258c'); }", arg=n, timeout=timeout,
    )
    return page.locator('#chat [data-testid="bot"]').nth(n - 1)


def _ask(page: Any, question: str) -> Any:
    n = page.locator('#chat [data-testid="bot"]').count() + 1
    page.locator("#question textarea").fill(question)
    page.keyboard.press("Enter")
    return _wait_answered(page, n)


def _examples(page: Any) -> Any:
    return page.locator("#chat .examples button, #chat button.example")


def test_clicking_an_example_question_sends_it(page: Any) -> None:
    examples = _examples(page)
    examples.first.wait_for()
    texts = [t.strip() for t in examples.all_inner_texts()]
    assert "What do the documents say about Project Falcon?" in texts, texts
    assert "What do the documents say about Tuning rag eval runs?" in texts, texts
    for text in texts:
        assert "`" not in text and "000_" not in text and "5e1f0c2a" not in text, text
    examples.filter(has_text="Project Falcon").first.click()
    answer = _wait_answered(page, 1)
    assert page.locator('#chat [data-testid="user"]').first.inner_text().strip() == (
        "What do the documents say about Project Falcon?"
    )
    assert "[1]" in answer.inner_text()
    page.locator("#sources .rag-source").first.wait_for()
    assert _examples(page).count() == 0 or not _examples(page).first.is_visible()


def test_one_card_per_passage_readable_with_the_sentence_marked(page: Any) -> None:
    _ask(page, "What is the Falcon budget spent on and when was it approved?")
    cards = page.locator("#sources .rag-source")
    cards.first.wait_for()
    heads = cards.locator(".rag-source-head").all_inner_texts()
    assert any(re.search(r"\[1, 2\]", h) for h in heads), heads  # two citations of one passage: one card
    passages = cards.locator(".rag-passage").all_inner_texts()
    assert len(passages) == len(set(passages)), "a passage is shown twice"
    budget = next(p for p in passages if "four million euros" in p)
    assert "##" not in budget and "Budget" in budget
    # the source's hard line breaks are gone: the sentence reads as one line
    assert "most of it spent on boats and water sensors" in budget
    assert "approved that budget in March after a short debate" in budget
    marks = page.locator("#sources mark.rag-support").all_inner_texts()
    assert any("four million euros" in m for m in marks), marks


def test_code_quoted_from_markdown_shows_as_code_in_the_answer(page: Any) -> None:
    answer = _ask(page, "How long does a nightly rag eval run take?")
    assert "four minutes" in answer.inner_text()
    assert "`" not in answer.inner_text() and answer.locator("code").first.inner_text() == "rag eval --limit 50"


def test_phone_sources_come_before_any_example_and_nothing_needs_an_emoji_font(
    server: dict[str, Any], browser: Any
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    page = context.new_page()
    page.goto(server["url"])
    page.locator("#question textarea").wait_for()
    _ask(page, "Who leads Project Falcon?")
    sources = page.locator("#sources .rag-source").first
    sources.wait_for()
    top = sources.bounding_box()
    assert top is not None
    # any example question, wherever the app puts it, is a button naming a document's title
    examples = page.get_by_role("button", name=re.compile("Project Falcon|rag eval"))
    for i in range(examples.count()):
        box = examples.nth(i).bounding_box()
        assert box is None or box["y"] > top["y"], "an example question stands between the chat and its sources"
    # not found, and a stray navbar
    _ask(page, "What colour is the station cat?")
    page.locator("#sources .rag-notfound").wait_for()
    assert page.get_by_role("button", name="Home").count() == 0 and page.get_by_role("link", name="Home").count() == 0
    text = page.locator("body").inner_text()
    assert not EMOJI.findall(text), EMOJI.findall(text)
    context.close()


def test_delete_asks_first_and_uploads_stay_inside_the_index(
    page: Any, server: dict[str, Any], tmp_path: Path
) -> None:
    herons = tmp_path / "herons.md"
    herons.write_text("# Herons\n\nThe heron called Hugo fishes at the mill pond every dawn.\n", "utf-8")
    page.get_by_role("tab", name="Documents").click()
    page.locator("#upload input[type=file]").set_input_files([str(herons)])
    page.locator("#upload").get_by_text("herons", exact=False).first.wait_for()
    page.locator("#add-docs").click()
    progress = page.locator("#ingest-progress")
    progress.get_by_text("chunks embedded").wait_for(timeout=60_000)
    assert not EMOJI.findall(progress.inner_text())
    assert (server["index"] / "uploads" / "herons.md").is_file(), "uploads are kept inside the index folder"

    page.locator("#delete-pick input").click()
    page.get_by_role("option", name="herons.md").click()
    page.locator("#delete-doc").click()
    question = page.locator("#delete-question")
    question.get_by_text("herons.md").wait_for()
    assert "herons.md" in page.locator("#documents").inner_text(), "nothing is deleted before confirming"
    page.locator("#delete-cancel").click()
    page.locator("#delete-confirm").wait_for(state="hidden")
    assert "herons.md" in page.locator("#documents").inner_text()

    page.locator("#delete-doc").click()
    page.locator("#delete-confirm").click()
    page.locator("#delete-note").get_by_text("Deleted herons.md").wait_for()
    page.wait_for_function("() => !document.querySelector('#documents').innerText.includes('herons.md')")
    page.locator("#delete-confirm").wait_for(state="hidden")
    assert not (server["index"] / "uploads" / "herons.md").exists()
