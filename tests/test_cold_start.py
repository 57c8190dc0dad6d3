"""Start-up through the real `rag` command: quiet by default, -v for more, the ONNX cache in `rag status`,
and no torch in `rag ingest` or `rag ui` once the ONNX model is cached."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import free_port, stop_process
from tests.onnx_support import cli_env, exported_cache
from tests.test_project import imported_modules

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
NOTES = "# Kitchen Notes\n\nThe sourdough starter is fed with rye flour every morning.\n"
QUESTION = "What is the sourdough starter fed with?"
NO_TORCH = {"torch", "sentence_transformers", "transformers"}


def rag(*args: str, env: dict[str, str], python_flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, *python_flags, "-m", "rag", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env, timeout=600)


def foreign_lines(stderr: str) -> list[str]:
    """stderr pieces that are not our own ingest progress bar (tqdm redraws with \\r)."""
    pieces = (p.strip() for p in re.split(r"[\r\n]", stderr))
    return [p for p in pieces if p and not p.startswith("ingest:")]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return exported_cache(tmp_path_factory)


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cold") / "docs"
    folder.mkdir()
    (folder / "notes.md").write_text(NOTES, "utf-8")
    return folder


def test_ingest_and_ask_print_nothing_of_other_libraries(cache: Path, docs: Path, tmp_path: Path) -> None:
    env = cli_env(cache)
    index = str(tmp_path / "index")
    ingest = rag("ingest", str(docs), "--index", index, env=env, python_flags=("-X", "importtime"))
    assert ingest.returncode == 0, ingest.stderr[-3000:]
    assert sorted(m for m in imported_modules(ingest.stderr) if m.split(".")[0] in NO_TORCH) == []
    assert foreign_lines("\n".join(line for line in ingest.stderr.splitlines()
                                   if not line.startswith("import time:"))) == []
    ask = rag("ask", QUESTION, "--index", index, env=env)
    assert ask.returncode == 0 and "rye flour" in ask.stdout, ask.stderr
    assert ask.stderr == ""


def test_the_pytorch_backend_is_quiet_too_and_finds_the_same(cache: Path, docs: Path, tmp_path: Path) -> None:
    """The `Loading weights` bar and transformers' warnings stay off stderr; -v lets them through."""
    env = cli_env(cache)
    index = str(tmp_path / "index")
    assert rag("ingest", str(docs), "--index", index, "--quiet", env=env).returncode == 0
    ask = rag("ask", QUESTION, "--index", index, "--embed-backend", "torch", env=env)
    assert ask.returncode == 0 and "rye flour" in ask.stdout, ask.stderr
    assert ask.stderr == ""
    verbose = rag("ask", QUESTION, "--index", index, "--embed-backend", "torch", "-v", env=env)
    assert verbose.returncode == 0
    assert "Loading weights" in verbose.stderr and "timings: " in verbose.stderr


def test_verbose_shows_the_model_file_and_timings(cache: Path, docs: Path, tmp_path: Path) -> None:
    env = cli_env(cache)
    index = str(tmp_path / "index")
    assert rag("ingest", str(docs), "--index", index, "--quiet", env=env).returncode == 0
    out = rag("ask", QUESTION, "--index", index, "-v", env=env)
    assert out.returncode == 0, out.stderr
    assert re.search(r"loaded .*model\.onnx in \d+\.\d\d s", out.stderr), out.stderr
    assert re.search(r"timings: .*embed \d+ ms.*whole command \d+\.\d\d s", out.stderr), out.stderr


def test_status_shows_where_the_onnx_model_is_cached(cache: Path, tmp_path: Path) -> None:
    out = rag("status", "--index", str(tmp_path / "index"), env=cli_env(cache))
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if x.startswith("embedder:"))
    assert re.fullmatch(rf"embedder: +onnx, {re.escape(str(cache))}/onnx/[0-9a-f]{{16}}/model\.onnx \(ready\)", line)
    empty = tmp_path / "empty-cache"
    fresh = rag("status", "--index", str(tmp_path / "index"), "--embed-backend", "onnx-int8",
                env=cli_env(empty))
    assert "model-int8.onnx (not made yet: exported on first use)" in fresh.stdout, fresh.stdout
    as_json = rag("status", "--json", "--index", str(tmp_path / "index"), env=cli_env(cache))
    assert '"embed_cache_ready": true' in as_json.stdout


def test_rag_ui_loads_no_torch(cache: Path, docs: Path, tmp_path: Path) -> None:
    port = free_port()
    cmd = [sys.executable, "-X", "importtime", "-m", "rag", "ui", "--port", str(port),
           "--index", str(tmp_path / "index"), "--sample", str(docs)]
    err = tmp_path / "stderr.txt"
    lines: list[str] = []
    with err.open("w") as stderr:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=REPO, env=cli_env(cache))
        reader = threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True)
        reader.start()
        try:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and proc.poll() is None and not any(x.startswith("ready") for x in lines):
                time.sleep(0.2)
            assert any(x.startswith("ready") for x in lines), "".join(lines) + err.read_text()[-3000:]
        finally:
            stop_process(proc)
    modules = imported_modules(err.read_text())
    assert "gradio" in modules and "onnxruntime" in modules
    assert sorted(m for m in modules if m.split(".")[0] in NO_TORCH) == []
