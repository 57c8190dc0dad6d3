"""Settings, read once at the edge (``rag.parts`` builds the collaborators from them).

This is the only module that reads environment variables.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import InitVar, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index.chunking import validate_chunking
from index.embedding import DEFAULT_BATCH_SIZE, DEFAULT_MODEL
from index.errors import ConfigError
from index.ingest import IngestOptions
from index.store import DEFAULT_COLLECTION
from rag.fusion import FusionConfig
from rag.retrieval import RETRIEVAL_MODES, RetrievalMode
from rag.unit_scores import ExtractiveConfig

if TYPE_CHECKING:
    from rag.llm import LLMOptions
    from rag.llm_answerer import LLMAnswerConfig


def default_index_dir(env: Mapping[str, str]) -> str:
    """``$XDG_DATA_HOME/rag-assistant/index``, else ``~/.local/share/rag-assistant/index``."""
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "rag-assistant" / "index")


MAX_TOP_K = 200  # passages per question: more only slows answers down


def default_cache_dir(env: Mapping[str, str]) -> str:
    """``$XDG_CACHE_HOME/rag-assistant``, else ``~/.cache/rag-assistant`` (the exported ONNX models)."""
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "rag-assistant")


# how the embedding model runs: ONNX Runtime (fp32, or int8-quantised) or PyTorch
EMBED_BACKENDS = ("onnx", "onnx-int8", "torch")

def default_data_dir(env: Mapping[str, str]) -> str:
    """The data folder (eval sets, the seed article): ``../shared`` beside a source checkout, where the
    project keeps it; for an installed package ``$XDG_DATA_HOME/rag-assistant/data`` (or ``~/.local/share/...``).
    """
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file():
        return str(checkout.parent / "shared")
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "rag-assistant" / "data")


OLD_ENV_NAMES = {"data_dir": "RAG_SHARED_DIR"}  # setting -> an older variable still read when the new one is unset

# setting name -> environment variable
ENV_VARS: dict[str, str] = {
    "index_dir": "RAG_INDEX_DIR",
    "chroma_url": "RAG_CHROMA_URL",
    "collection": "RAG_COLLECTION",
    "embed_model": "RAG_EMBED_MODEL",
    "embed_batch_size": "RAG_EMBED_BATCH_SIZE",
    "embed_backend": "RAG_EMBED_BACKEND",
    "cache_dir": "RAG_CACHE_DIR",
    "chunk_size": "RAG_CHUNK_SIZE",
    "chunk_overlap": "RAG_CHUNK_OVERLAP",
    "top_k": "RAG_TOP_K",
    "max_file_mb": "RAG_MAX_FILE_MB",
    "max_session_upload_mb": "RAG_MAX_SESSION_UPLOAD_MB",
    "file_timeout": "RAG_FILE_TIMEOUT",
    "answer_sentences": "RAG_ANSWER_SENTENCES",
    "retrieval": "RAG_RETRIEVAL",
    "lexical_weight": "RAG_LEXICAL_WEIGHT",
    # LLM answers (docs/llm.md)
    "llm": "RAG_LLM",
    "llm_url": "RAG_LLM_URL",
    "llm_api_key": "RAG_LLM_API_KEY",
    "llm_timeout": "RAG_LLM_TIMEOUT",
    "llm_temperature": "RAG_LLM_TEMPERATURE",
    "llm_max_tokens": "RAG_LLM_MAX_TOKENS",
    "llm_context_window": "RAG_LLM_CONTEXT_WINDOW",
    "llm_retries": "RAG_LLM_RETRIES",
    "prompts_dir": "RAG_PROMPTS_DIR",
    "history_tokens": "RAG_HISTORY_TOKENS",
    "data_dir": "RAG_DATA_DIR",  # evals: the data folder (built-in sets, a set's ".../shared/..." corpus paths)
    "data_url": "RAG_DATA_URL",  # `rag data fetch`: the base address the public sets are downloaded from
}


@dataclass(frozen=True)
class Settings:
    """Every setting, with its default. ``Settings.from_env()`` reads ``RAG_*`` variables.

    This class is the one home of each default: the option objects of the layers below
    (``IngestOptions``, ``FusionConfig``, ``ExtractiveConfig``, ``LLMOptions``,
    ``LLMAnswerConfig``) have no defaults for what is a setting here and are built by the
    methods below; CLI help shows these values (docs/design-notes.md, "Where defaults live").

    >>> Settings(index_dir="my-index", top_k=8).top_k
    8
    """

    index_dir: str = ""
    chroma_url: str = ""  # empty: embedded Chroma in index_dir
    collection: str = DEFAULT_COLLECTION
    embed_model: str = DEFAULT_MODEL
    embed_batch_size: int = DEFAULT_BATCH_SIZE
    embed_backend: str = "onnx"  # onnx | onnx-int8 | torch (EMBED_BACKENDS)
    cache_dir: str = ""  # empty: default_cache_dir(); the ONNX export lives in CACHE/onnx/<model hash>/
    chunk_size: int = 224
    chunk_overlap: int = 64
    top_k: int = 5
    max_file_mb: float = 50.0
    max_session_upload_mb: float = 500.0  # rag ui: what one session (or logged-in user) may upload in all
    file_timeout: float = 120.0  # seconds to read one file when ingesting; 0: no limit
    answer_sentences: int = 2
    retrieval: RetrievalMode = "hybrid"  # RETRIEVAL_MODES
    lexical_weight: float = 0.4  # share of BM25 in hybrid fusion (chosen by the evals)
    llm: str = ""  # provider:model, e.g. openai:gpt-4o-mini; empty: the extractive answerer
    llm_url: str = ""
    llm_api_key: str = field(default="", repr=False)
    llm_timeout: float = 60.0
    llm_temperature: float = 0.1
    llm_max_tokens: int = 512
    llm_context_window: int = 4096
    llm_retries: int = 2
    prompts_dir: str = ""  # a folder whose NAME.txt files override prompts/NAME.txt
    history_tokens: int = 1024
    data_dir: str = ""  # evals: the data folder; empty: default_data_dir()
    data_url: str = "https://raw.githubusercontent.com"  # `rag data fetch` downloads from here (evals/catalog.py)

    # how each value was given, for error messages: setting name -> "flag --top-k",
    # "config file PATH"...; a setting not named here is named by its environment variable
    origins: InitVar[Mapping[str, str] | None] = None

    def __post_init__(self, origins: Mapping[str, str] | None) -> None:
        if not self.index_dir:
            object.__setattr__(self, "index_dir", default_index_dir(os.environ))
        if not self.cache_dir:
            object.__setattr__(self, "cache_dir", default_cache_dir(os.environ))
        if not self.data_dir:
            object.__setattr__(self, "data_dir", default_data_dir(os.environ))
        validate_chunking(self.chunk_size, self.chunk_overlap)

        def where(name: str) -> str:
            return (origins or {}).get(name) or f"setting {ENV_VARS[name]}"

        if self.embed_backend not in EMBED_BACKENDS:
            raise ConfigError(
                f"embed_backend ({self.embed_backend!r}) must be one of {', '.join(EMBED_BACKENDS)} "
                f"({where('embed_backend')})"
            )

        for name, low in (("top_k", 1), ("embed_batch_size", 1), ("answer_sentences", 1)):
            value = getattr(self, name)
            if value < low:
                raise ConfigError(f"{name} ({value}) must be at least {low} ({where(name)})")
        if self.top_k > MAX_TOP_K:
            raise ConfigError(f"top_k ({self.top_k}) must be at most {MAX_TOP_K} ({where('top_k')})")
        validate_llm_settings(self, where)
        if self.retrieval not in RETRIEVAL_MODES:
            modes = f"{', '.join(RETRIEVAL_MODES[:-1])} or {RETRIEVAL_MODES[-1]}"
            raise ConfigError(f"retrieval ({self.retrieval!r}) must be {modes} ({where('retrieval')})")
        if not 0.0 <= self.lexical_weight <= 1.0:
            raise ConfigError(
                f"lexical_weight ({self.lexical_weight}) must be between 0 and 1 ({where('lexical_weight')})"
            )
        for name in ("max_file_mb", "max_session_upload_mb"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} ({getattr(self, name)}) must be positive ({where(name)})")
        if self.file_timeout < 0:
            raise ConfigError(
                f"file_timeout ({self.file_timeout}) must be 0 (no limit) or more seconds ({where('file_timeout')})"
            )

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, flags: Mapping[str, str] | None = None, **overrides: Any
    ) -> Settings:
        """Defaults, then the config file, then ``RAG_*`` environment variables, then ``overrides``.

        The config file is TOML with setting names as keys (``llm = "openai:qwen2.5"``):
        ``RAG_CONFIG`` names it, else ``$XDG_CONFIG_HOME/rag-assistant/config.toml`` (or
        ``~/.config/...``) is read when it exists. ``None`` overrides are ignored.
        ``flags`` names the command-line flag each override came from (``{"top_k": "--top-k"}``),
        so an error about a value names where it was given.
        """
        env = os.environ if env is None else env
        types = {f.name: f.type for f in fields(cls)}
        path = config_file_path(env)
        values: dict[str, Any] = read_config_file(path, types)
        origins = {name: f"config file {path}" for name in values}
        for name, var in ENV_VARS.items():
            raw = env.get(var) or env.get(OLD_ENV_NAMES.get(name, ""))
            if raw is None or raw == "":
                continue
            values[name] = _parse(name, var, raw, str(types[name]))
            origins.pop(name, None)  # named by its variable
        if "index_dir" not in values:
            values["index_dir"] = default_index_dir(env)
        if "cache_dir" not in values:
            values["cache_dir"] = default_cache_dir(env)
        openai_key = env.get("OPENAI_API_KEY", "")  # the key for OpenAI itself only, below
        given = {k: v for k, v in overrides.items() if v is not None}
        values.update(given)
        for name in given:
            origins[name] = f"flag {flags[name]}" if flags and name in flags else f"argument {name}={given[name]!r}"
        unknown = set(values) - set(types)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        openai_itself = str(values.get("llm", "")).lower().startswith("openai:") and not values.get("llm_url")
        if openai_key and openai_itself and not values.get("llm_api_key"):
            values["llm_api_key"] = openai_key  # never sent to a server of another host
        return cls(**values, origins=origins)

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    # -- the option objects of the parts, built from these values -------------------------

    @property
    def max_file_bytes(self) -> int:
        """``max_file_mb`` in bytes: the largest file ingested (and opened as a cited document)."""
        return int(self.max_file_mb * 1_000_000)

    def ingest_options(self, **extra: Any) -> IngestOptions:
        """How ``index.ingest`` chunks and reads files; ``extra`` sets the per-run fields (``sync``, ``tags``...)."""
        return IngestOptions(
            chunk_size=self.chunk_size,
            chunk_overlap=self.chunk_overlap,
            max_bytes=self.max_file_bytes,
            file_timeout=self.file_timeout,
            **extra,
        )

    def fusion_config(self) -> FusionConfig:
        """How hybrid retrieval fuses its dense and lexical lists."""
        return FusionConfig(lexical_weight=self.lexical_weight)

    def extractive_config(self) -> ExtractiveConfig:
        """The extractive answerer's options."""
        return ExtractiveConfig(max_sentences=self.answer_sentences)

    def llm_options(self) -> LLMOptions:
        """What an LLM backend needs (``rag.llm.build_backend``)."""
        from rag.llm import LLMOptions

        return LLMOptions(
            spec=self.llm,
            url=self.llm_url,
            api_key=self.llm_api_key,
            timeout=self.llm_timeout,
            temperature=self.llm_temperature,
            max_tokens=self.llm_max_tokens,
            context_window=self.llm_context_window,
            retries=self.llm_retries,
        )

    def llm_answer_config(self) -> LLMAnswerConfig:
        """The LLM answerer's budgets and prompts."""
        from rag.llm_answerer import LLMAnswerConfig

        return LLMAnswerConfig(
            context_window=self.llm_context_window,
            max_tokens=self.llm_max_tokens,
            history_tokens=self.history_tokens,
            prompts_dir=self.prompts_dir,
        )


def config_file_path(env: Mapping[str, str]) -> Path | None:
    """The config file to read: ``RAG_CONFIG`` (must exist), else the default one if present."""
    named = env.get("RAG_CONFIG")
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise ConfigError(f"RAG_CONFIG={named!r}: no such file (create it, or unset RAG_CONFIG)")
        return path
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    default = Path(base) / "rag-assistant" / "config.toml"
    return default if default.is_file() else None


def read_config_file(path: Path | None, types: Mapping[str, Any]) -> dict[str, Any]:
    """Settings from a TOML file; unknown keys and wrong types are errors naming the file."""
    if path is None:
        return {}
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path}: {exc} (fix the file, or point RAG_CONFIG elsewhere)") from exc
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in types:
            raise ConfigError(f"config file {path}: unknown setting {key!r} (settings: {', '.join(sorted(types))})")
        want = str(types[key])
        ok = (
            (want == "str" and isinstance(value, str))
            or (want == "int" and isinstance(value, int) and not isinstance(value, bool))
            or (want == "float" and isinstance(value, (int, float)) and not isinstance(value, bool))
            or want not in ("str", "int", "float")
        )
        if not ok:
            raise ConfigError(f"config file {path}: {key} = {value!r} must be a {want}")
        values[key] = float(value) if want == "float" else value
    return values


def _parse(name: str, var: str, raw: str, type_name: str) -> Any:
    try:
        if type_name == "int":
            return int(raw)
        if type_name == "float":
            return float(raw)
    except ValueError:
        raise ConfigError(f"{var}={raw!r} is not a valid {type_name} (setting {name})") from None
    return raw


INDEX_MARKER = "chroma.sqlite3"  # the file every embedded Chroma index folder holds


def check_index_folder(path: Path, *, create: bool) -> None:
    """Refuse a folder that is not an index; with ``create`` False, also one that does not exist yet.

    A missing or empty folder becomes a new index only when ``create`` is True (``rag ingest``,
    ``rag ui``); a folder holding other files and no ``chroma.sqlite3`` is never taken over.
    """
    how = f"rag ingest FOLDER --index {path}"
    if path.exists() and not path.is_dir():
        raise ConfigError(f"index dir {path} is a file; give a folder with --index or RAG_INDEX_DIR")
    if (path / INDEX_MARKER).is_file():
        return
    others = sorted(p.name for p in path.iterdir() if not p.name.startswith(".")) if path.is_dir() else []
    if others:
        shown = ", ".join(others[:3]) + (", …" if len(others) > 3 else "")
        raise ConfigError(
            f"{path} is not an index: it holds other files ({shown}) and no {INDEX_MARKER}; "
            "give the index folder with --index (or RAG_INDEX_DIR), or a new folder to create an index in"
        )
    if not create:
        state = "is empty" if path.is_dir() else "does not exist"
        raise ConfigError(f"no index at {path} (the folder {state}); create one with `{how}`")


def validate_llm_settings(settings: Settings, where: Callable[[str], str] | None = None) -> None:
    """Check the LLM settings early; each message names the setting (``where`` it was given) and the fix."""
    from rag.answering import answerer_name

    answerer_name(settings.llm)  # "" (extractive), an LLM's provider:model, or another answerer's name
    checks = (
        ("llm_timeout", settings.llm_timeout > 0, "must be positive (seconds)"),
        ("llm_temperature", 0 <= settings.llm_temperature <= 2, "must be between 0 and 2"),
        ("llm_max_tokens", settings.llm_max_tokens >= 1, "must be at least 1"),
        ("llm_retries", 0 <= settings.llm_retries <= 10, "must be between 0 and 10"),
        ("history_tokens", settings.history_tokens >= 0, "must be 0 or more"),
        ("llm_context_window", settings.llm_context_window >= settings.llm_max_tokens + 256,
         f"must exceed llm_max_tokens ({settings.llm_max_tokens}) by at least 256 tokens"),
    )
    for name, ok, rule in checks:
        if not ok:
            given = where(name) if where else f"setting {ENV_VARS[name]}"
            raise ConfigError(f"{name} ({getattr(settings, name)}) {rule} ({given})")


