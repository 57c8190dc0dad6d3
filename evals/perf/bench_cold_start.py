"""Cold start: a whole ``rag ask`` process over a small index, per embedding backend.

Each repeat starts fresh processes, in turn, and times them from spawn to exit:

a) the baseline: ``python -c "import chromadb; chromadb.PersistentClient(DIR).list_collections()"``,
   the least any command over an embedded Chroma index can cost;
b) ``rag ask QUESTION --index DIR`` with the default ONNX Runtime embedder (fp32);
c) the same with ``--embed-backend onnx-int8``;
d) the same with ``--embed-backend torch`` (sentence-transformers on PyTorch);
e) ``rag ui --index DIR``: from spawn until its page answers HTTP 200 on localhost (the
   model then loads in the background; the process is stopped once the page is up).

The index holds this project's README and docs/ (the sample corpus of ``rag ui``). The
ONNX files are made before timing starts (in ``--cache-dir``, else the user's cache), and
one untimed run of each command warms the disk cache, so every timed run is a new process
on a warm disk: the second command a user types. The "embed" rows are the
``timings.embed`` of ``rag ask --json``: the first question's embedding, model load
included. Run it from the repository root:

    .venv/bin/python -m evals.perf.bench_cold_start              # 3 repeats
    .venv/bin/python -m evals.perf.bench_cold_start --repeat 5 --json cold.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from evals.perf.table import Metric, render, summarize
from rag import Assistant, Settings

REPO = Path(__file__).resolve().parents[2]
QUESTION = "How do I delete a document?"
BACKENDS = ("onnx", "onnx-int8", "torch")
TARGET_SECONDS = 2.0
TARGET_RATIO = 2.5
TARGET_UI_SECONDS = 4.0


def corpus() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def rag_command() -> list[str]:
    script = Path(sys.executable).parent / "rag"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "rag"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Seconds from spawn to exit, CPU seconds (user + sys) of the process, and its stdout.

    CPU time moves less than wall time on a machine shared with other work. A failed
    command stops the benchmark.
    """
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed, _children_cpu() - cpu, done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ui_ready(index: Path, env: dict[str, str], limit: float = 120.0) -> float:
    """Seconds from spawning ``rag ui`` until its page answers; a UI that never does stops the benchmark."""
    port = free_port()
    cmd = [*rag_command(), "ui", "--index", str(index), "--port", str(port)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        while time.perf_counter() - started < limit:
            if proc.poll() is not None:
                err = proc.stderr.read() if proc.stderr else ""
                raise SystemExit(f"{' '.join(cmd)} exited ({proc.returncode}):\n{err}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as page:
                    if page.status == 200:
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.02)
        raise SystemExit(f"{' '.join(cmd)} served no page within {limit:.0f} s")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def build_index(folder: Path, cache_dir: str) -> None:
    """Ingest the corpus, and make every ONNX file, before anything is timed."""
    settings = Settings(index_dir=str(folder), cache_dir=cache_dir)
    Assistant.open(settings=settings).ingest(corpus())
    Assistant.open(settings=settings.with_(embed_backend="onnx-int8")).warm_up()


def commands(index: Path) -> dict[str, list[str]]:
    baseline = f"import chromadb; chromadb.PersistentClient({str(index)!r}).list_collections()"
    out = {"baseline": [sys.executable, "-c", baseline]}
    for backend in BACKENDS:
        out[backend] = [*rag_command(), "ask", QUESTION, "--index", str(index), "--embed-backend", backend, "--json"]
    return out


def one_run(cmds: dict[str, list[str]], env: dict[str, str], index: Path) -> dict[str, float]:
    row: dict[str, float] = {}
    for name, cmd in cmds.items():
        seconds, cpu, out = timed(cmd, env)
        row[f"{name}_s"] = seconds
        row[f"{name}_cpu"] = cpu
        if name != "baseline":
            row[f"{name}_embed_ms"] = float(json.loads(out)["timings"]["embed"])
    row["ui_ready_s"] = ui_ready(index, env)
    for backend in BACKENDS:
        row[f"{backend}_ratio"] = row[f"{backend}_s"] / row["baseline_s"]
        row[f"{backend}_cpu_ratio"] = row[f"{backend}_cpu"] / row["baseline_cpu"]
    return row


METRICS = [
    Metric("baseline_s", "a) chromadb import + PersistentClient.list_collections", "s"),
    Metric("baseline_cpu", "a) CPU time (user + sys)", "s"),
    Metric("onnx_s", "b) rag ask, onnx (default)", "s", f"< {TARGET_SECONDS}", lambda v: v < TARGET_SECONDS),
    Metric("onnx_ratio", "b) / a)", "x", f"<= {TARGET_RATIO}", lambda v: v <= TARGET_RATIO),
    Metric("onnx_cpu", "b) CPU time (user + sys)", "s"),
    Metric("onnx_cpu_ratio", "b) / a), CPU time", "x"),
    Metric("onnx_embed_ms", "b) first embed (model load included)", "ms"),
    Metric("onnx-int8_s", "c) rag ask, onnx-int8", "s"),
    Metric("onnx-int8_ratio", "c) / a)", "x"),
    Metric("onnx-int8_embed_ms", "c) first embed (model load included)", "ms"),
    Metric("torch_s", "d) rag ask, torch (sentence-transformers)", "s"),
    Metric("torch_ratio", "d) / a)", "x"),
    Metric("torch_cpu", "d) CPU time (user + sys)", "s"),
    Metric("torch_embed_ms", "d) first embed (model load included)", "ms"),
    Metric("ui_ready_s", "e) rag ui, page served", "s", f"< {TARGET_UI_SECONDS}", lambda v: v < TARGET_UI_SECONDS),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cache-dir", metavar="DIR", help="where the ONNX files are (default: the user's cache)")
    parser.add_argument("--json", metavar="FILE", help="also write every number as JSON")
    args = parser.parse_args()
    cache_dir = args.cache_dir or Settings.from_env().cache_dir
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env["RAG_CACHE_DIR"] = cache_dir
    with tempfile.TemporaryDirectory(prefix="rag-cold-") as tmp:
        index = Path(tmp) / "index"
        build_index(index, cache_dir)
        cmds = commands(index)
        one_run(cmds, env, index)  # untimed: warms the disk cache
        runs: list[dict[str, Any]] = [one_run(cmds, env, index) for _ in range(args.repeat)]
    summary = summarize(METRICS, runs)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"cold `rag ask` over {len(corpus())} files; repeat={args.repeat}, {os.cpu_count()} cores, load {load:.1f}")
    print(render(summary))
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": runs, "summary": summary}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
