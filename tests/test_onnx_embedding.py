"""The ONNX Runtime embedder: the same vectors as sentence-transformers, a checked one-time export, a cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

import index.onnx_export as onnx_export
from index.embedding import DEFAULT_MODEL, SentenceTransformerEmbedder
from index.errors import ConfigError
from index.onnx_embedding import OnnxEmbedder, model_key, read_model_spec, remembered_model_key
from index.onnx_encoder import mean_pool_normalize
from rag import Assistant, Settings
from rag.cli import start_loading
from tests.onnx_support import exported_cache

SENTENCES = [
    "How do I delete a document from the index?",
    "Bees make honey from nectar.",
    "",
    "  Leading and trailing spaces  ",
    "Crème brûlée in Zürich; 東京 and São Paulo!",
]
# about 600 word pieces: well past the model's 256-piece window
LONG = " ".join(
    f"Paragraph {i} explains how the archive keeps scanned letters, maps and ledgers for researchers."
    for i in range(40)
)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return exported_cache(tmp_path_factory)


@pytest.fixture(scope="module")
def onnx_embedder(cache: Path) -> OnnxEmbedder:
    return OnnxEmbedder(cache_dir=cache)


def _pieces(embedder: OnnxEmbedder, text: str) -> int:
    tokenizer = Tokenizer.from_file(str(embedder.spec.folder / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return len(tokenizer.encode(text).ids)


def _assert_same(ours: list[list[float]], theirs: list[list[float]]) -> None:
    a, b = np.array(ours), np.array(theirs)
    assert a.shape == b.shape
    cos = (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert cos.min() >= 0.9999, cos
    assert np.abs(a - b).max() <= 1e-4


@pytest.mark.slow
def test_short_texts_match_sentence_transformers(
    onnx_embedder: OnnxEmbedder, embedder: SentenceTransformerEmbedder
) -> None:
    _assert_same(onnx_embedder.embed_documents(SENTENCES), embedder.embed_documents(SENTENCES))


@pytest.mark.slow
def test_texts_longer_than_the_window_are_cut_as_sentence_transformers_cuts_them(
    onnx_embedder: OnnxEmbedder, embedder: SentenceTransformerEmbedder
) -> None:
    assert onnx_embedder.spec.max_seq_length == 256
    tail_changed = LONG + " A different ending that lies far beyond the window."
    assert _pieces(onnx_embedder, LONG) > 2 * 256
    texts = [LONG, tail_changed]
    ours = onnx_embedder.embed_documents(texts)
    _assert_same(ours, embedder.embed_documents(texts))
    # both are cut at the same 256 pieces, so only what lies past the window differs: nothing
    assert np.abs(np.array(ours[0]) - np.array(ours[1])).max() <= 1e-6
    # while the text itself is not simply thrown away: its first 256 pieces carry meaning
    assert np.dot(ours[0], onnx_embedder.embed_query(SENTENCES[1])) < 0.9


@pytest.mark.slow
def test_a_batch_of_mixed_lengths_matches_one_text_at_a_time(
    onnx_embedder: OnnxEmbedder, embedder: SentenceTransformerEmbedder
) -> None:
    mixed = [SENTENCES[0], LONG, SENTENCES[2], LONG[:700], SENTENCES[4], "a"]
    batch = onnx_embedder.embed_documents(mixed)
    _assert_same(batch, embedder.embed_documents(mixed))
    one_by_one = [onnx_embedder.embed_documents([t])[0] for t in mixed]
    assert np.abs(np.array(batch) - np.array(one_by_one)).max() <= 1e-5
    assert onnx_embedder.embed_query(SENTENCES[0]) == onnx_embedder.embed_documents([SENTENCES[0]])[0]
    assert all(abs(np.linalg.norm(v) - 1) < 1e-5 for v in batch)


@pytest.mark.slow
def test_an_index_built_with_pytorch_is_searched_with_onnx_without_rebuild(
    article_assistant: Assistant, onnx_embedder: OnnxEmbedder
) -> None:
    assert onnx_embedder.model_id == article_assistant._embedder.model_id == DEFAULT_MODEL
    assert onnx_embedder.dimension == article_assistant._embedder.dimension == 384
    onnx = article_assistant.variant(embedder=onnx_embedder)
    question = "What budget did the city council approve?"
    ours = onnx.ask(question)  # an IndexMismatchError here would force a rebuild
    theirs = article_assistant.ask(question)
    assert [h.chunk.id for h in ours.hits] == [h.chunk.id for h in theirs.hits]
    assert ours.text == theirs.text and not ours.abstained


@pytest.mark.slow
def test_int8_sits_beside_fp32_close_to_it_and_is_not_the_default(cache: Path, onnx_embedder: OnnxEmbedder) -> None:
    int8 = OnnxEmbedder(cache_dir=cache, quantized=True)
    assert int8.onnx_path.parent == onnx_embedder.onnx_path.parent
    assert int8.onnx_path.is_file() and onnx_embedder.onnx_path.is_file()
    assert int8.onnx_path.stat().st_size + (int8.onnx_path.parent / "model-int8.onnx.data").stat().st_size < 30e6
    a = np.array(int8.embed_documents([*SENTENCES[:2], LONG]))
    b = np.array(onnx_embedder.embed_documents([*SENTENCES[:2], LONG]))
    cos = (a * b).sum(axis=1)
    assert cos.min() >= 0.95 and np.abs(a - b).max() > 1e-4  # close, yet a different model
    assert Settings().embed_backend == "onnx"
    assert int8.backend == "onnx-int8" and int8.model_id == DEFAULT_MODEL
    meta = json.loads((cache / "onnx" / int8.onnx_path.parent.name / "model-int8.json").read_text())
    assert meta["variant"] == "int8" and meta["min_cosine_to_torch"] >= 0.95


def _written_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file() and p.name != ".export.lock")


@pytest.mark.slow
def test_an_export_that_fails_the_check_is_removed_and_named(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong model (the int8 weights passed off as the fp32 export) fails the 0.9999 check."""
    import onnx

    good = OnnxEmbedder(cache_dir=cache, quantized=True).onnx_path

    def wrong_export(_model: object, path: Path, _quiet: bool) -> None:
        onnx.save_model(onnx.load(str(good)), str(path))  # one self-contained file, as the exporter writes

    monkeypatch.setattr(onnx_export, "_export_fp32", wrong_export)
    fresh = OnnxEmbedder(cache_dir=tmp_path / "cache")
    wrong = r"does not match the PyTorch model: cosine 0\.9.*removed.*RAG_EMBED_BACKEND=torch"
    with pytest.raises(ConfigError, match=wrong):
        fresh.embed_query("hello")
    assert not fresh.onnx_path.exists() and not fresh.loaded
    assert _written_files(fresh.cache_folder) == []  # no model, no weights file, no temporary file


@pytest.mark.slow
def test_an_exporter_failure_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_model: object, _path: Path, _quiet: bool) -> None:
        raise RuntimeError("unsupported operator aten::frobnicate")

    monkeypatch.setattr(onnx_export, "_export_fp32", broken)
    fresh = OnnxEmbedder(cache_dir=tmp_path / "cache")
    with pytest.raises(ConfigError, match=r"could not export .*frobnicate.*RAG_EMBED_BACKEND=torch"):
        fresh.load()
    assert _written_files(fresh.cache_folder) == []


def _fake_model(folder: Path, pooling: dict[str, bool], modules: list[str] | None = None) -> Path:
    folder.mkdir(parents=True)
    kinds = modules or ["Transformer", "Pooling", "Normalize"]
    paths = {"Transformer": "", "Pooling": "1_Pooling", "Normalize": "2_Normalize", "Dense": "2_Dense"}
    (folder / "modules.json").write_text(json.dumps(
        [{"idx": i, "path": paths[k], "type": f"sentence_transformers.models.{k}"} for i, k in enumerate(kinds)]
    ))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 8, **pooling}))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128, "do_lower_case": False}))
    (folder / "config.json").write_text(json.dumps({"hidden_size": 8}))
    (folder / "tokenizer.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"\0" * 64)
    return folder


def test_models_the_onnx_path_cannot_reproduce_are_refused_with_the_fix(tmp_path: Path) -> None:
    cls = _fake_model(tmp_path / "cls", {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    with pytest.raises(ConfigError, match=r"pools with pooling_mode_cls_token.*RAG_EMBED_BACKEND=torch"):
        read_model_spec(cls)
    dense = _fake_model(tmp_path / "dense", {"pooling_mode_mean_tokens": True}, ["Transformer", "Pooling", "Dense"])
    with pytest.raises(ConfigError, match=r"Transformer -> Pooling -> Dense.*RAG_EMBED_BACKEND=torch"):
        read_model_spec(dense)
    with pytest.raises(ConfigError, match=r"not a local folder.*RAG_EMBED_BACKEND=torch"):
        _ = OnnxEmbedder("some-org/not-on-this-machine", cache_dir=tmp_path / "c").onnx_path
    spec = read_model_spec(_fake_model(tmp_path / "mean", {"pooling_mode_mean_tokens": True}))
    assert (spec.max_seq_length, spec.dimension, spec.pooling_dir) == (128, 8, "1_Pooling")


def test_the_cache_key_follows_the_model_files_and_is_remembered(tmp_path: Path) -> None:
    spec = read_model_spec(_fake_model(tmp_path / "m", {"pooling_mode_mean_tokens": True}))
    root = tmp_path / "cache"
    first = remembered_model_key(spec, root)
    assert first == model_key(spec) and len(first) == 16
    assert (root / "keys.json").is_file()
    assert remembered_model_key(spec, root) == first
    weights = spec.folder / "model.safetensors"
    weights.write_bytes(b"\1" * 64)  # same size, new bytes and time: a new key
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))
    second = remembered_model_key(spec, root)
    assert second != first and second == model_key(spec)
    (root / "keys.json").write_text("not json")  # a damaged memo costs one hash, nothing else
    assert remembered_model_key(spec, root) == second


def test_mean_pooling_ignores_padding_and_gives_unit_vectors() -> None:
    hidden = np.array([[[1.0, 0.0], [3.0, 4.0], [100.0, 100.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]], dtype=np.int64)
    out = mean_pool_normalize(hidden, mask)
    np.testing.assert_allclose(out, [[2 / np.hypot(2, 2), 2 / np.hypot(2, 2)]], rtol=1e-6)
    empty = mean_pool_normalize(np.zeros((1, 2, 2), dtype=np.float32), np.zeros((1, 2), dtype=np.int64))
    assert np.isfinite(empty).all()


@pytest.mark.slow
def test_the_model_loads_in_a_background_thread(cache: Path, tmp_path: Path) -> None:
    settings = Settings(index_dir=str(tmp_path / "index"), cache_dir=str(cache))
    assistant = Assistant.open(settings=settings)
    assert isinstance(assistant._embedder, OnnxEmbedder) and not assistant._embedder.loaded
    thread = start_loading(assistant)
    assert thread is not None
    thread.join(timeout=300)
    assert assistant._embedder.loaded


def test_a_failed_background_load_is_raised_again_at_first_use(tmp_path: Path) -> None:
    folder = _fake_model(tmp_path / "cls", {"pooling_mode_cls_token": True})
    settings = Settings(index_dir=str(tmp_path / "index"), cache_dir=str(tmp_path / "c"), embed_model=str(folder))
    assistant = Assistant.open(settings=settings)
    thread = start_loading(assistant)
    assert thread is not None
    thread.join(timeout=60)
    assert not thread.is_alive()
    with pytest.raises(ConfigError, match="pools with"):
        assistant._embedder.embed_query("hello")


def test_the_backend_setting_picks_the_embedder(tmp_path: Path) -> None:
    base = Settings(index_dir=str(tmp_path / "i"), cache_dir=str(tmp_path / "c"))
    from rag.parts import build_embedder

    assert isinstance(build_embedder(base), OnnxEmbedder)
    assert isinstance(build_embedder(base.with_(embed_backend="torch")), SentenceTransformerEmbedder)
    int8 = build_embedder(base.with_(embed_backend="onnx-int8"))
    assert isinstance(int8, OnnxEmbedder) and int8.backend == "onnx-int8"
    with pytest.raises(ConfigError, match=r"embed_backend \('gpu'\) must be one of onnx, onnx-int8, torch"):
        Settings(embed_backend="gpu")
    env = {"RAG_EMBED_BACKEND": "torch", "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    from_env = Settings.from_env(env)
    assert from_env.embed_backend == "torch"
    assert from_env.cache_dir == str(tmp_path / "xdg" / "rag-assistant")


def test_evals_build_one_index_per_embedding_backend(tmp_path: Path) -> None:
    """`rag eval --compare embed_backend=onnx,onnx-int8` must not search int8 queries in fp32 vectors."""
    from evals.datasets import EvalSet
    from evals.runner import index_key

    eval_set = EvalSet("s", "jsonl", "s.jsonl", (), (tmp_path / "corpus",))
    base = Settings(index_dir=str(tmp_path / "i"))
    keys = {b: index_key(eval_set, base.with_(embed_backend=b)) for b in ("onnx", "onnx-int8", "torch")}
    assert len(set(keys.values())) == 3
    assert index_key(eval_set, base.with_(top_k=9)) == keys["onnx"]  # search settings still share the index
