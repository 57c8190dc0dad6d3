"""Language-model backends behind one ``provider:model`` setting, through llama-index integrations.

    openai:gpt-4o-mini                      llama-index-llms-openai (OpenAI itself)
    openai:qwen2.5 + llm_url                llama-index-llms-openai-like (any OpenAI-compatible server)
    ollama:llama3.2                         llama-index-llms-ollama
    llama-cpp:/models/some.gguf             llama-index-llms-llama-cpp (in process)

Integrations are imported only when a backend is built, so ``import rag`` stays
light; a missing one is a ``ConfigError`` naming the ``pip install``. Every failure
of a call becomes one ``LLMError`` naming the setting to fix (``explain``);
transient ones (server unreachable or restarting, timeouts, 429/5xx) are retried
with exponential backoff first. The clients' own retries are turned off so the
policy is the same for every backend.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from index.errors import ConfigError
from rag.errors import LLMError

PROVIDERS = ("openai", "ollama", "llama-cpp")
EXTRACTIVE = ("", "extractive")
_ALIASES = {"openai-like": "openai", "openai_like": "openai", "llamacpp": "llama-cpp", "llama_cpp": "llama-cpp"}
_EXTRAS = {
    "openai": "pip install 'rag-assistant[llm]'   (llama-index-llms-openai, llama-index-llms-openai-like)",
    "ollama": "pip install 'rag-assistant[llm]'   (llama-index-llms-ollama)",
    "llama-cpp": "pip install 'rag-assistant[llama-cpp]'   (llama-index-llms-llama-cpp, llama-cpp-python)",
}
T = TypeVar("T")


@dataclass(frozen=True)
class LLMOptions:
    """What a backend needs: ``Settings.llm_options()`` builds it, and holds the defaults."""

    spec: str
    url: str
    api_key: str
    timeout: float
    temperature: float
    max_tokens: int
    context_window: int
    retries: int
    backoff: float = 0.5  # seconds before the first retry; doubled each time


def parse_spec(spec: str) -> tuple[str, str]:
    """``"provider:model"`` -> ``(provider, model)``; a wrong value is a ``ConfigError`` (pure).

    >>> parse_spec("openai:gpt-4o-mini")
    ('openai', 'gpt-4o-mini')
    >>> parse_spec("llama-cpp:/models/a.gguf")
    ('llama-cpp', '/models/a.gguf')
    """
    provider, sep, model = spec.strip().partition(":")
    provider = _ALIASES.get(provider.lower(), provider.lower())
    if not sep or not model.strip() or provider not in PROVIDERS:
        raise ConfigError(
            f"llm ({spec!r}) must be provider:model with provider one of {', '.join(PROVIDERS)}, "
            "e.g. openai:gpt-4o-mini, ollama:llama3.2, llama-cpp:/models/x.gguf "
            "(setting RAG_LLM / --llm; leave empty for the extractive answerer)"
        )
    return provider, model.strip()


class LLMBackend(Protocol):
    """What the answerer needs from a language model: one prompt in, text out (whole or streamed)."""

    @property
    def name(self) -> str: ...

    def complete(self, prompt: str, *, max_tokens: int | None = None) -> str: ...

    def stream(self, prompt: str, *, max_tokens: int | None = None) -> Iterator[str]: ...


# ---- failures -------------------------------------------------------------------------------

def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 8:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def classify(exc: BaseException) -> str:
    """The kind of an LLM failure, from the exception and its causes (pure).

    One of: connection, timeout, auth, model, overflow, rate, server, other.
    Judged by type names, status codes and messages so that no client library
    needs importing (openai, httpx, ollama and llama-cpp all differ).
    """
    for e in _chain(exc):
        name = type(e).__name__.lower()
        text = str(e).lower()
        status = getattr(e, "status_code", None)
        if "context" in text and any(w in text for w in ("exceed", "length", "too long", "overflow", "maximum")):
            return "overflow"
        if "timeout" in name or "timed out" in text:
            return "timeout"
        if status in (401, 403) or "authentication" in name or "permissiondenied" in name:
            return "auth"
        if status == 404 or "notfound" in name or ("model" in text and "not found" in text):
            return "model"
        if status == 429 or "ratelimit" in name:
            return "rate"
        if isinstance(status, int) and status >= 500:
            return "server"
        if "connect" in name or "connection" in text or isinstance(e, ConnectionError):
            return "connection"
        if "remoteprotocol" in name or "server disconnected" in text:
            return "connection"
    return "other"


TRANSIENT = frozenset({"connection", "timeout", "rate", "server"})


def explain(kind: str, exc: BaseException, options: LLMOptions) -> str:
    """One message for people: what failed and which setting fixes it (pure)."""
    provider, model = parse_spec(options.spec)
    where = options.url or {"openai": "https://api.openai.com/v1", "ollama": "http://localhost:11434"}.get(
        provider, model
    )
    detail = " ".join(str(exc).split())[:300]
    if kind == "connection":
        return (f"cannot reach the language model server at {where}: is it running? "
                f"Start it, or fix RAG_LLM_URL (--llm-url). ({detail})")
    if kind == "timeout":
        return (f"the language model at {where} gave no answer within {options.timeout:g}s; "
                "raise RAG_LLM_TIMEOUT (--llm-timeout), lower RAG_LLM_MAX_TOKENS, or use a smaller model")
    if kind == "auth":
        return (f"the server at {where} refused the API key; set RAG_LLM_API_KEY (--llm-key)"
                + (" or OPENAI_API_KEY" if provider == "openai" else "") + f". ({detail})")
    if kind == "model":
        return (f"the server at {where} does not know the model {model!r}; fix the model in RAG_LLM "
                f"(--llm {provider}:MODEL), or check that RAG_LLM_URL is the API root (often ending in /v1). "
                f"({detail})")
    if kind == "overflow":
        return ("the prompt does not fit the model's context window; set RAG_LLM_CONTEXT_WINDOW "
                f"(--llm-context-window, now {options.context_window}) to the model's real window, "
                f"or lower RAG_TOP_K / RAG_LLM_MAX_TOKENS. ({detail})")
    if kind == "rate":
        return f"the server at {where} is rate-limiting requests; wait and try again. ({detail})"
    if kind == "server":
        return f"the language model server at {where} failed; try again or check its log. ({detail})"
    return f"the language model ({options.spec}) failed: {type(exc).__name__}: {detail} (setting RAG_LLM)"


def retry_delays(retries: int, backoff: float, cap: float = 8.0) -> list[float]:
    """Seconds to wait before each retry: exponential, capped (pure).

    >>> retry_delays(3, 0.5)
    [0.5, 1.0, 2.0]
    """
    return [min(cap, backoff * 2**i) for i in range(max(0, retries))]


def call_with_retries(
    fn: Callable[[], T], options: LLMOptions, sleep: Callable[[float], None] = time.sleep
) -> T:
    """Call ``fn``; retry transient failures with backoff; raise one ``LLMError`` at the end."""
    delays = retry_delays(options.retries, options.backoff)
    attempt = 0
    while True:
        try:
            return fn()
        except LLMError:
            raise
        except Exception as exc:
            kind = classify(exc)
            if kind in TRANSIENT and attempt < len(delays):
                sleep(delays[attempt])
                attempt += 1
                continue
            raise LLMError(explain(kind, exc, options)) from exc


# ---- backends -------------------------------------------------------------------------------

class LlamaIndexBackend:
    """Any llama-index LLM, called as a chat with one user message.

    >>> backend = build_backend(Settings(llm="ollama:llama3.2").llm_options())   # doctest: +SKIP
    >>> backend.complete("Say hi")                               # doctest: +SKIP
    """

    def __init__(self, llm: Any, options: LLMOptions) -> None:
        self.llm = llm
        self.options = options

    @property
    def name(self) -> str:
        return self.options.spec

    def _messages(self, prompt: str) -> list[Any]:
        from llama_index.core.llms import ChatMessage

        return [ChatMessage(role="user", content=prompt)]

    def complete(self, prompt: str, *, max_tokens: int | None = None) -> str:
        kwargs = _limit(self.options, max_tokens)

        def call() -> str:
            return str(self.llm.chat(self._messages(prompt), **kwargs).message.content or "")

        return call_with_retries(call, self.options)

    def stream(self, prompt: str, *, max_tokens: int | None = None) -> Iterator[str]:
        """Yield text as the model produces it; retried only before the first piece arrives."""
        kwargs = _limit(self.options, max_tokens)
        pieces = call_with_retries(lambda: _first_and_rest(self.llm.stream_chat(self._messages(prompt), **kwargs)),
                                   self.options)
        try:
            yield from pieces
        except LLMError:
            raise
        except Exception as exc:
            raise LLMError(explain(classify(exc), exc, self.options)) from exc


def _limit(options: LLMOptions, max_tokens: int | None) -> dict[str, Any]:
    if max_tokens is None:
        return {}
    provider, _ = parse_spec(options.spec)
    if provider == "ollama":
        return {"num_predict": max_tokens}
    if provider == "llama-cpp":
        return {}  # fixed at load time (max_new_tokens); condense prompts are short anyway
    return {"max_tokens": max_tokens}


def _first_and_rest(responses: Iterator[Any]) -> Iterator[str]:
    """Pull the first delta now (so connection errors surface inside the retry), then the rest lazily."""
    iterator = iter(responses)
    first: list[str] = []
    for response in iterator:
        delta = response.delta or ""
        if delta:
            first.append(delta)
            break

    def rest() -> Iterator[str]:
        yield from first
        for response in iterator:
            if response.delta:
                yield response.delta

    return rest()


def _import(provider: str, module: str, attr: str) -> Any:
    import importlib

    try:
        return getattr(importlib.import_module(module), attr)
    except ImportError as exc:
        raise ConfigError(
            f"the {provider} backend needs {module.replace('.', '-').replace('_', '-')}: {_EXTRAS[provider]} "
            f"({exc})"
        ) from None


def build_backend(options: LLMOptions) -> LlamaIndexBackend:
    """The backend for ``options.spec``; nothing is contacted until the first call."""
    provider, model = parse_spec(options.spec)
    if provider == "openai":
        return LlamaIndexBackend(_openai(model, options), options)
    if provider == "ollama":
        cls = _import("ollama", "llama_index.llms.ollama", "Ollama")
        llm = cls(
            model=model,
            base_url=options.url or "http://localhost:11434",
            request_timeout=options.timeout,
            temperature=options.temperature,
            context_window=options.context_window,
            additional_kwargs={"num_predict": options.max_tokens},
        )
        return LlamaIndexBackend(llm, options)
    return LlamaIndexBackend(_llama_cpp(model, options), options)


def _openai(model: str, options: LLMOptions) -> Any:
    common: dict[str, Any] = {
        "model": model,
        "temperature": options.temperature,
        "max_tokens": options.max_tokens,
        "timeout": options.timeout,
        "max_retries": 0,  # ours (call_with_retries) instead
    }
    if options.url:
        cls = _import("openai", "llama_index.llms.openai_like", "OpenAILike")
        return cls(
            api_base=options.url,
            api_key=options.api_key or "no-key",  # local servers need none; the client needs some
            is_chat_model=True,
            context_window=options.context_window,
            **common,
        )
    if not options.api_key:
        raise ConfigError(
            "llm openai:... without RAG_LLM_URL talks to OpenAI and needs a key: set OPENAI_API_KEY or "
            "RAG_LLM_API_KEY, or point RAG_LLM_URL (--llm-url) at an OpenAI-compatible server"
        )
    cls = _import("openai", "llama_index.llms.openai", "OpenAI")
    return cls(api_key=options.api_key, api_base="https://api.openai.com/v1", **common)


def _llama_cpp(model: str, options: LLMOptions) -> Any:
    path = Path(model).expanduser()
    if not path.is_file():
        raise ConfigError(f"GGUF file not found: {path}; fix RAG_LLM (--llm llama-cpp:/path/to/model.gguf)")
    cls = _import("llama-cpp", "llama_index.llms.llama_cpp", "LlamaCPP")
    holder: dict[str, Any] = {}

    def messages_to_prompt(messages: Any) -> str:
        return format_chat(holder["model"], [{"role": str(m.role.value), "content": m.content or ""}
                                             for m in messages])

    try:
        llm = cls(
            model_path=str(path),
            temperature=options.temperature,
            max_new_tokens=options.max_tokens,
            context_window=options.context_window,
            messages_to_prompt=messages_to_prompt,
            completion_to_prompt=lambda text: text,
            model_kwargs={"n_gpu_layers": 0, "seed": 0},
            verbose=False,
        )
    except ValueError as exc:  # llama.cpp cannot load the file
        raise ConfigError(f"llama.cpp could not load {path}: {exc}; fix RAG_LLM (--llm llama-cpp:FILE)") from None
    holder["model"] = llm._model
    return llm


def format_chat(model: Any, messages: list[dict[str, str]]) -> str:
    """Render chat messages with the chat template stored in the GGUF file (as llama.cpp's server does)."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = model.metadata.get("tokenizer.chat_template")
    if not template:  # no template in the file: a plain transcript
        return "\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\nassistant:"
    eos = model.detokenize([model.token_eos()]).decode("utf-8", "ignore")
    bos = model.detokenize([model.token_bos()]).decode("utf-8", "ignore")
    formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
    return str(formatter(messages=cast(Any, messages)).prompt)
