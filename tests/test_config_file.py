"""Settings from a TOML config file, below the environment and the flags."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag import ConfigError, Settings


def test_file_then_environment_then_overrides(tmp_path: Path) -> None:
    config = tmp_path / "rag.toml"
    config.write_text('llm = "openai:qwen2.5"\nllm_url = "http://127.0.0.1:9/v1"\ntop_k = 8\nllm_timeout = 5\n')
    env = {"RAG_CONFIG": str(config), "RAG_INDEX_DIR": str(tmp_path / "i")}
    s = Settings.from_env(env)
    assert (s.llm, s.llm_url, s.top_k, s.llm_timeout) == ("openai:qwen2.5", "http://127.0.0.1:9/v1", 8, 5.0)
    assert Settings.from_env({**env, "RAG_TOP_K": "3"}).top_k == 3
    assert Settings.from_env({**env, "RAG_TOP_K": "3"}, top_k=4).top_k == 4


def test_default_location_is_read_when_present(tmp_path: Path) -> None:
    (tmp_path / "rag-assistant").mkdir()
    (tmp_path / "rag-assistant" / "config.toml").write_text('retrieval = "bm25"\n')
    assert Settings.from_env({"XDG_CONFIG_HOME": str(tmp_path)}).retrieval == "bm25"
    assert Settings.from_env({"XDG_CONFIG_HOME": str(tmp_path / "none")}).retrieval == "hybrid"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("topk = 3\n", "unknown setting 'topk'"),
        ('top_k = "three"\n', "top_k = 'three' must be a int"),
        ("top_k = \n", "config file"),
    ],
)
def test_bad_files_name_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "rag.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        Settings.from_env({"RAG_CONFIG": str(config)})
    assert str(config) in str(info.value)


def test_a_named_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        Settings.from_env({"RAG_CONFIG": str(tmp_path / "missing.toml")})


def test_cli_reports_a_bad_config_file(tmp_path: Path) -> None:
    config = tmp_path / "rag.toml"
    config.write_text("chunk_size = 10\n")
    env = {**os.environ, "RAG_CONFIG": str(config), "RAG_INDEX_DIR": str(tmp_path / "index")}
    out = subprocess.run([sys.executable, "-m", "rag", "status"], capture_output=True, text=True, env=env)
    assert out.returncode == 2
    assert "chunk_size (10) must be at least 16" in out.stderr and "Traceback" not in out.stderr
