"""The app's named endpoints from ``gradio_client``: the documented example, many sessions, login.

A real Gradio server on a free port over a real index (the fixture article + docs/ui.md).
"""

from __future__ import annotations

import contextlib
import io
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from rag import Assistant
from tests.conftest import ARTICLE, free_port
from tests.test_answers import ANSWERABLE
from ui.app import UIConfig, build_app, launch
from ui.handlers import Handlers

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
DOCS_UI = REPO / "docs" / "ui.md"


def _serve(assistant: Assistant, tmp: Path, **config: object) -> tuple[str, Callable[[], None]]:
    cfg = UIConfig(host="127.0.0.1", port=free_port(), uploads_dir=tmp / "uploads", **config)  # type: ignore[arg-type]
    demo = build_app(assistant, cfg)
    demo.queue(default_concurrency_limit=2)
    url = launch(demo, cfg, block=False)
    return url, lambda: demo.close(verbose=False)


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, embedder: object
) -> Iterator[tuple[str, Assistant]]:
    from index.store import ChromaStore
    from rag import Settings

    folder = tmp_path_factory.mktemp("ui-api-index")
    store = ChromaStore.persistent(str(folder))
    a = Assistant.from_parts(store=store, embedder=embedder, settings=Settings(index_dir=str(folder)))  # type: ignore[arg-type]
    assert a.ingest([ARTICLE, DOCS_UI]).ok
    url, close = _serve(a, folder)
    yield url, a
    close()


def test_the_documented_three_line_client_example_runs(served: tuple[str, Assistant]) -> None:
    url, _ = served
    block = re.search(r"```python\n(.*?)```", DOCS_UI.read_text(), re.S)
    assert block, "docs/ui.md has no python example"
    code = block.group(1)
    assert len(code.strip().splitlines()) == 3 and "http://127.0.0.1:7860/" in code
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code.replace("http://127.0.0.1:7860/", url), {})
    printed = out.getvalue()
    assert "[1]" in printed and "Not found" not in printed, printed


def test_ingest_sources_delete_over_the_api(served: tuple[str, Assistant], tmp_path: Path) -> None:
    url, _ = served
    client = Client(url, verbose=False)
    doc = tmp_path / "otters.md"
    doc.write_text("# Otters\n\nThe otter named Olga juggles pebbles on the river bank in Tromsø.\n")
    bad = tmp_path / "x.exe"
    bad.write_bytes(b"MZ")
    report = client.predict([handle_file(str(doc)), handle_file(str(bad))], api_name="/ingest")
    assert report["ok"] and len(report["added"]) == 1
    assert report["rejected"][0]["name"] == "x.exe" and "not accepted" in report["rejected"][0]["reason"]
    assert "otters.md" in [r["display"] for r in client.predict(api_name="/sources")]
    answer = client.predict("What does Olga juggle?", api_name="/ask")
    assert "pebbles" in answer["text"] and answer["citations"][0]["chunk"]["display"] == "otters.md"
    assert client.predict("otters.md", api_name="/delete")
    assert "otters.md" not in [r["display"] for r in client.predict(api_name="/sources")]


def test_ten_sessions_five_questions_each_at_once(served: tuple[str, Assistant]) -> None:
    url, assistant = served
    questions = list(ANSWERABLE)
    handlers = Handlers(assistant, uploads_dir=Path("unused"))

    def conversation(i: int) -> list[str]:
        return [questions[(i + k) % len(questions)] for k in range(5)]

    def alone(i: int) -> list[str]:
        """The same conversation run by itself, one question after another (follow-ups condense)."""
        turns: tuple[object, ...] = ()
        texts = []
        for q in conversation(i):
            result, turns = handlers.ask(q, 5, "", turns)
            texts.append(str(result["text"]))
        return texts

    expected = {i: alone(i) for i in range(10)}
    results: dict[int, list[dict[str, object]]] = {}
    errors: list[BaseException] = []

    def session(i: int) -> None:
        try:
            client = Client(url, verbose=False)
            results[i] = [client.predict(q, api_name="/ask") for q in conversation(i)]
        except BaseException as exc:  # collected and reported below
            errors.append(exc)

    started = time.perf_counter()
    threads = [threading.Thread(target=session, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    took = time.perf_counter() - started
    print(f"\n10 sessions x 5 questions over gradio_client: {took:.1f}s")
    assert not errors, errors
    assert len(results) == 10
    for i, answers in results.items():
        mine = conversation(i)
        assert ANSWERABLE[mine[0]] in str(answers[0]["text"])
        for k, (q, r) in enumerate(zip(mine, answers, strict=True)):
            assert r["question"] == q and r["text"] == expected[i][k], f"session {i}, question {k + 1}"
            assert r["citations"]
            assert r["turn"] == k + 1 and r["history"] == mine[: k + 1], f"session {i} saw another's history"
    assert took < 240


def test_login_is_required_when_auth_is_set(article_assistant: Assistant, tmp_path: Path) -> None:
    url, close = _serve(article_assistant, tmp_path, auth=[("ann", "s3cret")])
    try:
        with pytest.raises(Exception):  # noqa: B017 - gradio_client raises its own kinds
            Client(url, verbose=False).predict("Who is Ilse Varga?", api_name="/ask")
        with pytest.raises(Exception):  # noqa: B017
            Client(url, auth=("ann", "wrong"), verbose=False)
        answer = Client(url, auth=("ann", "s3cret"), verbose=False).predict("Who is Ilse Varga?", api_name="/ask")
        assert "chief water engineer" in answer["text"]
        import httpx

        page = httpx.get(url + "source?chunk=" + answer["citations"][0]["chunk"]["id"])
        assert "chief water engineer" not in page.text  # the document page is behind the login too
    finally:
        close()
