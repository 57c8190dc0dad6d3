"""Hostile uploads through ``gradio_client`` against a real app server, and the login and upload limits.

The server's uploads folder sits beside a folder ``victim/`` that no upload may touch; every
test checks that nothing outside the uploads folder changed and that the report names
each refused file with its reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client, handle_file

from rag import Assistant
from tests import hostile_uploads as hostile
from tests.test_ui_api import _serve
from ui.handlers import Handlers

pytestmark = pytest.mark.slow
LIMIT_MB = 0.1  # small, so a bomb that fits the upload limit still expands far past it


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, embedder: object) -> Iterator[dict[str, Any]]:
    """A server over an empty index; ``base/uploads`` is its uploads folder, ``base/victim`` is not."""
    from index.store import ChromaStore
    from rag import Settings

    base = tmp_path_factory.mktemp("upload-security")
    (base / "victim").mkdir()
    (base / "victim" / "notes.md").write_text(hostile.VICTIM_TEXT)
    index = base / "index"
    store = ChromaStore.persistent(str(index))
    assistant = Assistant.from_parts(store=store, embedder=embedder, settings=Settings(index_dir=str(index)))  # type: ignore[arg-type]
    url, close = _serve(assistant, base, max_upload_mb=LIMIT_MB)
    yield {"url": url, "base": base, "uploads": base / "uploads", "assistant": assistant}
    close()


@pytest.fixture
def upload(site: dict[str, Any], tmp_path: Path) -> Iterator[Callable[..., dict[str, Any]]]:
    """Upload files through ``/ingest``; afterwards nothing outside ``uploads`` has changed."""
    base, uploads = site["base"], site["uploads"]
    skip = (uploads, base / "index")
    (base / "victim" / "notes.md").write_text(hostile.VICTIM_TEXT)  # each test starts from the original
    before = hostile.snapshot(base, skip)
    client = Client(site["url"], verbose=False)

    def send(*paths: Path) -> dict[str, Any]:
        result: dict[str, Any] = client.predict([handle_file(str(p)) for p in paths], api_name="/ingest")
        return result

    yield send
    assert hostile.snapshot(base, skip) == before, "a file outside the uploads folder changed"
    assert (base / "victim" / "notes.md").read_text() == hostile.VICTIM_TEXT
    assert hostile.leftovers(uploads) == []


def _reasons(report: dict[str, Any]) -> dict[str, str]:
    return {r["name"]: r["reason"] for r in report["rejected"]}


def _saved(report: dict[str, Any], uploads: Path) -> dict[str, str]:
    return {s["name"]: Path(s["file"]).relative_to(uploads).as_posix() for s in report["saved"]}


def test_a_zip_named_with_dots_unpacks_inside_the_uploads_folder(
    site: dict[str, Any], upload: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    uploads = site["uploads"]
    report = upload(hostile.dots_zip(tmp_path))
    assert report["ok"] and report["rejected"] == []
    assert _saved(report, uploads) == {"...zip/victim/notes.md": "archive/victim/notes.md"}
    assert (uploads / "archive" / "victim" / "notes.md").read_text().startswith("# Tampered")
    removed = Client(site["url"], verbose=False).predict("notes.md", api_name="/delete")
    assert removed == [str(uploads / "archive" / "victim" / "notes.md")]
    assert not (uploads / "archive").exists()  # the app's own copy goes; the victim stays (checked after the test)

    first = tmp_path / "first.md"
    first.write_text(hostile.TEXT.format(title="First"))
    assert upload(first)["ok"]
    report = upload(hostile.dots_zip(tmp_path, "..zip", member="first.md"))  # stem "." was the uploads folder
    assert _saved(report, uploads) == {"..zip/first.md": "archive/first.md"}
    assert (uploads / "first.md").read_text() == hostile.TEXT.format(title="First")


def test_members_that_leave_the_archive_are_refused_by_name(
    site: dict[str, Any], upload: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    report = upload(hostile.escaping_zip(tmp_path))
    reasons = _reasons(report)
    assert "climbs out" in reasons["escaping.zip/../../victim/notes.md"]
    assert "climbs out" in reasons["escaping.zip/docs/../../escape.md"]
    assert "absolute" in reasons["escaping.zip//tmp/absolute-escape.md"]
    assert "symbolic link" in reasons["escaping.zip/link.md"]
    assert _saved(report, site["uploads"]) == {"escaping.zip/good/kept.md": "escaping/good/kept.md"}
    assert report["ok"] and len(report["added"]) == 1
    assert not Path("/tmp/absolute-escape.md").exists()


def test_damaged_members_are_reported_and_leave_nothing_behind(
    site: dict[str, Any], upload: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    report = upload(hostile.bad_crc_zip(tmp_path), hostile.bad_deflate_zip(tmp_path))
    reasons = _reasons(report)
    assert "Bad CRC-32" in reasons["bad-crc.zip/broken.md"]
    assert "compressed data is damaged" in reasons["bad-deflate.zip/damaged.md"]
    assert _saved(report, site["uploads"]) == {"bad-crc.zip/sound.md": "bad-crc/sound.md"}  # the rest goes on
    assert not (site["uploads"] / "bad-crc" / "broken.md").exists()
    assert not (site["uploads"] / "bad-deflate").exists()


def test_a_zip_bomb_stops_at_the_upload_limit(
    site: dict[str, Any], upload: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    bomb = hostile.bomb_zip(tmp_path)
    assert bomb.stat().st_size < LIMIT_MB * 1e6  # the archive itself is within the limit
    report = upload(bomb)
    reasons = _reasons(report)
    assert _saved(report, site["uploads"]) == {"bomb.zip/part-0.txt": "bomb/part-0.txt"}
    for name in [f"part-{i}.txt" for i in range(1, 8)] + ["zeros.txt"]:
        assert "over the limit of 100 kB" in reasons[f"bomb.zip/{name}"], name
    unpacked = sum(p.stat().st_size for p in (site["uploads"] / "bomb").rglob("*") if p.is_file())
    assert unpacked <= LIMIT_MB * 1e6


def test_a_name_clash_gets_a_new_name(
    site: dict[str, Any], upload: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    tapir = tmp_path / "tapir.md"
    tapir.write_text(hostile.TEXT.format(title="Tapir"))
    assert upload(tapir)["ok"]
    archive = tmp_path / "tapir.md.zip"
    import zipfile

    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("tapir.md", hostile.TEXT.format(title="Zipped tapir"))
    report = upload(archive)
    assert report["ok"] and report["rejected"] == [] and len(report["added"]) == 1
    assert _saved(report, site["uploads"]) == {"tapir.md.zip/tapir.md": "tapir.md (2)/tapir.md"}
    assert (site["uploads"] / "tapir.md").read_text() == hostile.TEXT.format(title="Tapir")


def test_member_names_that_are_not_utf8(
    site: dict[str, Any], upload: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    report = upload(hostile.cp437_name_zip(tmp_path), hostile.false_utf8_name_zip(tmp_path))
    assert _saved(report, site["uploads"]) == {"legacy-names.zip/cafΘ.md": "legacy-names/cafΘ.md"}
    assert "not valid UTF-8" in _reasons(report)["false-utf8.zip"]
    assert report["ok"] and len(report["added"]) == 1


def test_a_file_that_fails_comes_back_as_data(upload: Callable[..., dict[str, Any]], tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n")
    report = upload(empty)  # used to raise HTTPStatusError 403: {"path": ...} looked like a file to download
    assert not report["ok"]
    assert report["failed"][0]["file"].endswith("empty.txt") and "empty" in report["failed"][0]["reason"]


def test_deleting_never_removes_a_file_the_app_did_not_write(
    make_assistant: Callable[..., Assistant], tmp_path: Path
) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    mine = uploads / "mine.md"  # put there by the user, not by the app, then indexed
    mine.write_text(hostile.TEXT.format(title="Mine"))
    outside = tmp_path / "victim" / "notes.md"
    outside.parent.mkdir()
    outside.write_text(hostile.VICTIM_TEXT)
    dotted = Path(str(uploads) + "/../victim/notes.md")  # indexed under a path that still holds ".."
    a = make_assistant()
    assert a.ingest([mine, dotted]).ok
    h = Handlers(a, uploads_dir=uploads)
    herons = tmp_path / "herons.md"
    herons.write_text(hostile.TEXT.format(title="Herons"))
    list(h.ingest([str(herons)]))
    for record in a.sources():
        h.delete(record.display)
    assert a.sources() == []
    assert mine.read_text() == hostile.TEXT.format(title="Mine") and outside.read_text() == hostile.VICTIM_TEXT
    assert not (uploads / "herons.md").exists()  # the app's own copy does go


def test_each_session_has_an_upload_allowance(make_assistant: Callable[..., Assistant], tmp_path: Path) -> None:
    url, close = _serve(make_assistant(), tmp_path, max_upload_mb=1.0, session_upload_mb=0.05)
    try:
        first, second = tmp_path / "first.txt", tmp_path / "second.txt"
        first.write_text("   \n" * 7_000)  # 28 kB each; blank, so nothing is embedded
        second.write_text("   \n" * 7_000)
        client = Client(url, verbose=False)
        report = client.predict([handle_file(str(first))], api_name="/ingest")
        assert report["rejected"] == [] and len(report["saved"]) == 1
        report = client.predict([handle_file(str(second))], api_name="/ingest")
        assert "upload allowance" in _reasons(report)["second.txt"] and report["saved"] == []
        assert "RAG_MAX_SESSION_UPLOAD_MB" in _reasons(report)["second.txt"]
        another = Client(url, verbose=False).predict([handle_file(str(second))], api_name="/ingest")
        assert another["rejected"] == [] and len(another["saved"]) == 1  # a new session has its own allowance
    finally:
        close()


def test_wrong_passwords_are_throttled(article_assistant: Assistant, tmp_path: Path) -> None:
    url, close = _serve(article_assistant, tmp_path, auth=[("ann", "s3cret")])

    def login(password: str) -> int:
        return httpx.post(url + "login", data={"username": "ann", "password": password}).status_code

    try:
        assert login("s3cret") == 200
        assert [login(f"guess{i}") for i in range(6)] == [400] * 6  # five count; then a wait of a second
        assert login("s3cret") == 400, "the right password got in straight after 6 wrong guesses"
        deadline = time.monotonic() + 120
        while login("s3cret") != 200:  # the wait is bounded; then the login works again
            assert time.monotonic() < deadline, "still locked out after two minutes"
            time.sleep(1)
        assert login("s3cret") == 200
    finally:
        close()
