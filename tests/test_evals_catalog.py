"""The built-in sets: names, sources and presence (`rag eval --list`), and `rag data fetch`.

The offline failure is tested for real (the machine reaches no data host); the download, sha256
check and storage run against a real HTTP server on the loopback address, through the base URL
setting (``RAG_DATA_URL``) a user would set for a mirror.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from evals import DatasetError, load_set
from evals.catalog import BUILTIN, BuiltinSet, DataFile, Download, spec_for, table
from evals.fetch import FetchError, derive_covid_qa_dev, fetch, fetch_file
from tests.conftest import FIXTURES, free_port

REPO = Path(__file__).resolve().parents[1]
XQUAD = "evaldata/xquad-en/xquad.en.json"
COVID = "evaldata/covid-qa-dev/covid-qa-dev.json"
SEED_NAME = "000_7cc84e104f871c44.txt"


def rag(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, timeout=300,
                          env={**clean, **env}, cwd=REPO)


@pytest.fixture
def web_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on 127.0.0.1 serving a temporary folder: (base URL, folder)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def test_every_built_in_set_is_listed_with_its_source_licence_size_and_presence(tmp_path: Path) -> None:
    assert list(BUILTIN) == ["docs", "seed", "xquad-en", "covid-qa-dev", "pubmedqa"]
    data = tmp_path / "data"
    (data / "evaldata" / "xquad-en").mkdir(parents=True)
    (data / XQUAD).write_text("{}")
    out = rag("eval", "--list", RAG_DATA_DIR=str(data))
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line for line in out.stdout.splitlines()[1:-1]}
    assert set(rows) == set(BUILTIN)
    assert rows["docs"].split()[1] == "yes" and rows["xquad-en"].split()[1] == "yes"
    for name in ("seed", "covid-qa-dev", "pubmedqa"):
        assert rows[name].split()[1] == "no", rows[name]
    assert "CC BY-SA 4.0" in rows["xquad-en"] and "1,190 questions" in rows["xquad-en"]
    assert "github.com/deepmind/xquad" in rows["xquad-en"] and "MIT" in rows["pubmedqa"]
    assert "Apache-2.0" in rows["covid-qa-dev"] and "every third" in rows["covid-qa-dev"]
    assert "not public" in rows["seed"]
    assert str(data) in out.stdout.splitlines()[-1]
    # the older variable name still chooses the folder
    assert rag("data", "list", RAG_SHARED_DIR=str(data)).stdout == out.stdout


def test_seed_without_the_data_is_one_line_naming_the_file_and_the_variable(tmp_path: Path) -> None:
    out = rag("eval", "seed", "--out", str(tmp_path / "runs"), RAG_DATA_DIR=str(tmp_path / "none"))
    assert out.returncode == 1
    (line,) = out.stderr.strip().splitlines()
    assert str(tmp_path / "none" / "corpus" / "seed" / SEED_NAME) in line and "RAG_DATA_DIR" in line
    assert "Traceback" not in out.stderr and not (tmp_path / "runs").exists()
    with pytest.raises(DatasetError, match="rag data fetch xquad-en"):
        spec_for("xquad-en", tmp_path / "none")
    with pytest.raises(DatasetError, match=r"built-in set \(docs, seed, xquad-en"):
        load_set("squad", cache_dir=tmp_path)  # not a name, not a file
    assert "seed" in table(tmp_path / "none")


@pytest.mark.slow
def test_the_docs_set_runs_from_a_plain_clone(tmp_path: Path) -> None:
    out = rag("eval", "docs", "--limit", "4", "--quiet", "--out", str(tmp_path / "runs"),
              RAG_DATA_DIR=str(tmp_path / "none"), RAG_INDEX_DIR=str(tmp_path / "index"))
    assert out.returncode == 0, out.stderr
    assert "| hit@5 |" in out.stdout and "4 questions" not in out.stderr  # --quiet


def test_fetch_offline_names_the_address_and_the_file(tmp_path: Path) -> None:
    """No network here: the real default address fails with one line saying what to put where."""
    out = rag("data", "fetch", "xquad-en", "--timeout", "20", RAG_DATA_DIR=str(tmp_path / "data"))
    assert out.returncode == 1
    (line,) = out.stderr.strip().splitlines()
    url = "https://raw.githubusercontent.com/deepmind/xquad/60cac411649156efb6aab9dd4c9cde787a2c0345/xquad.en.json"
    assert url in line and str(tmp_path / "data" / XQUAD) in line and "by hand" in line
    assert not (tmp_path / "data" / XQUAD).exists()

    out = rag("data", "fetch", "seed", RAG_DATA_DIR=str(tmp_path / "data"))
    assert out.returncode == 1 and "cannot be downloaded" in out.stderr and "RAG_DATA_DIR" in out.stderr


def _entry(content: bytes, derive: str = "") -> tuple[BuiltinSet, DataFile]:
    digest = hashlib.sha256(content).hexdigest()
    file = DataFile("evaldata/mini/mini.json", digest, Download("owner/repo/abc123/mini.json", digest), derive)
    return BuiltinSet("mini", "squad:{data}/evaldata/mini/mini.json", "a test file", "MIT", "1 question",
                      (file,)), file


def test_fetch_checks_the_sha256_and_stores_the_file(tmp_path: Path, web_root: tuple[str, Path]) -> None:
    base, root = web_root
    content = (FIXTURES / "corpus" / "harrowmere-water.txt").read_bytes()
    entry, file = _entry(content)
    (root / "owner" / "repo" / "abc123").mkdir(parents=True)
    served = root / "owner" / "repo" / "abc123" / "mini.json"
    data = tmp_path / "data"

    served.write_bytes(content[:-10])  # cut short: refused, nothing stored
    with pytest.raises(FetchError, match=r"has sha256 .* expected .*nothing was stored") as info:
        fetch_file(entry, file, data, base_url=base, timeout=10)
    assert f"{base}/owner/repo/abc123/mini.json" in str(info.value)
    assert not (data / file.path).exists() and not list((data).rglob("*.part"))

    served.write_bytes(content)
    done = fetch_file(entry, file, data, base_url=base, timeout=10)
    assert done.path == data / file.path and done.path.read_bytes() == content and "downloaded" in done.how
    served.unlink()  # a second run checks the stored file and downloads nothing
    assert "already there" in fetch_file(entry, file, data, base_url=base, timeout=10).how
    (data / file.path).write_bytes(b"changed")
    with pytest.raises(FetchError, match="has sha256"):
        fetch_file(entry, file, data, base_url=base, timeout=10)

    with pytest.raises(FetchError, match="HTTP 404"):
        fetch_file(entry, file, tmp_path / "other", base_url=base, timeout=10)


@pytest.mark.needs_data(XQUAD)
def test_fetch_xquad_from_a_mirror(tmp_path: Path, web_root: tuple[str, Path], data_dir: Path) -> None:
    """The real catalog entry, served by a local mirror through RAG_DATA_URL, as a user would."""
    base, root = web_root
    download = BUILTIN["xquad-en"].files[0].download
    assert download is not None
    served = root / download.url_path
    served.parent.mkdir(parents=True)
    served.write_bytes((data_dir / XQUAD).read_bytes())
    out = rag("data", "fetch", "xquad-en", RAG_DATA_DIR=str(tmp_path / "data"), RAG_DATA_URL=base)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "data" / XQUAD).read_bytes() == served.read_bytes()
    assert f"downloaded from {base}/deepmind/xquad/" in out.stdout


def test_covid_qa_dev_rule_on_a_small_file() -> None:
    # ids that sort differently as text and as numbers: the rule compares them as text
    ids = [9, 10, 11, 100, 12, 2, 30, 4]
    upstream = {"data": [{"paragraphs": [{"context": f"paper {i}", "document_id": i, "qas": []}]} for i in ids]}
    derived = json.loads(derive_covid_qa_dev(json.dumps(upstream).encode()))
    kept = [a["paragraphs"][0]["document_id"] for a in derived["data"]]
    assert kept == [10, 100, 12, 2, 4, 9]  # text order 10 100 11 12 2 30 4 9; positions 2 and 5 left out
    assert derived["version"] == "covidqa"
    with pytest.raises(FetchError, match="not the SQuAD JSON"):
        derive_covid_qa_dev(b"[]")


@pytest.mark.needs_data(COVID)
def test_covid_qa_dev_rule_reproduces_the_published_file(
    tmp_path: Path, web_root: tuple[str, Path], data_dir: Path
) -> None:
    """An upstream-shaped file (the 66 dev papers plus 32 held-out stand-ins, shuffled) derives to the exact file."""
    published = (data_dir / COVID).read_bytes()
    kept = json.loads(published)["data"]
    upstream = []
    for i, article in enumerate(kept):
        upstream.append(article)
        if i % 2 == 1 and len(upstream) < 96:  # after every two kept papers, one held out
            doc_id = int(str(article["paragraphs"][0]["document_id"]) + "0")  # sorts right after it as text
            upstream.append({"paragraphs": [{"context": "held out", "document_id": doc_id, "qas": []}]})
    assert len(upstream) == 98
    random.Random(7).shuffle(upstream)
    blob = json.dumps({"data": upstream}).encode()
    assert derive_covid_qa_dev(blob) == published

    # and through fetch: the upstream file put in the folder by hand, then derived and checked
    entry, file = BUILTIN["covid-qa-dev"], BUILTIN["covid-qa-dev"].files[0]
    assert file.download is not None
    folder = tmp_path / "data" / "evaldata" / "covid-qa-dev"
    folder.mkdir(parents=True)
    (folder / "200423_covidQA.json").write_bytes(blob)
    with pytest.raises(FetchError, match=r"200423_covidQA\.json has sha256"):  # not the real upstream file
        fetch_file(entry, file, tmp_path / "data", base_url=web_root[0], timeout=10)
    assert not (folder / "covid-qa-dev.json").exists()
    stand_in = DataFile(file.path, file.sha256, Download(file.download.url_path, hashlib.sha256(blob).hexdigest()),
                        file.derive)
    done = fetch_file(entry, stand_in, tmp_path / "data", base_url=web_root[0], timeout=10)
    assert done.path.read_bytes() == published and "derived" in done.how
    assert fetch("covid-qa-dev", tmp_path / "data", base_url=web_root[0])[0].how.startswith("already there")


def test_the_data_dir_setting_and_its_older_name() -> None:
    from rag import Settings

    assert Settings.from_env({"RAG_SHARED_DIR": "/old"}).data_dir == "/old"
    assert Settings.from_env({"RAG_SHARED_DIR": "/old", "RAG_DATA_DIR": "/new"}).data_dir == "/new"
    assert Settings.from_env({}).data_dir == str(REPO.parent / "shared")  # beside the checkout
    assert Settings.from_env({"RAG_DATA_URL": "http://127.0.0.1:9"}).data_url == "http://127.0.0.1:9"
