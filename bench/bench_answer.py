"""Answer latency: query embedding, search, prompt, generation, and time to first token.

For each generator (``extractive`` and ``local`` = the offline Gemma 3 270M),
the same questions are asked over the same small index, streaming, and the
per-stage timings that ``Engine.ask`` records in ``Answer.timings`` are
reported as medians. ``extractive`` is the baseline: the ``local`` row also
prints its ratio to it.

Modes:

- ``engine`` (default): builds a LanceDB index of a few text notes with the
  real MiniLM space in a temp folder (``mmrag.open`` + ``engine.add``), then
  ``engine.ask(question, stream=...)``.
- ``direct``: no index; hand-made hits through ``build_prompt`` + the
  generator (embedding/search columns empty). Used automatically when the
  engine cannot build the index, with the reason printed.

Usage::

    python scripts/prepare_gemma.py          # once, for the local model
    python bench/bench_answer.py             # both generators
    python bench/bench_answer.py --quick     # 2 local questions, 32 new tokens
    python bench/bench_answer.py --mode direct --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]

NOTES = {
    "tower.md": "The Eiffel Tower is 330 metres tall. It was finished in 1889 for the World's Fair in Paris.",
    "budget.md": "The budget for next year is four million euros. The team will hire two engineers in spring.",
    "cats.md": "Grey cats sleep up to sixteen hours a day. They prefer warm sofas near a window.",
    "bikes.md": "The river path is six kilometres long and popular with cyclists on weekends.",
    "revenue.md": "Quarterly revenue grew by 12 percent while costs stayed flat.",
    "coffee.md": "Espresso is brewed by forcing hot water through finely ground coffee at nine bars.",
    "rockets.md": "The rocket reached orbit after eight minutes and deployed two satellites.",
    "garden.md": "Tomatoes need six hours of sun a day and water every second day in summer.",
}
QUESTIONS = [
    ("How tall is the Eiffel Tower?", "tower.md"),
    ("What is the budget for next year?", "budget.md"),
    ("How long do grey cats sleep?", "cats.md"),
    ("How much did quarterly revenue grow?", "revenue.md"),
    ("How is espresso brewed?", "coffee.md"),
    ("How much sun do tomatoes need?", "garden.md"),
]
STAGES = ("embed_s", "search_s", "prompt_s", "first_token_s", "generate_s")


def _median(rows: list[dict[str, float]], key: str) -> float | None:
    vals = [r[key] for r in rows if key in r]
    return statistics.median(vals) if vals else None


def run_engine(backends: list[str], local_questions: int, max_new_tokens: int) -> dict[str, Any]:
    import mmrag
    from mmrag.config import load_config

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="mmrag-bench-answer-") as tmp:
        docs = Path(tmp) / "docs"
        docs.mkdir()
        for name, text in NOTES.items():
            (docs / name).write_text(text, encoding="utf-8")
        index = Path(tmp) / "index"
        base = load_config(environ={})
        t = time.perf_counter()
        engine = mmrag.open(index, base, space__name="minilm")
        report = engine.add([str(docs)])
        if report.failed:
            raise RuntimeError(f"indexing failed: {report.failed}")
        engine.ask("warm-up question", stream=lambda d: None)  # loads the text encoder
        results["index_s"] = time.perf_counter() - t
        for backend in backends:
            cfg = base.with_overrides({
                "space.name": "minilm", "generate.backend": backend, "generate.temperature": 0.0,
                "generate.max_new_tokens": max_new_tokens,
            })
            eng = mmrag.open(index, cfg)
            qs = QUESTIONS if backend == "extractive" else QUESTIONS[:local_questions]
            if backend == "local":  # load the model outside the timed runs, as a long-lived engine would
                t = time.perf_counter()
                from mmrag.generate import build_generator

                build_generator(cfg).load()  # type: ignore[attr-defined]
                results["local_load_s"] = time.perf_counter() - t
            rows, hits_ok = [], 0
            for question, expected in qs:
                t = time.perf_counter()
                answer = eng.ask(question, stream=lambda d: None)
                total = time.perf_counter() - t
                rows.append({**{k: float(v) for k, v in answer.timings.items()}, "total_s": total})
                hits_ok += any(Path(c.hit.source).name == expected for c in answer.citations)
                print(f"  [{backend}] {question!r} -> {answer.text[:90]!r}", file=sys.stderr)
            results[backend] = {"rows": rows, "cited_expected": hits_ok, "questions": len(qs)}
    return results


def run_direct(backends: list[str], local_questions: int, max_new_tokens: int) -> dict[str, Any]:
    from mmrag.config import Config, GenerateConfig
    from mmrag.generate import build_generator, build_prompt
    from mmrag.types import Hit, Modality, Span

    hits = [Hit(f"s{i}", name, Modality.TEXT, Span(start=0, end=len(text)), 1.0 - i / 10, text=text)
            for i, (name, text) in enumerate(NOTES.items())]
    results: dict[str, Any] = {}
    for backend in backends:
        gen = build_generator(Config(generate=GenerateConfig(
            backend=backend, temperature=0.0, max_new_tokens=max_new_tokens)))
        if backend == "local":
            t = time.perf_counter()
            gen.load()  # type: ignore[attr-defined]
            results["local_load_s"] = time.perf_counter() - t
        qs = QUESTIONS if backend == "extractive" else QUESTIONS[:local_questions]
        rows, hits_ok = [], 0
        for question, expected in qs:
            t0 = time.perf_counter()
            prompt = build_prompt(question, hits, budget=3000, vision=gen.vision)
            t1 = time.perf_counter()
            first, chunks = None, []
            for delta in gen.stream(prompt):
                first = first if first is not None else time.perf_counter() - t1
                chunks.append(delta)
            t2 = time.perf_counter()
            from mmrag.generate import finalize

            answer = finalize(prompt, "".join(chunks), generator=gen.name)
            rows.append({"prompt_s": t1 - t0, "first_token_s": first or t2 - t1, "generate_s": t2 - t1,
                         "total_s": time.perf_counter() - t0})
            hits_ok += any(c.hit.source == expected for c in answer.citations)
        results[backend] = {"rows": rows, "cited_expected": hits_ok, "questions": len(qs)}
    return results


def _fmt(v: float | None) -> str:
    if v is None:
        return "–"
    return f"{v * 1000:.1f} ms" if v < 1 else f"{v:.2f} s"


def report(results: dict[str, Any], mode: str, backends: list[str]) -> str:
    lines = [
        (
            f"mode={mode} python={platform.python_version()} cpus={os.cpu_count()} "
            f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')} load={os.getloadavg()[0]:.1f}"
        ),
        "",
        "| generator | questions | cited the right source | embed | search | prompt | first token | generation | total | total vs extractive |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    base_total = _median(results.get("extractive", {}).get("rows", []), "total_s")
    for backend in backends:
        data = results.get(backend)
        if not data:
            continue
        rows = data["rows"]
        total = _median(rows, "total_s")
        ratio = f"{total / base_total:.0f}x" if base_total and total and backend != "extractive" else "1x (baseline)"
        lines.append(
            f"| {backend} | {data['questions']} | {data['cited_expected']}/{data['questions']} | "
            + " | ".join(_fmt(_median(rows, k)) for k in STAGES)
            + f" | {_fmt(total)} | {ratio} |"
        )
    if "local_load_s" in results:
        lines.append(f"\nlocal model load (once per process, not in the rows): {_fmt(results['local_load_s'])}")
    if "index_s" in results:
        lines.append(f"index build + encoder load (once): {_fmt(results['index_s'])}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=("engine", "direct"), default="engine")
    ap.add_argument("--backends", default="extractive,local")
    ap.add_argument("--quick", action="store_true", help="2 local questions, 32 new tokens")
    ap.add_argument("--json", type=Path, help="also write the raw timings here")
    args = ap.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    local_q, new_tokens = (2, 32) if args.quick else (4, 48)
    mode = args.mode
    if mode == "engine":
        try:
            results = run_engine(backends, local_q, new_tokens)
        except Exception as exc:  # noqa: BLE001 - the engine is optional for this bench: fall back and say why
            print(f"engine mode unavailable ({type(exc).__name__}: {exc}); falling back to direct mode",
                  file=sys.stderr)
            mode = "direct"
    if mode == "direct":
        results = run_direct(backends, local_q, new_tokens)
    print(report(results, mode, backends))
    if args.json:
        args.json.write_text(json.dumps({"mode": mode, **results}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
