"""Backends (rag.llm): the provider:model setting, settings validation, missing extras, failure
classification with the client libraries' own exception types, retries with backoff."""

from __future__ import annotations

import sys
from dataclasses import replace

import httpx
import pytest

from index.errors import ConfigError
from rag.config import Settings
from rag.errors import LLMError
from rag.llm import LLMOptions, build_backend, call_with_retries, classify, explain, parse_spec, retry_delays


def options(spec: str, **changes: object) -> LLMOptions:
    """The options ``Settings`` builds for ``spec``, with some fields changed (``backoff`` is no setting)."""
    return replace(Settings(llm=spec).llm_options(), **changes)  # type: ignore[arg-type]


def test_parse_spec() -> None:
    assert parse_spec("openai:gpt-4o-mini") == ("openai", "gpt-4o-mini")
    assert parse_spec("Ollama:llama3.2:1b") == ("ollama", "llama3.2:1b")
    assert parse_spec("llama-cpp:/m/x.gguf") == ("llama-cpp", "/m/x.gguf")
    for bad in ("gpt-4o", "claude:x", "openai:"):
        with pytest.raises(ConfigError, match="RAG_LLM"):
            parse_spec(bad)


def test_settings_from_env_and_validation(tmp_path: object) -> None:
    env = {
        "RAG_INDEX_DIR": "/tmp/i", "RAG_LLM": "openai:qwen", "RAG_LLM_URL": "http://h:8080/v1",
        "RAG_LLM_TIMEOUT": "5", "RAG_LLM_TEMPERATURE": "0", "RAG_LLM_MAX_TOKENS": "100",
        "RAG_LLM_CONTEXT_WINDOW": "2048", "RAG_LLM_RETRIES": "1", "RAG_PROMPTS_DIR": "/p",
        "RAG_HISTORY_TOKENS": "300", "OPENAI_API_KEY": "sk-not-for-other-hosts",
    }
    s = Settings.from_env(env)
    o = s.llm_options()
    assert (o.spec, o.url, o.timeout, o.temperature, o.max_tokens, o.context_window, o.retries) == (
        "openai:qwen", "http://h:8080/v1", 5.0, 0.0, 100, 2048, 1)
    assert o.api_key == ""  # the OpenAI key is not sent to another server
    assert (s.prompts_dir, s.history_tokens) == ("/p", 300)
    openai_itself = Settings.from_env({"RAG_LLM": "openai:gpt-4o-mini", "OPENAI_API_KEY": "sk-1"})
    assert openai_itself.llm_api_key == "sk-1" and "sk-1" not in repr(openai_itself)
    with pytest.raises(ConfigError, match="RAG_LLM_TIMEOUT"):
        Settings(index_dir="/tmp/i", llm_timeout=0)
    with pytest.raises(ConfigError, match="RAG_LLM_CONTEXT_WINDOW"):
        Settings(index_dir="/tmp/i", llm_context_window=600, llm_max_tokens=512)
    with pytest.raises(ConfigError, match="provider:model"):
        Settings(index_dir="/tmp/i", llm="gpt4")


def test_openai_itself_without_a_key_says_how_to_set_one() -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        build_backend(options("openai:gpt-4o-mini"))


def test_missing_extra_names_the_pip_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_index.llms.ollama", None)  # import now fails
    with pytest.raises(ConfigError, match=r"pip install 'rag-assistant\[llm\]'"):
        build_backend(options("ollama:llama3.2"))
    monkeypatch.setitem(sys.modules, "llama_index.llms.llama_cpp", None)
    with pytest.raises(ConfigError, match=r"pip install 'rag-assistant\[llama-cpp\]'"):
        build_backend(options(f"llama-cpp:{__file__}"))


def test_missing_gguf_file_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="GGUF file not found"):
        build_backend(options("llama-cpp:/nonexistent/model.gguf"))


REQUEST = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")


def _status(cls_name: str, status: int, message: str) -> Exception:
    openai = pytest.importorskip("openai")
    response = httpx.Response(status, request=REQUEST, json={"error": {"message": message}})
    return getattr(openai, cls_name)(message, response=response, body=None)  # type: ignore[no-any-return]


def test_classify_openai_client_errors() -> None:
    openai = pytest.importorskip("openai")
    assert classify(openai.APIConnectionError(request=REQUEST)) == "connection"
    assert classify(openai.APITimeoutError(request=REQUEST)) == "timeout"
    assert classify(_status("AuthenticationError", 401, "Incorrect API key provided")) == "auth"
    assert classify(_status("NotFoundError", 404, "The model `nope` does not exist")) == "model"
    assert classify(_status("BadRequestError", 400,
                            "Requested tokens (3000) exceed context window of 2048")) == "overflow"
    assert classify(_status("BadRequestError", 400,
                            "This model's maximum context length is 8192 tokens")) == "overflow"
    assert classify(_status("RateLimitError", 429, "slow down")) == "rate"
    assert classify(_status("InternalServerError", 503, "busy")) == "server"


def test_classify_other_clients() -> None:
    assert classify(ConnectionError("Failed to connect to Ollama")) == "connection"  # ollama
    assert classify(httpx.ConnectError("[Errno 111] Connection refused")) == "connection"
    assert classify(httpx.ReadTimeout("timed out")) == "timeout"
    assert classify(ValueError("Requested tokens (5000) exceed context window of 4096")) == "overflow"  # llama-cpp
    wrapped = RuntimeError("chat failed")
    wrapped.__cause__ = httpx.ConnectError("refused")
    assert classify(wrapped) == "connection"
    assert classify(KeyError("x")) == "other"


@pytest.mark.parametrize(
    ("kind", "setting"),
    [("connection", "RAG_LLM_URL"), ("timeout", "RAG_LLM_TIMEOUT"), ("auth", "RAG_LLM_API_KEY"),
     ("model", "RAG_LLM"), ("overflow", "RAG_LLM_CONTEXT_WINDOW"), ("other", "RAG_LLM")],
)
def test_every_failure_names_the_setting_to_fix(kind: str, setting: str) -> None:
    message = explain(kind, RuntimeError("boom"), options("openai:m", url="http://h:1/v1"))
    assert setting in message
    if kind in ("connection", "timeout", "auth", "model"):
        assert "http://h:1/v1" in message  # where it tried


def test_transient_failures_are_retried_with_backoff() -> None:
    calls: list[int] = []
    slept: list[float] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise httpx.ConnectError("refused")
        return "ok"

    flaky_options = options("openai:m", url="http://h/v1", retries=3, backoff=0.25)
    assert call_with_retries(flaky, flaky_options, sleep=slept.append) == "ok"
    assert slept == [0.25, 0.5] and len(calls) == 3
    assert retry_delays(5, 1.0) == [1.0, 2.0, 4.0, 8.0, 8.0]


def test_permanent_failures_are_not_retried_and_become_one_llm_error() -> None:
    slept: list[float] = []

    def bad_key() -> str:
        raise _status("AuthenticationError", 401, "Incorrect API key")

    with pytest.raises(LLMError, match="RAG_LLM_API_KEY"):
        call_with_retries(bad_key, options("openai:m", url="http://h/v1"), sleep=slept.append)
    assert slept == []

    def down() -> str:
        raise httpx.ConnectError("refused")

    with pytest.raises(LLMError, match="cannot reach") as info:
        call_with_retries(down, options("openai:m", url="http://h/v1", retries=2), sleep=slept.append)
    assert slept == [0.5, 1.0] and isinstance(info.value.__cause__, httpx.ConnectError)
