"""The README's python snippets, run as written: a user copies them verbatim."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag import Assistant, Settings
from tests.onnx_support import exported_cache

README = Path(__file__).resolve().parents[1] / "README.md"


def python_snippets() -> list[str]:
    """The code of every ```python block of the README, in order."""
    return re.findall(r"^```python\n(.*?)^```$", README.read_text(encoding="utf-8"), re.DOTALL | re.MULTILINE)


def test_the_build_the_parts_yourself_snippet_keeps_everything_in_the_store_folder(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a home of its own: the default index folder and the ONNX cache (the session's export) under tmp_path
    xdg_cache = tmp_path / "xdg-cache"
    xdg_cache.mkdir()
    (xdg_cache / "rag-assistant").symlink_to(exported_cache(tmp_path_factory), target_is_directory=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg_cache))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)

    snippet = next(s for s in python_snippets() if "from_parts" in s)
    scope: dict[str, object] = {}
    exec(compile(snippet, str(README), "exec"), scope)  # as written in the README
    a = scope["a"]
    assert isinstance(a, Assistant)

    doc = tmp_path / "notes.md"
    doc.write_text("# Kitchen\n\nThe sourdough starter is fed with rye flour every morning.\n")
    assert a.ingest([doc]).ok
    answer = a.ask("What is the starter fed with?")
    assert "rye flour" in answer.text and answer.citations
    assert a.folder is not None and a.folder.resolve() == work / "my-index"
    assert (work / "my-index" / "lexical-default").is_dir()  # BM25 beside the store ...
    default = Path(Settings().index_dir)
    assert default == tmp_path / "xdg-data" / "rag-assistant" / "index"
    assert not default.exists()  # ... and nothing in the default index folder
