"""``mmrag calibrate``, ``mmrag feedback`` and ``mmrag compare``: scores you can trust and act on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from mmrag.cli_common import ConfigOpt, IndexOpt, JsonOpt


def calibrate_command(
    queries: Annotated[Path, typer.Argument(help="JSON lines: {\"query\": \"...\", \"answers\": [\"file.png\"]}; about half with \"answers\": [] (no answer in the index).")],
    method: Annotated[str, typer.Option(help="logistic, isotonic, or auto (the one with the lower held-out calibration error).")] = "auto",
    holdout: Annotated[float, typer.Option(min=0.0, max=0.9, help="Share of queries kept aside to measure the fit.")] = 0.5,
    threshold: Annotated[float, typer.Option(min=0.0, max=1.0, help="Relevance below which a query abstains, for the report.")] = 0.5,
    out_file: Annotated[Path | None, typer.Option("--out", "-o", help="Write the model here instead of beside the index.")] = None,
    index: IndexOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Fit [bold]relevance[/] (the probability that a hit is right) for this index from labelled queries.

    Writes mmrag-relevance.json beside the index; every later search uses it. Refit whenever
    the space's towers change. Example: [bold]mmrag calibrate queries.jsonl[/]
    """
    from mmrag.calibration import FILE_NAME, fit_relevance, read_queries
    from mmrag.cli_common import _existing, err, out
    from mmrag.sidecars import sidecar_path

    if method not in ("auto", "logistic", "isotonic"):
        raise typer.BadParameter("use logistic, isotonic or auto", param_hint="--method")
    with _existing(index, config) as engine:
        model, report = fit_relevance(engine, read_queries(queries), method=method, holdout=holdout, threshold=threshold)
        target = out_file or sidecar_path(engine.config.index, FILE_NAME)
        if target is None:
            err.print("[red]error:[/] this index has no local folder: pass --out FILE")
            raise typer.Exit(2)
        model.save(target)
    if json_out:
        out.print_json(json.dumps({"written": str(target), "report": report}))
        return
    for m in ("logistic", "isotonic"):
        if m in report:
            r = report[m]
            out.print(
                f"{m:<9} held-out: ECE {r['ece']:.3f}, Brier {r['brier']:.3f}; abstain at <{r['threshold']:.2f}: "
                f"precision {r['abstain_precision']:.2f}, recall {r['abstain_recall']:.2f} "
                f"({r['unanswerable']} of {r['queries']} queries had no answer)"
            )
    out.print(f"chose [bold]{report['chosen']}[/]; pairs: {', '.join(sorted(model.pairs))}; written to {escape(str(target))}")


def feedback_command(
    query: Annotated[str | None, typer.Argument(help="The query the judgement is about (as you searched it).")] = None,
    right: Annotated[list[str] | None, typer.Option("--right", help="A hit that was right: its segment id or its file (repeatable).")] = None,
    wrong: Annotated[list[str] | None, typer.Option("--wrong", help="A hit that was wrong: segment id or file (repeatable).")] = None,
    export: Annotated[Path | None, typer.Option("--export", help="Write positive pairs + hard negatives (JSONL) for mmrag train.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="Show recorded feedback.")] = False,
    clear: Annotated[bool, typer.Option("--clear", help="Forget all recorded feedback.")] = False,
    index: IndexOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Record that hits were right or wrong for a query; later similar queries are re-ranked
    (Rocchio on the query vector by default; config search.feedback = rocchio | prior | both | off).

    Examples: [bold]mmrag feedback "a red apple" --right photos/apple.png --wrong photos/tomato.png[/] ·
    [bold]mmrag feedback --export fb.jsonl[/] then
    [bold]mmrag train fb.jsonl --backbone efficientnet-lite0 --init lite0b --holdout 0 --epochs 30 --lr 3e-4 --out tower-fb[/]
    """
    from mmrag.cli_common import _existing, err, out
    from mmrag.feedback import export_pairs

    with _existing(index, config) as engine:
        log = engine.feedback_log()
        if clear:
            log.clear()
            out.print("feedback cleared")
            return
        recorded = 0
        if right or wrong:
            if not query:
                raise typer.BadParameter("give the query the judgement is about", param_hint="QUERY")
            recorded = engine.feedback(query, right=right or (), wrong=wrong or ())
        if export is not None:
            pairs, negs = export_pairs(log, export)
            out.print(f"wrote {pairs} pair(s) with {negs} hard negative(s) to {escape(str(export))}")
        if list_:
            items = [j.to_dict() | {"vector": None} for j in log.items]
            if json_out:
                out.print_json(json.dumps(items))
            else:
                for j in log.items:
                    out.print(f"{'+' if j.label > 0 else '-'} {escape(j.query)!r:40} {escape(j.source)}")
        if recorded:
            out.print(f"recorded {recorded} judgement(s); {len(log)} in all")
        if not (recorded or export or list_):
            err.print("nothing to do: pass --right/--wrong, --export, --list or --clear")
            raise typer.Exit(2)


def _raw(hit: Any) -> float:
    dense = [v for k, v in hit.channel_scores.items() if k != "lexical"]
    return max(dense) if dense else float("nan")


def compare_command(
    query: Annotated[str | None, typer.Argument(help="A text query.")] = None,
    image: Annotated[Path | None, typer.Option("--image", help="An image query to set beside the text query.")] = None,
    audio: Annotated[Path | None, typer.Option("--audio", help="A recording to set beside the others.")] = None,
    k: Annotated[int, typer.Option("-k", min=1, help="Hits per query.")] = 5,
    modality: Annotated[str | None, typer.Option(help="Only these target modalities.")] = None,
    index: IndexOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Run a text, an image and/or an audio query side by side: what each finds, with raw cosine,
    calibrated score, relevance and the channel that found each hit.

    Example: [bold]mmrag compare "find images of cats" --image cat.jpg[/]
    """
    from mmrag.cli_common import _existing, _label, err, out

    runs: list[tuple[str, dict[str, Any]]] = []
    if query:
        runs.append((f"text: {query}", {"text": query}))
    if image is not None:
        runs.append((f"image: {image.name}", {"image": image}))
    if audio is not None:
        runs.append((f"audio: {audio.name}", {"audio": audio}))
    if not runs:
        raise typer.BadParameter("give a text query, --image and/or --audio")
    results: list[tuple[str, list[Any], tuple[str, ...]]] = []
    with _existing(index, config) as engine:
        for title, kw in runs:
            q = engine.embed_query(kw.get("text"), image=kw.get("image"), audio=kw.get("audio"))
            results.append((title, engine.search(query=q, k=k, modality=modality), q.notes))
    if json_out:
        out.print_json(json.dumps({t: [h.to_dict() | {"raw": _raw(h)} for h in hits] for t, hits, _ in results}))
        return
    table = Table(show_lines=False)
    table.add_column("#", justify="right")
    for title, _, _ in results:
        table.add_column(escape(title))
    for i in range(k):
        cells = [str(i + 1)]
        for _, hits, _ in results:
            if i < len(hits):
                h = hits[i]
                rel = f" p={h.relevance:.2f}" if h.relevance is not None else ""
                cells.append(f"[cyan]{escape(_label(h))}[/]\n[dim]cos {_raw(h):.3f} · z {h.score:.2f}{rel} · {escape(h.found_by)}[/]")
            else:
                cells.append("")
        table.add_row(*cells)
    out.print(table)
    if len(results) > 1:
        sets = [{h.segment_id for h in hits} for _, hits, _ in results]
        common = set.intersection(*sets)
        out.print(f"[dim]{len(common)} of {k} hits in common[/]")
    for title, _, notes in results:
        for note in notes:
            err.print(f"[dim]{escape(title)}: {escape(note)}[/]")


__all__ = ["calibrate_command", "compare_command", "feedback_command"]
