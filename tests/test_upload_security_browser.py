"""Every hostile upload of ``tests/hostile_uploads.py``, sent through the Documents tab in a real browser.

The same files as ``tests/test_upload_security.py`` (which sends them with gradio_client),
here chosen in the ``#upload`` control of Debian's Chromium (driven by Playwright) and added
with ``#add-docs``. The ``rag ui`` server runs in a folder that also holds ``victim/``; after
each upload nothing outside the uploads folder has changed, the progress table names every
refused or failed file with its reason, and the uploads folder holds no empty leftovers.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import hostile_uploads as hostile
from tests.conftest import free_port, start_ui, stop_process

pytestmark = pytest.mark.slow
playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
LIMIT_MB = 0.1  # small, so the bomb archive fits the upload limit yet expands far past it
OTTERS = "# River otters\n\nThe otters of the Lune valley sleep in holts dug under willow roots.\n"
FINISHED = """() => {
  const text = document.querySelector('#ingest-progress')?.innerText ?? '';
  return text.includes('chunks embedded') || document.body.innerText.includes('Nothing was added');
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``rag ui`` run in ``base``: its uploads folder is ``base/uploads``; ``base/victim`` is not its own."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-browser.sh")
    docs = tmp_path_factory.mktemp("hostile-browser-docs")
    (docs / "otters.md").write_text(OTTERS, "utf-8")
    base = tmp_path_factory.mktemp("hostile-browser")
    (base / "victim").mkdir()
    (base / "victim" / "notes.md").write_text(hostile.VICTIM_TEXT)
    port = free_port()
    proc = start_ui(["--index", str(base / "index"), "--port", str(port), "--sample", str(docs),
                     "--uploads", str(base / "uploads"), "--max-upload-mb", str(LIMIT_MB)], base)
    yield {"url": f"http://127.0.0.1:{port}/", "base": base, "uploads": base / "uploads"}
    stop_process(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def upload(site: dict[str, Any], browser: Any) -> Iterator[Callable[..., dict[str, str]]]:
    """Upload files in the Documents tab of a fresh page; afterwards nothing outside ``uploads`` has changed.

    Returns the progress table's status cell by file name, once the ingest has finished.
    """
    base, uploads = site["base"], site["uploads"]
    skip = (uploads, base / "index")
    (base / "victim" / "notes.md").write_text(hostile.VICTIM_TEXT)  # each test starts from the original
    before = hostile.snapshot(base, skip)

    def send(*files: Path) -> dict[str, str]:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        try:
            page = context.new_page()
            page.goto(site["url"])
            page.get_by_role("tab", name="Documents").click()
            page.locator("#upload input[type=file]").set_input_files([str(f) for f in files])
            page.locator("#upload").get_by_role("row").nth(len(files) - 1).wait_for()  # one row per chosen file
            page.locator("#add-docs").click()
            page.wait_for_function(FINISHED, timeout=120_000)
            text = page.locator("#ingest-progress").inner_text()
        finally:
            context.close()
        rows = [line.split("\t") for line in text.splitlines() if line.count("\t") >= 2]
        return {cells[1].strip(): cells[2].strip() for cells in rows if cells[0].strip() != "#"}

    yield send
    assert hostile.snapshot(base, skip) == before, "a file outside the uploads folder changed"
    assert (base / "victim" / "notes.md").read_text() == hostile.VICTIM_TEXT
    assert hostile.leftovers(uploads) == []


def _flag_encrypted(path: Path, member: str) -> None:
    """Set the "encrypted" bit of ``member`` in its local header and its central directory entry."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    for signature, flags_at, name_len_at, name_at in ((b"PK\x03\x04", 6, 26, 30), (b"PK\x01\x02", 8, 28, 46)):
        start = 0
        while (p := data.find(signature, start)) != -1:
            (length,) = struct.unpack_from("<H", data, p + name_len_at)
            if data[p + name_at : p + name_at + length] == name:
                (flags,) = struct.unpack_from("<H", data, p + flags_at)
                struct.pack_into("<H", data, p + flags_at, flags | 0x1)
            start = p + 4
    path.write_bytes(bytes(data))


def _locked_and_bzip2_zip(folder: Path) -> Path:
    """A member marked encrypted, a member compressed with bzip2, and one plain member."""
    path = folder / "locked.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("secret.md", hostile.TEXT.format(title="Secret"))
        zf.writestr("squeezed.md", hostile.TEXT.format(title="Squeezed"), compress_type=zipfile.ZIP_BZIP2)
        zf.writestr("plain.md", hostile.TEXT.format(title="Plain"))
    _flag_encrypted(path, "secret.md")
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("secret.md").flag_bits & 0x1 and not zf.getinfo("plain.md").flag_bits & 0x1
    return path


def test_zips_named_with_dots_unpack_inside_the_uploads_folder(
    site: dict[str, Any], upload: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    uploads: Path = site["uploads"]
    rows = upload(hostile.dots_zip(tmp_path))  # Path("...zip").stem is "..": the folder above uploads
    assert rows == {"archive/victim/notes.md": "done: added"}
    assert (uploads / "archive" / "victim" / "notes.md").read_text().startswith("# Tampered")

    first = tmp_path / "first.md"
    first.write_text(hostile.TEXT.format(title="First"))
    assert upload(first) == {"first.md": "done: added"}
    rows = upload(hostile.dots_zip(tmp_path, "..zip", member="first.md"))  # stem "." was the uploads folder
    [(shown, status)] = rows.items()
    assert shown.startswith("archive") and shown.endswith("/first.md") and status == "done: added"
    assert (uploads / "first.md").read_text() == hostile.TEXT.format(title="First")


def test_members_that_leave_the_archive_are_refused_by_name(
    site: dict[str, Any], upload: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    rows = upload(hostile.escaping_zip(tmp_path))
    assert "climbs out" in rows["escaping.zip/../../victim/notes.md"]
    assert "climbs out" in rows["escaping.zip/docs/../../escape.md"]
    assert "absolute" in rows["escaping.zip//tmp/absolute-escape.md"]
    assert "symbolic link" in rows["escaping.zip/link.md"]
    assert rows["escaping/good/kept.md"] == "done: added"
    assert len(rows) == 5
    assert not Path("/tmp/absolute-escape.md").exists()
    assert not (site["uploads"] / "escaping" / "link.md").exists()


def test_damaged_members_are_reported_and_leave_nothing_behind(
    site: dict[str, Any], upload: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    rows = upload(hostile.bad_crc_zip(tmp_path), hostile.bad_deflate_zip(tmp_path))
    assert "Bad CRC-32" in rows["bad-crc.zip/broken.md"]
    assert "compressed data is damaged" in rows["bad-deflate.zip/damaged.md"]
    assert rows["bad-crc/sound.md"] == "done: added"  # the rest goes on
    assert len(rows) == 3
    assert not (site["uploads"] / "bad-crc" / "broken.md").exists()
    assert not (site["uploads"] / "bad-deflate").exists()


def test_a_zip_bomb_stops_at_the_upload_limit(
    site: dict[str, Any], upload: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    bomb = hostile.bomb_zip(tmp_path)
    assert bomb.stat().st_size < LIMIT_MB * 1e6  # the archive itself is within the limit
    rows = upload(bomb)
    assert "empty" in rows["bomb/part-0.txt"]  # saved (the row shows where), then found blank by the indexer
    assert (site["uploads"] / "bomb" / "part-0.txt").stat().st_size == 90_000
    for name in [f"part-{i}.txt" for i in range(1, 8)] + ["zeros.txt"]:
        assert rows[f"bomb.zip/{name}"].startswith("rejected:"), name
        assert "over the limit of 100 kB" in rows[f"bomb.zip/{name}"], name
    unpacked = sum(p.stat().st_size for p in (site["uploads"] / "bomb").rglob("*") if p.is_file())
    assert unpacked <= LIMIT_MB * 1e6


def test_a_zip_that_lies_about_its_size_is_read_no_further_than_it_claims(
    site: dict[str, Any], upload: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    rows = upload(hostile.lying_zip(tmp_path))  # nothing is added: the page shows the table and an error
    assert rows == {"lying.zip/small.txt": "rejected: damaged in the archive (Bad CRC-32 for file 'small.txt')"}
    assert not (site["uploads"] / "lying").exists()


def test_a_name_clash_gets_a_new_name(
    site: dict[str, Any], upload: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    tapir = tmp_path / "tapir.md"
    tapir.write_text(hostile.TEXT.format(title="Tapir"))
    assert upload(tapir) == {"tapir.md": "done: added"}
    archive = tmp_path / "tapir.md.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("tapir.md", hostile.TEXT.format(title="Zipped tapir"))
    assert upload(archive) == {"tapir.md (2)/tapir.md": "done: added"}
    assert (site["uploads"] / "tapir.md").read_text() == hostile.TEXT.format(title="Tapir")
    assert (site["uploads"] / "tapir.md (2)" / "tapir.md").read_text() == hostile.TEXT.format(title="Zipped tapir")


def test_member_names_that_are_not_utf8(upload: Callable[..., dict[str, str]], tmp_path: Path) -> None:
    rows = upload(hostile.cp437_name_zip(tmp_path), hostile.false_utf8_name_zip(tmp_path))
    assert rows["legacy-names/cafΘ.md"] == "done: added"
    assert "not valid UTF-8" in rows["false-utf8.zip"]
    assert len(rows) == 2


def test_encrypted_and_bzip2_members_are_refused_by_name(
    site: dict[str, Any], upload: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    rows = upload(_locked_and_bzip2_zip(tmp_path))
    assert rows["locked.zip/secret.md"].startswith("rejected: encrypted;")  # refused before any byte is read
    assert "compressed with method 12" in rows["locked.zip/squeezed.md"]
    assert rows["locked/plain.md"] == "done: added"
    assert sorted(p.name for p in (site["uploads"] / "locked").iterdir()) == ["plain.md"]


def test_a_file_that_fails_to_index_is_named_with_its_reason(
    upload: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    empty = tmp_path / "blank.txt"
    empty.write_text("   \n")
    rows = upload(empty)
    assert rows["blank.txt"].startswith("failed:") and "empty" in rows["blank.txt"]
