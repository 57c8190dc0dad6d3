"""`rag ask` / `rag sources` never answer from a wrong or empty index; `--json` speaks the library's names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from rag import Answer, Citation, ConfigError
from rag.cli import build_parser
from rag.config import Settings

RAG = Path(sys.executable).parent / "rag"
REPO = Path(__file__).resolve().parents[1]
PARROTS = (
    "# Parrot care\n\nThe grey parrot Pim eats sunflower seeds and sliced apple every morning.\n"
    "Pim sleeps under a blue cloth that keeps the cage dark.\n"
)


def rag(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return subprocess.run([str(RAG), *args], capture_output=True, text=True, timeout=300, env=env, cwd=cwd)


@pytest.mark.slow
@pytest.mark.parametrize("command", [["ask", "What does Pim eat?"], ["sources"], ["sources", "--json"]])
def test_a_missing_index_folder_is_named_and_not_created(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "no-such-index"
    out = rag(*command, "--index", str(missing))
    assert out.returncode != 0
    assert f"no index at {missing}" in out.stderr and f"rag ingest FOLDER --index {missing}" in out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""
    assert not missing.exists(), "asking must not create the index folder"


@pytest.mark.slow
def test_a_folder_that_is_not_an_index_is_refused_by_every_command(tmp_path: Path) -> None:
    folder = tmp_path / "papers"
    folder.mkdir()
    (folder / "thesis.txt").write_text("not an index", "utf-8")
    for command in (["ask", "What does Pim eat?"], ["sources"], ["ingest", str(folder), "--quiet"]):
        out = rag(*command, "--index", str(folder))
        assert out.returncode == 2, out.stderr
        assert f"{folder} is not an index" in out.stderr and "thesis.txt" in out.stderr, out.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["thesis.txt"], "nothing was written into the folder"


@pytest.mark.slow
def test_an_index_without_documents_says_how_to_fill_it(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "parrots.md").write_text(PARROTS, "utf-8")
    index = tmp_path / "index"
    assert rag("ingest", str(docs), "--index", str(index), "--quiet").returncode == 0
    assert rag("delete", str(docs / "parrots.md"), "--index", str(index)).returncode == 0
    for command in (["ask", "What does Pim eat?"], ["sources"]):
        out = rag(*command, "--index", str(index))
        assert out.returncode != 0, out.stdout
        assert f"the index at {index}" in out.stderr and "holds no documents" in out.stderr
        assert f"rag ingest FOLDER --index {index}" in out.stderr


@pytest.mark.slow
def test_ask_json_uses_the_answer_field_names_documented_in_asking_md(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "parrots.md").write_text(PARROTS, "utf-8")
    index = tmp_path / "index"
    assert rag("ingest", str(docs), "--index", str(index), "--quiet").returncode == 0
    out = rag("ask", "What does Pim eat every morning?", "--json", "--index", str(index))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == {f.name for f in fields(Answer)}
    assert "sunflower seeds" in data["text"] and data["abstained"] is False
    assert "total" in data["timings"] and data["hits"][0]["rank"] == 1
    citation = data["citations"][0]
    assert {f.name for f in fields(Citation)} | {"sentence", "document_span", "location"} == set(citation)
    assert citation["chunk"]["display"] == "parrots.md"
    start, end = citation["document_span"]
    assert PARROTS.strip()[start:end] == citation["sentence"]
    assert f"[{citation['n']}]" in data["text"]
    documented = (REPO / "docs" / "asking.md").read_text("utf-8")
    for name in (*data, *citation, *data["sentences"][0]):
        assert f"`{name}`" in documented, f"docs/asking.md does not describe the JSON field {name!r}"


def test_top_k_0_names_the_flag_when_the_flag_gave_it(tmp_path: Path) -> None:
    out = rag("ask", "anything", "--top-k", "0", "--index", str(tmp_path / "i"))
    assert out.returncode == 2
    assert "top_k (0) must be at least 1 (flag --top-k)" in out.stderr and "RAG_TOP_K" not in out.stderr
    # from the environment it names the variable, from the config file the file
    with pytest.raises(ConfigError, match=r"\(setting RAG_TOP_K\)"):
        Settings.from_env({"RAG_TOP_K": "0", "HOME": str(tmp_path)})
    config = tmp_path / "config.toml"
    config.write_text("top_k = 500\n", "utf-8")
    with pytest.raises(ConfigError, match=rf"at most 200 \(config file {config}\)"):
        Settings.from_env({"RAG_CONFIG": str(config)})
    with pytest.raises(ConfigError, match=r"retrieval \('fuzzy'\) must be .* \(flag --retrieval\)"):
        Settings.from_env({"HOME": str(tmp_path)}, flags={"retrieval": "--retrieval"}, retrieval="fuzzy")


def test_every_setting_flag_named_in_messages_exists() -> None:
    from rag.cli import flag_name

    parser = build_parser()
    options = {
        opt
        for sub in parser._subparsers._group_actions[0].choices.values()  # type: ignore[union-attr]
        for action in sub._actions
        for opt in action.option_strings
    }
    for name in ("index_dir", "chroma_url", "collection", "embed_model", "chunk_size", "chunk_overlap",
                 "max_file_mb", "top_k", "retrieval", "llm", "llm_url", "llm_api_key", "llm_timeout",
                 "llm_temperature", "llm_max_tokens", "llm_context_window", "llm_retries", "prompts_dir",
                 "history_tokens"):
        assert flag_name(name) in options, name
