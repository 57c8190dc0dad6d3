"""One exported sentence-transformers model on ONNX Runtime: texts in, unit vectors out.

``OnnxEncoder`` is what both ``index.onnx_embedding`` (the embedder, with its cache and
one-time export) and ``index.onnx_export`` (which checks a fresh export against PyTorch)
run; it lives below both so that neither imports the other's module back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from index.errors import ConfigError

# variant -> file in the model's cache folder (the int8 file sits beside the fp32 one)
VARIANT_FILES = {"fp32": "model.onnx", "int8": "model-int8.onnx"}
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class ModelSpec:
    """What the ONNX path needs to reproduce a sentence-transformers model exactly."""

    folder: Path
    max_seq_length: int
    do_lower_case: bool
    dimension: int
    pooling_dir: str  # the Pooling module's sub-folder, e.g. "1_Pooling"


def read_json(path: Path) -> Any:
    """A JSON file of the model folder; ConfigError naming the file when it cannot be read."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path} ({exc}); reinstall the model or use RAG_EMBED_BACKEND=torch") from exc


def mean_pool_normalize(hidden: FloatArray, mask: npt.NDArray[np.int64]) -> FloatArray:
    """Mean of the token vectors under the attention mask, scaled to unit length.

    The same arithmetic as sentence-transformers' Pooling (sum / clamp(count, 1e-9))
    and Normalize (x / max(norm, 1e-12)).
    """
    weights = mask[:, :, None].astype(hidden.dtype)
    summed = (hidden * weights).sum(axis=1)
    counts = np.clip(weights.sum(axis=1), 1e-9, None)
    mean = summed / counts
    norms = np.linalg.norm(mean, axis=1, keepdims=True)
    unit: FloatArray = (mean / np.clip(norms, 1e-12, None)).astype(np.float32)
    return unit


class OnnxEncoder:
    """One ONNX file and its tokenizer: texts in, unit vectors out (no caching, no locks)."""

    def __init__(self, onnx_path: Path, spec: ModelSpec, *, threads: int = 0, quiet: bool = True) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.spec = spec
        tokenizer = Tokenizer.from_file(str(spec.folder / "tokenizer.json"))
        # What transformers' fast tokenizer sets for encode(padding=True, truncation=True, max_length=...)
        tokenizer.enable_truncation(max_length=spec.max_seq_length, stride=0, strategy="longest_first",
                                    direction="right")
        pad = _pad_token(spec.folder)
        pad_id = tokenizer.token_to_id(pad)
        if pad_id is None:
            raise ConfigError(
                f"{spec.folder}: the pad token {pad!r} is not in tokenizer.json; use RAG_EMBED_BACKEND=torch"
            )
        tokenizer.enable_padding(direction="right", pad_id=pad_id, pad_type_id=0, pad_token=pad)
        self._tokenizer = tokenizer
        options = ort.SessionOptions()
        options.log_severity_level = 3 if quiet else 2  # errors only unless verbose
        # Threads that wait for work sleep instead of spinning: a question is a few small
        # matrix products, and spinning only burns CPU that a busy machine needs elsewhere.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads > 0:
            options.intra_op_num_threads = threads
        self._session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}

    def encode(self, texts: Sequence[str], batch_size: int) -> FloatArray:
        """Unit vectors of ``texts``, in order; batches of similar length, as sentence-transformers does."""
        out = np.zeros((len(texts), self.spec.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self._encode_batch([texts[i] for i in idx])
        return out

    def _encode_batch(self, texts: list[str]) -> FloatArray:
        prepared = [t.lower() for t in texts] if self.spec.do_lower_case else texts  # as sentence-transformers
        encodings = self._tokenizer.encode_batch(prepared)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        hidden = self._session.run(None, feed)[0]
        return mean_pool_normalize(hidden, mask)


def _pad_token(folder: Path) -> str:
    for name in ("special_tokens_map.json", "tokenizer_config.json"):
        path = folder / name
        if path.is_file():
            value = read_json(path).get("pad_token")
            if isinstance(value, dict):
                value = value.get("content")
            if isinstance(value, str) and value:
                return value
    return "[PAD]"
