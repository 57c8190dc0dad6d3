"""Settings is the one home of every default (issue 11, finding 4).

Each test fails when a default is typed a second time: an option object that carries its own
copy of a setting's default, CLI help that spells a value out instead of reading Settings, a
list of retrieval modes written out again.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path
from typing import Any, get_args, get_type_hints

import pytest

import rag.assistant
from index.ingest import IngestOptions
from index.models import IngestReport
from index.store import ChromaStore
from rag import Assistant, ConfigError, Settings
from rag.cli import build_parser
from rag.config import ENV_VARS
from rag.fusion import FusionConfig
from rag.llm import LLMOptions
from rag.llm_answerer import LLMAnswerConfig
from rag.parts import build_embedder
from rag.retrieval import RETRIEVAL_MODES, RetrievalMode, Retriever
from rag.unit_scores import ExtractiveConfig

REPO = Path(__file__).resolve().parents[1]

# option object -> (how Settings builds it, its field -> the setting it comes from)
OPTION_OBJECTS: dict[type, tuple[str, dict[str, str]]] = {
    IngestOptions: ("ingest_options", {
        "chunk_size": "chunk_size", "chunk_overlap": "chunk_overlap", "max_bytes": "max_file_mb",
        "file_timeout": "file_timeout",
    }),
    FusionConfig: ("fusion_config", {"lexical_weight": "lexical_weight"}),
    ExtractiveConfig: ("extractive_config", {"max_sentences": "answer_sentences"}),
    LLMOptions: ("llm_options", {
        "spec": "llm", "url": "llm_url", "api_key": "llm_api_key", "timeout": "llm_timeout",
        "temperature": "llm_temperature", "max_tokens": "llm_max_tokens",
        "context_window": "llm_context_window", "retries": "llm_retries",
    }),
    LLMAnswerConfig: ("llm_answer_config", {
        "context_window": "llm_context_window", "max_tokens": "llm_max_tokens",
        "history_tokens": "history_tokens", "prompts_dir": "prompts_dir",
    }),
}


def _from_settings(settings: Settings, setting: str) -> Any:
    value = getattr(settings, setting)
    return int(value * 1_000_000) if setting == "max_file_mb" else value  # the one unit conversion


@pytest.mark.parametrize("cls", list(OPTION_OBJECTS), ids=lambda c: c.__name__)
def test_option_objects_hold_no_copy_of_a_settings_default(cls: type) -> None:
    builder, mapping = OPTION_OBJECTS[cls]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    copied = [
        name for name in mapping
        if fields[name].default is not dataclasses.MISSING or fields[name].default_factory is not dataclasses.MISSING
    ]
    assert copied == [], f"{cls.__name__} has its own default for settings {copied}: Settings holds them"
    changed = Settings(
        index_dir="/tmp/settings-unused", chunk_size=300, chunk_overlap=20, max_file_mb=7.5, file_timeout=9.0,
        lexical_weight=0.25, answer_sentences=3, llm="ollama:x", llm_url="http://h:1/v1", llm_api_key="k",
        llm_timeout=7.0, llm_temperature=0.3, llm_max_tokens=100, llm_context_window=2000, llm_retries=1,
        history_tokens=50, prompts_dir="/p",
    )
    for settings in (Settings(index_dir="/tmp/settings-unused"), changed):
        built = getattr(settings, builder)()
        assert isinstance(built, cls)
        assert {f: getattr(built, f) for f in mapping} == {f: _from_settings(settings, s) for f, s in mapping.items()}


def test_ingest_runs_with_the_options_settings_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(index_dir=str(tmp_path / "index"), chunk_size=180, file_timeout=30.0)
    assistant = Assistant.from_parts(store=ChromaStore.persistent(settings.index_dir),
                                     embedder=build_embedder(settings), settings=settings)
    used: list[IngestOptions] = []

    def run(paths: object, *, options: IngestOptions, **_: object) -> IngestReport:
        used.append(options)
        return IngestReport((), (), (), (), (), (), (), 0, 0.0)

    monkeypatch.setattr(rag.assistant, "run_ingest", run)
    assistant.ingest([tmp_path], tags=["t"])
    assert used == [settings.ingest_options(tags=("t",))]
    assert (used[0].chunk_size, used[0].chunk_overlap, used[0].max_bytes) == (180, 64, 50_000_000)


def _actions(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.Action]]:
    """(command, action) for every flag of every sub-command."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [(name, action) for name, p in sub.choices.items() for action in p._actions]


def _shows(text: str, value: object) -> bool:
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    return re.search(rf"(?<![\w.]){re.escape(shown)}(?![\w.])", text) is not None


def test_cli_help_shows_the_defaults_of_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every help text that shows a setting's default follows Settings when that default changes."""
    names = {f.name for f in dataclasses.fields(Settings)}
    real = {(cmd, a.dest): a.help or "" for cmd, a in _actions(build_parser()) if a.dest in names}
    sentinels: dict[str, object] = {}
    for i, f in enumerate(dataclasses.fields(Settings)):
        default = getattr(Settings, f.name, "")
        if default in ("", None):
            continue
        sentinels[f.name] = {int: 7900 + i, float: 79.25 + i}.get(type(default), f"zz-sentinel-{i}")
        monkeypatch.setattr(Settings, f.name, sentinels[f.name])
    patched = {(cmd, a.dest): a.help or "" for cmd, a in _actions(build_parser()) if a.dest in names}
    checked = set()
    for key, text in real.items():
        setting = key[1]
        if setting in sentinels and _shows(text, getattr(Settings(index_dir="/tmp/x"), setting)):
            assert _shows(patched[key], sentinels[setting]), f"`rag {key[0]}` help for {setting} types it again: {text}"
            checked.add(setting)
    assert checked >= {
        "chunk_size", "chunk_overlap", "max_file_mb", "file_timeout", "top_k", "retrieval", "embed_backend",
        "llm_timeout", "llm_temperature", "llm_max_tokens", "llm_context_window", "llm_retries", "history_tokens",
    }


def test_retrieval_mode_names_are_one_literal() -> None:
    assert RETRIEVAL_MODES == get_args(RetrievalMode) == ("dense", "bm25", "hybrid")
    assert get_type_hints(Settings)["retrieval"] == RetrievalMode
    choices = {cmd: a.choices for cmd, a in _actions(build_parser()) if a.dest == "retrieval" and a.choices}
    assert choices and all(tuple(c) == RETRIEVAL_MODES for c in choices.values())
    with pytest.raises(ConfigError, match=f"{', '.join(RETRIEVAL_MODES[:-1])} or {RETRIEVAL_MODES[-1]}"):
        Settings(index_dir="/tmp/x", retrieval="sparse")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=", ".join(RETRIEVAL_MODES)):
        Retriever(None, None, "sparse", Settings(index_dir="/tmp/x").fusion_config())  # type: ignore[arg-type]


def test_the_mode_names_are_written_out_once() -> None:
    """No module of the packages spells the list of modes again (rag/retrieval.py is their home)."""
    mode = "(?:dense|bm25|hybrid)"
    quoted = rf"""["']{mode}["'],\s*["']{mode}["'],\s*["']{mode}["']"""  # ("dense", "bm25", "hybrid")
    prose = rf"\b{mode}, {mode},? or {mode}\b"  # "dense, bm25 or hybrid"
    spelled = re.compile(f"{quoted}|{prose}")
    found = [
        str(path.relative_to(REPO))
        for package in ("rag", "index", "ui", "evals")
        for path in (REPO / package).rglob("*.py")
        if spelled.search(path.read_text(encoding="utf-8")) and path != REPO / "rag" / "retrieval.py"
    ]
    assert found == []


def test_the_settings_tables_in_the_docs_show_the_defaults_of_settings() -> None:
    """README's and docs/llm.md's tables of settings may repeat a default only if it is Settings' own."""
    by_variable = {var: name for name, var in ENV_VARS.items()}
    settings = Settings(index_dir="/tmp/x")
    compared = set()
    for page in ("README.md", "docs/llm.md"):
        for line in (REPO / page).read_text(encoding="utf-8").splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 4 or not (found := re.fullmatch(r"`(RAG_\w+)`.*", cells[2])):
                continue
            name, shown = by_variable[found.group(1)], cells[3]
            value = getattr(settings, name)
            number = re.match(r"[\d.]+(?=\s|$)", shown)
            code = re.match(r"`([^`]+)`", shown)
            if isinstance(value, int | float) and number:
                assert float(number.group(0)) == value, f"{page}: {found.group(1)} shows {shown}, Settings has {value}"
                compared.add(name)
            elif isinstance(value, str) and code and not code.group(1).startswith("~"):
                assert code.group(1) == value, f"{page}: {found.group(1)} shows {shown}, Settings has {value!r}"
                compared.add(name)
    assert {"chunk_size", "lexical_weight", "retrieval", "llm_max_tokens", "history_tokens"} <= compared
