"""``mmrag`` command line: a thin layer over ``Engine``.

Every command takes ``--index/-i`` (default ``./mmrag-index``, env
``MMRAG_INDEX``): a folder (LanceDB), ``milvus:./file.db`` (Milvus Lite) or
``http://host:19530`` (a Milvus server). Exit codes (``cli_output``): 0 all
done, 1 some files failed, 2 usage or index error (cause and fix printed),
130 interrupted after the last complete file. File names are printed with
control characters escaped (``cli_output.safe``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from mmrag.cli_common import (
    ConfigOpt,
    IndexOpt,
    JsonOpt,
    _config,
    _errors,
    _existing,
    _label,
    _open,
    _server,
    err,
    out,
)
from mmrag.cli_output import (
    PARTIAL,
    USAGE_OR_INDEX,
    drawings_tip,
    excerpt,
    heard_also_line,
    marked,
    progress_printer,
    query_words,
    safe,
    shown_text,
    term_as_interrupt,
)

app = typer.Typer(
    name="mmrag",
    help="Multimodal RAG: index notes, PDFs, photos, recordings and videos into one shared "
    "embedding space; search across modalities; answer with citations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


# --------------------------------------------------------------------- add
@app.command()
def add(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders to index (folders are walked).")],
    index: IndexOpt = None,
    config: ConfigOpt = None,
    space: Annotated[
        str | None,
        typer.Option(help="Space for a NEW index: auto (default), clip, minilm, or a registered/dotted name."),
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model id or local folder for the space (e.g. a CLIP).")] = None,
    image_model: Annotated[
        str | None, typer.Option("--image-model", help="Image tower of a new index: 'lite0b' (the default), 'lite0e' (better on icons, emoji and clip art, weaker on photos), 'lite0c', 'lite0-flat', 'lite0', 'shipped' (the "
                                           "starter CNN), a tower folder from mmrag train, or 'off'. An index keeps the one it was built with.")
    ] = None,
    audio_model: Annotated[
        str | None,
        typer.Option("--audio-model", help="Audio tower for a NEW index: sounds by their sound. Default with minilm: the shipped "
                     "'sound0' (Whisper tiny.en encoder + bound head); a folder from mmrag train --modality audio; or 'off'."),
    ] = None,
    ocr: Annotated[bool | None, typer.Option("--ocr/--no-ocr", help="OCR images and scanned pages.")] = None,
    rehash: Annotated[
        bool, typer.Option("--rehash", help="Read and hash every file, even those whose size and mtime are unchanged.")
    ] = False,
    reindex: Annotated[
        bool, typer.Option("--reindex", help="Read and index every file again, unchanged ones too (after an mmrag "
                           "upgrade that reads a format better: add and info say when older readers made the index); "
                           "catalogue rows are still compared row by row.")
    ] = False,
    record_map: Annotated[
        list[str] | None,
        typer.Option("--map", help="Catalogue mapping, repeatable: id=sku, text=title,description, image=photo, "
                     "title=name, fields=price,brand, type.price=number, sheet=Products (see docs/records.md)."),
    ] = None,
    fetch_urls: Annotated[
        bool, typer.Option("--fetch-urls", help="Fetch http(s) picture URLs of catalogue rows (off: local paths only).")
    ] = False,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", "-x", help="Leave out what this gitignore-style pattern names, repeatable: "
                     "'*.css', '_build/', 'drafts/**'. Adds to \\[ingest] exclude; a folder's .mmragignore file "
                     "holds the same patterns."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Index files and folders: text, Markdown, HTML, images, SVG, PDF, PostScript, Word and PowerPoint (and
    OpenDocument), e-books (EPUB), audio, video, and catalogues
    (CSV, TSV, JSONL, JSON arrays, Parquet, XLSX, ODS: one item per row, with typed fields).

    Unchanged files are skipped (same size and mtime as last time, else the
    content hash decides), changed files replace their old segments, unreadable
    files are reported and skipped while the rest lands. Hidden files, and what
    --exclude patterns or .mmragignore files name, are left out.

    Example: [bold]mmrag add ~/notes ~/photos --exclude '*.css'[/]
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from mmrag.ingest.pipeline import AddEvent
    from mmrag.types import format_time

    missing = [p for p in paths if not p.exists()]
    if missing:  # a usage error: nothing is created or indexed
        names = ", ".join(safe(p) for p in missing)
        err.print(f"[bold red]error:[/] {escape(names)}: no such file or folder. Check the path; nothing was indexed.")
        raise typer.Exit(USAGE_OR_INDEX)
    with _errors():
        cfg = _config(index, config, **{"space.name": space, "space.model": model, "space.image_model": image_model,
                                        "space.audio_model": audio_model, "ingest.ocr": ocr,
                                        "ingest.quick_check": False if rehash else None,
                                        "ingest.reindex": True if reindex else None,
                                        "ingest.record_map": ";".join(record_map) if record_map else None,
                                        "ingest.fetch_image_urls": True if fetch_urls else None})
        if exclude:
            cfg = cfg.with_overrides({"ingest.exclude": (*cfg.ingest.exclude, *exclude)})
        from mmrag.ingest.ignore import exclude_rules

        exclude_rules(cfg.ingest.exclude, Path("."))  # a bad pattern fails before any model loads
        engine = _open(cfg)
        is_new = not engine.exists
        sp = engine.space  # loads models; creates the index if new
        if is_new and not json_out:
            err.print(f"[bold]new index[/] at {escape(safe(cfg.index))} with space [bold]{escape(sp.name)}[/] (dim {sp.dim})")
            reason = sp.extra.get("reason") or sp.notes
            if reason:
                err.print(f"  {escape(str(reason))}")
        progress = Progress(
            TextColumn("[bold]indexing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.description}"),
            console=err,
            transient=True,
            disable=json_out or not err.is_terminal,
        )
        task = progress.add_task("", total=None)
        plain = not json_out and not err.is_terminal  # a pipe or a log file: plain lines, no bar
        lines = _PlainProgress() if plain else None

        rows_task = None
        row_lines: dict[str, Callable[[int, int], None]] = {}
        media_task = None
        media_lines: dict[str, Callable[[int, int], None]] = {}

        def on_event(e: AddEvent) -> None:
            nonlocal rows_task, media_task
            if e.kind == "media":  # a long recording or video: seconds of it read so far
                name = Path(e.path).name[:40]
                if media_task is None:
                    media_task = progress.add_task(escape(safe(name)), total=e.total or None)
                progress.update(media_task, completed=e.segments, total=e.total or None,
                                description=f"{escape(safe(name))} ({format_time(e.segments)} of "
                                            f"{format_time(e.total) if e.total else '?'})")
                if plain:  # in a log file: a line every 10 s at most
                    if e.path not in media_lines:
                        media_lines[e.path] = progress_printer(err, f"seconds of {safe(Path(e.path).name)} read",
                                                               every_s=10.0, unit="s")
                    media_lines[e.path](e.segments, e.total)
                return
            if e.kind == "start":
                progress.update(task, total=e.total)
                if lines is not None:
                    lines.total = e.total or 0
            elif e.kind == "rows":  # a catalogue streaming its rows
                if rows_task is None:
                    rows_task = progress.add_task(escape(Path(e.path).name[:40]), total=e.total or None)
                progress.update(rows_task, completed=e.segments, total=max(e.total, e.segments) or None)
                if plain:  # a long catalogue in a log file: a line every few seconds, not silence
                    if e.path not in row_lines:
                        row_lines[e.path] = progress_printer(err, f"rows of {safe(Path(e.path).name)}", every_s=10.0)
                    row_lines[e.path](e.segments, max(e.total, e.segments))
            elif e.kind == "part":  # a bad row of a catalogue: said, but the file is still being indexed
                if not json_out:
                    progress.console.print(f"[red]skipped[/] {escape(safe(e.path))}: {escape(safe(e.detail))}")
            else:
                progress.update(task, advance=1, description=escape(safe(Path(e.path).name)[:40]))
                if lines is not None:
                    lines.step(e.path)
                if e.status == "failed" and not json_out:
                    progress.console.print(f"[red]skipped[/] {escape(safe(e.path))}: {escape(safe(e.detail))}")

        with progress, term_as_interrupt():
            report = engine.add(paths, progress=on_event)
        stale = engine.reindex_tip()  # older readers made this index (ingest/readers.py)
        engine.close()
    if json_out:
        out.print_json(
            json.dumps(
                {
                    "index": cfg.index,
                    "space": sp.name,
                    "added": list(report.added),
                    "replaced": list(report.replaced),
                    "unchanged": list(report.unchanged),
                    "failed": [{"source": s, "reason": r} for s, r in report.failed],
                    "segments": report.segments,
                    "interrupted": report.interrupted,
                    "failed_parts": report.failed_parts,
                    "pictures": report.pictures,
                    "flat_pictures": report.flat_pictures,
                    "left_out": report.left_out,
                    "reindex_tip": stale,
                }
            )
        )
    else:
        parts = f", {report.failed_parts} row problem(s) reported above" if report.failed_parts else ""
        left = f", {report.left_out} file(s) or folder(s) left out by exclude patterns" if report.left_out else ""
        out.print(
            f"added {len(report.added)}, replaced {len(report.replaced)}, unchanged {len(report.unchanged)}, "
            f"failed {report.failed_files} file(s){parts}{left}; {report.segments} segment(s) indexed"
        )
        tip = drawings_tip(report, is_new, sp.extra.get("space_config", {}).get("image_model"))
        if tip:
            err.print(escape(tip))
        if stale:
            err.print(f"[yellow]note:[/] {escape(stale)}")
    if report.interrupted:
        err.print("[yellow]interrupted:[/] files indexed so far are complete; run the same command again to resume.")
        raise typer.Exit(130)
    if report.failed:
        raise typer.Exit(PARTIAL)


class _PlainProgress:
    """``indexing 3/10 files: name`` lines on stderr: the first, the last, and one every 2 s."""

    def __init__(self, every_s: float = 2.0) -> None:
        self.total, self.done, self.every_s, self.last = 0, 0, every_s, 0.0

    def step(self, path: str) -> None:
        import time

        self.done += 1
        now = time.monotonic()
        if self.last and self.done < self.total and now - self.last < self.every_s:
            return
        self.last = now
        err.print(f"indexing {self.done}/{self.total} files: {safe(path)}", markup=False, highlight=False, soft_wrap=True)


# ------------------------------------------------------------------ search
def _print_hits(hits: list[Any], notes: tuple[str, ...], empty: str = "no results", query: str | None = None) -> None:
    for note in notes:
        err.print(f"[dim]{escape(safe(note))}[/]")
    if not hits:
        out.print(empty)
        return
    words = query_words(query)
    for i, hit in enumerate(hits, 1):
        rel = f" {hit.relevance:4.0%}" if getattr(hit, "relevance", None) is not None else ""
        more = f"  [dim](+{len(hit.duplicates)} alike)[/]" if getattr(hit, "duplicates", ()) else ""
        section = f"  [dim]§ {escape(safe(hit.section))}[/]" if getattr(hit, "section", "") else ""
        out.print(f"[bold]{i:>2}[/] {hit.score:6.2f}{rel}  {hit.modality.value:<5}  [cyan]{escape(_label(hit))}[/]{section}{more}",
                  soft_wrap=True)
        snippet = safe(shown_text(hit.text or "", hit.is_markdown))
        if snippet:
            width = max(40, (out.width or 80) - 16)
            out.print(f"[dim]{'':16}{marked(escape(excerpt(snippet, words, width)), words)}[/]", soft_wrap=True)
        also = heard_also_line(query, hit.text, hit.meta.get("heard_also", ""))
        if also:  # found by a word the recogniser may also have heard: say which
            out.print(f"[dim]{'':16}[italic]or heard: {escape(safe(also)[:200])}[/][/]", soft_wrap=True)
        if hit.fields:
            shown = {k: v for k, v in hit.fields.items() if v != hit.meta.get("title")}
            out.print(f"{'':16}{_fields_markup(shown)}", soft_wrap=True)


def _fields_markup(fields: Any) -> str:
    """``price: 24.50 · brand: Acme · link: https://...`` with links clickable in terminals that support it."""
    from mmrag.fields import format_value, is_link

    parts = []
    for name, value in list(fields.items())[:12]:
        text = escape(format_value(value)[:120])
        if is_link(value):
            text = f"[link={escape(str(value).strip())}][blue underline]{text}[/][/link]"
        parts.append(f"[bold]{escape(name)}[/]: {text}")
    return " · ".join(parts)


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="What to look for, in words.")] = None,
    image: Annotated[Path | None, typer.Option("--image", help="Search with an image (finds similar images and the text that describes them).")] = None,
    audio: Annotated[Path | None, typer.Option("--audio", help="Search with a recording: a spoken question is transcribed; with an audio tower the clip is also matched by its sound.")] = None,
    k: Annotated[int | None, typer.Option("-k", "--k", help="How many results.", min=1)] = None,
    modality: Annotated[str | None, typer.Option(help="Only these target modalities: text,image,audio,video (comma-separated).")] = None,
    where: Annotated[str | None, typer.Option(help="Metadata filter, e.g. \"source LIKE '%2024%' AND page > 2\"; record fields by name: \"price < 50 AND brand = 'Acme'\".")] = None,
    fusion: Annotated[str | None, typer.Option(help="How per-modality lists are merged: calibrated (default) or rrf.")] = None,
    min_relevance: Annotated[float | None, typer.Option("--min-relevance", min=0.0, max=1.0, help="Only hits at least this likely to be right (0-1); none left: 'no good match'.")] = None,
    per_source: Annotated[int | None, typer.Option("--per-source", min=0, help="At most N hits per file (0: no cap).")] = None,
    fold: Annotated[bool | None, typer.Option("--fold/--all", help="Fold near-duplicates (same scene, same picture, overlapping chunks) under the best one (default), or show all.")] = None,
    weight: Annotated[str | None, typer.Option("--weight", help="Compose text and image into one query vector, e.g. text=0.3,image=0.7 ('like this photo, but red').")] = None,
    index: IndexOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Search the index by text, image or audio, across modalities.

    Each hit shows its calibrated score and, where the space has a relevance model, the
    estimated probability that it is a right answer. Words written [bold]-word[/] are excluded
    (not a command-line option: [bold]-C[/], [bold]ls -la[/], or any in a question; a query that starts with a
    dash: [bold]mmrag search "-C option of tar"[/] or [bold]mmrag search -- -C[/]).

    Examples: [bold]mmrag search "a cat on a sofa"[/] ·
    [bold]mmrag search --image query.jpg[/] ·
    [bold]mmrag search "revenue" --modality image --where "source LIKE '%2024%'" -k 20 --json[/]
    """
    if fusion is not None and fusion not in ("calibrated", "rrf"):
        raise typer.BadParameter("fusion must be 'calibrated' or 'rrf'", param_hint="--fusion")
    query = query.strip() if query else query  # " -C option of tar": a dash query as ``dash_queries`` passed it
    local_only = any(v is not None for v in (fusion, min_relevance, per_source, fold, weight))
    remote = None if local_only else _server(index, config)
    if remote is not None:
        from mmrag.server import client

        with _errors():
            hits, notes = client.search(remote, query, image=image, audio=audio, k=k, modality=modality, where=where)
    else:
        with _existing(index, config, **{"search.fusion": fusion}) as engine:
            from mmrag.composed import parse_weights

            q = engine.embed_query(query, image=image, audio=audio, weights=parse_weights(weight))
            hits = engine.search(query=q, k=k, modality=modality, where=where, min_relevance=min_relevance,
                                 per_source=per_source, diversify=fold)
        notes = q.notes
    empty = "no good match" if min_relevance else "no results"
    if json_out:
        out.print_json(json.dumps({"query": query, "notes": list(notes), "hits": [h.to_dict() for h in hits],
                                   "no_good_match": not hits and bool(min_relevance)}))
    else:
        _print_hits(hits, notes, empty, query)


# --------------------------------------------------------------------- ask
@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="Your question.")] = None,
    image: Annotated[Path | None, typer.Option("--image", help="Ask about a picture (e.g. 'where can I buy this?').")] = None,
    audio: Annotated[Path | None, typer.Option("--audio", help="Ask with a recording (transcribed).")] = None,
    k: Annotated[int | None, typer.Option("-k", "--k", help="How many retrieved pieces to consider.", min=1)] = None,
    modality: Annotated[str | None, typer.Option(help="Only retrieve these modalities.")] = None,
    where: Annotated[str | None, typer.Option(help="Metadata filter for retrieval (columns and record fields, e.g. \"price < 50\").")] = None,
    generator: Annotated[str | None, typer.Option(help="auto, extractive, openai or local.")] = None,
    model: Annotated[str | None, typer.Option(help="Generator model name (openai) or path (local).")] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1")] = None,
    stream: Annotated[bool, typer.Option("--stream/--no-stream", help="Print the answer as it is generated.")] = True,
    min_relevance: Annotated[float | None, typer.Option("--min-relevance", min=0.0, max=1.0, help="Answer only from hits at least this likely to be right (0-1; default: the fitted threshold); 0 always answers.")] = None,
    index: IndexOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Answer a question from the index, citing numbered sources (file, page, time).

    Examples: [bold]mmrag ask "what did she say about the budget?"[/] ·
    [bold]mmrag ask --image photo.jpg "where can I buy this?"[/]
    """
    question = question.strip() if question else question  # " -C option of tar": as ``dash_queries`` passed it
    live = stream and not json_out
    overrides = {"generate.backend": generator, "generate.model": model, "generate.base_url": base_url}
    printer = (lambda d: out.print(d, end="", markup=False, highlight=False)) if live else None
    remote = _server(index, config) if not any(overrides.values()) and min_relevance is None else None
    if remote is not None:
        from mmrag.server import client

        with _errors():
            answer = client.ask(remote, question, image=image, audio=audio, k=k, modality=modality, where=where,
                                stream=printer)
    else:
        with _existing(index, config, **overrides) as engine:
            answer = engine.ask(question, image=image, audio=audio, k=k, modality=modality, where=where, stream=printer,
                                min_relevance=min_relevance)
    if json_out:
        out.print_json(json.dumps(_answer_dict(answer)))
        return
    if not live:
        out.print(answer.text, markup=False, highlight=False)
    else:
        out.print()
    if answer.dropped_citations:
        err.print(f"[yellow]removed citations to sources that were not in the context:[/] {list(answer.dropped_citations)}")
    if answer.citations:
        out.print("\n[bold]sources[/]")
        from mmrag.fields import links

        for c in answer.citations:
            section = f" § {escape(safe(c.hit.section))}" if c.hit.section else ""
            out.print(f"  [{c.number}] {escape(_label(c.hit))}{section}  [dim](score {c.hit.score:.2f}, {c.hit.modality.value})[/]")
            for name, url in links(c.hit.fields):
                out.print(f"       {escape(name)}: [link={escape(url)}][blue underline]{escape(url)}[/][/link]")


def _answer_dict(answer: Any) -> dict[str, Any]:
    return {
        "answer": answer.text,
        "generator": answer.generator,
        "citations": [{"number": c.number, **c.hit.to_dict()} for c in answer.citations],
        "context": [h.to_dict() for h in answer.context],
        "dropped_citations": list(answer.dropped_citations),
        "timings": dict(answer.timings),
    }


# -------------------------------------------------------- info & friends
@app.command()
def info(
    index: IndexOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
    gap: Annotated[bool, typer.Option("--gap", help="Also measure the modality gap: mean cosine of matched vs random pairs per channel pair.")] = False,
) -> None:
    """What the index holds and which space it uses."""
    remote = None if gap else _server(index, config)
    if remote is not None:
        from mmrag.server import client

        with _errors():
            data = client.info(remote)
    else:
        with _existing(index, config) as engine:
            i = engine.info()
            if gap:
                from mmrag.gap import modality_gap

                gaps = modality_gap(engine.store, [c for c in i.by_channel])
        data = i.to_dict()
        if gap:
            data["gap"] = gaps
    if json_out:
        out.print_json(json.dumps(data))
        return
    out.print(f"[bold]index[/]    {escape(safe(data['location']))} ({data['store']})")
    space = data["space"]
    if space:
        out.print(f"[bold]space[/]    {escape(space['name'])}, dim {space['dim']}")
        for ch, enc in space["encoders"].items():
            out.print(f"           {ch}: {escape(enc)}")
        if space.get("notes"):
            out.print(f"           [dim]{escape(space['notes'])}[/]")
    out.print(f"[bold]sources[/]  {data['sources']}")
    from mmrag.ingest.readers import reindex_tip

    stale = reindex_tip({"readers": data.get("readers", 1)}, bool(data["segments_by_modality"].get("text")))
    if stale:
        out.print(f"[yellow]readers[/]  {escape(stale)}")
    out.print(f"[bold]vectors[/]  {data['rows']}  " + ", ".join(f"{k}: {v}" for k, v in data["vectors_by_channel"].items()))
    out.print("[bold]rows by modality[/] " + ", ".join(f"{k}: {v}" for k, v in data["segments_by_modality"].items()))
    if gap:
        out.print("[bold]modality gap[/] (cosine; matched = one segment's two vectors)")
        out.print("  within a channel (random pairs): " + ", ".join(f"{k} {v:.3f}" for k, v in gaps["within"].items()))
        for p in gaps["pairs"]:
            out.print(f"  {p['a']}-{p['b']}: matched {p['matched']:.3f}, random {p['random']:.3f}, gap {p['gap']:.3f}, "
                      f"centroid distance {p['centroid_distance']:.3f} (n={p['n']})")


@app.command()
def sources(index: IndexOpt = None, config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """List the indexed files."""
    with _existing(index, config) as engine:
        items = engine.sources()
    if json_out:
        out.print_json(json.dumps([
            {"source": s.source, "hash": s.source_hash, "segments": s.segments, "modalities": list(s.modalities)}
            for s in items
        ]))
        return
    for s in items:
        out.print(f"{escape(safe(s.source))}  [dim]{s.segments} segment(s), {', '.join(s.modalities)}[/]")
    out.print(f"[dim]{len(items)} source(s)[/]")


@app.command()
def remove(
    paths: Annotated[list[str], typer.Argument(help="Files (or folders: everything under them) to remove from the index.")],
    index: IndexOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Remove files from the index (all of their segments)."""
    with _existing(index, config) as engine:
        removed = engine.remove(paths)
    for s in removed:
        out.print(f"removed {escape(safe(s))}")
    if not removed:
        err.print("nothing matched: see `mmrag sources` for what is indexed")
        raise typer.Exit(PARTIAL)


@app.command()
def thumbnail(
    segment_id: Annotated[str, typer.Argument(help="A segment id from `mmrag search --json`.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write it (JPEG; a recording's waveform is PNG).")],
    index: IndexOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Write a hit's thumbnail (photo, keyframe, page, figure, a recording's waveform) to a file."""
    with _existing(index, config) as engine:
        data = engine.thumbnail(segment_id)
    if not data:
        err.print(f"no thumbnail for segment {escape(safe(segment_id))}")
        raise typer.Exit(PARTIAL)
    output.write_bytes(data)
    kind = "PNG" if data[:8] == b"\x89PNG\r\n\x1a\n" else "JPEG"
    out.print(f"wrote {escape(safe(output))} ({kind})")


@app.command()
def demo(
    folder: Annotated[Path, typer.Argument(help="Where to write the sample files and the demo index.")] = Path("mmrag-demo"),
    space: Annotated[str | None, typer.Option(help="Space for the demo index (default: auto).")] = None,
) -> None:
    """Make sample data from real photos in installed packages, index it, and run a few searches."""
    from mmrag.demo import (
        QUERIES,
        ROCKET_NAME,
        found_by_line,
        legend,
        make_query_photo,
        make_samples,
        shows_line,
    )

    with _errors():
        data = make_samples(folder / "data")
        out.print(f"[bold]sample data[/] in {data}: {len(list(data.iterdir()))} files; the photos under "
                  "camera-style names, so only their pixels (and any text in them) can find them:")
        for line in legend():
            out.print(f"[dim]  {escape(line)}[/]")
        index = str(folder / "index")
        cfg = _config(index, None, **{"space.name": space})
        engine = _open(cfg)
        out.print(f"$ mmrag add {data} --index {index}")
        report = engine.add([data])
        out.print(f"added {len(report.added)}, unchanged {len(report.unchanged)}, failed {len(report.failed)}")
        sp = engine.space
        out.print(f"space: [bold]{sp.name}[/] — {escape(str(sp.extra.get('reason') or sp.notes))}")
        for q in QUERIES:
            out.print(f"\n$ mmrag search {q!r} --index {index}")
            hits = engine.search(q, k=3)
            _print_hits(hits, ())
            out.print(f"[dim]{escape(found_by_line(hits))}[/]")
            if shows := shows_line(hits):
                out.print(f"[dim]{escape(shows)}[/]")
        img = make_query_photo(data, folder / "query-photo.jpg")
        if img is not None:  # searched by its pixels (and any text in it), not by its file name
            out.print(f"\n# search with the picture {img} ({ROCKET_NAME} cropped, mirrored, recompressed)")
            from PIL import Image

            q2 = engine.embed_query(image=Image.open(img))
            hits = engine.search(query=q2, k=3)
            _print_hits(hits, q2.notes)
            out.print(f"[dim]{escape(found_by_line(hits))}[/]")
            if shows := shows_line(hits):
                out.print(f"[dim]{escape(shows)}[/]")
        engine.close()


def _register_optional() -> None:
    """Commands whose modules belong to optional capabilities (training, serving)."""
    from mmrag.server.command import serve_command

    app.command("serve")(serve_command)
    try:
        from mmrag.train.commands import eval_command, train_command
    except ImportError:  # pragma: no cover - training package missing
        return
    app.command("train")(train_command)
    app.command("eval")(eval_command)
    from mmrag.migrate import migrate_command

    app.command("migrate")(migrate_command)
    from mmrag.cli_relevance import calibrate_command, compare_command, feedback_command

    app.command("calibrate")(calibrate_command)
    app.command("feedback")(feedback_command)
    app.command("compare")(compare_command)
    from mmrag.cli_classify import classify_command

    app.command("classify")(classify_command)


_register_optional()


def _quiet_libraries() -> None:
    """Third-party chatter (gRPC stubs of Milvus Lite, HF hints) is not for end users."""
    import logging
    import os

    for name in ("pymilvus", "grpc", "grpc._server", "milvus_lite", "transformers", "huggingface_hub"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    progress = logging.getLogger("mmrag.progress")  # plain progress lines of long store work (Milvus load)
    if not progress.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        progress.addHandler(handler)
        progress.setLevel(logging.INFO)
        progress.propagate = False
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # torch's OpenMP threads sleep between parallel regions instead of spinning (libgomp's default):
    # on two cores shared with other work, spinning threads cost MiniLM 3.5x (15 -> 52 texts/s with
    # PASSIVE at load 5, bench/README "records"); set before torch loads, a value already set is kept
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


QUERY_COMMANDS = ("search", "ask")


def dash_queries(argv: list[str]) -> list[str]:
    """``mmrag search "-C option of tar"``: Click reads any argument that starts with a dash as an option ("No
    such option: -C"). An argument of ``search`` or ``ask`` that starts with one dash and has a space in its first
    word's place (no option does) is the query: it is passed on with a space before it, which the query drops
    (pure). ``mmrag search -- "-C"`` is the way for a one-word query."""
    command = next((a for a in argv if not a.startswith("-")), None)
    if command not in QUERY_COMMANDS:
        return argv
    return [f" {a}" if a[:1] == "-" and a[1:2] != "-" and " " in a.strip() else a for a in argv]


def dash_word(argv: list[str], options: dict[str, bool]) -> str | None:
    """The first argument of ``search`` or ``ask`` that starts with one dash and is none of the command's
    ``options`` (name -> whether it takes a value), before any ``--``: ``mmrag search -C``, which Click
    rejects ("No such option: -C") where the user meant the word (pure)."""
    command = next((a for a in argv if not a.startswith("-")), None)
    if command not in QUERY_COMMANDS:
        return None
    takes_value = False
    for arg in argv[argv.index(command) + 1 :]:
        if arg == "--":
            return None
        if takes_value:  # the value of the option before it (-k -3 is Click's to judge)
            takes_value = False
        elif arg[:1] != "-" or arg == "-" or " " in arg:
            continue  # the query, or one dash_queries passed on
        elif arg.startswith("--"):  # a long option: Click names an unknown one itself ("Did you mean ...")
            takes_value = options.get(arg, False)
        elif arg[:2] not in options:
            return arg
        else:
            takes_value = options[arg[:2]] and len(arg) == 2  # -k 3; -k3 holds its value
    return None


def _options_of(command: str) -> dict[str, bool]:
    """``command``'s option names -> whether each takes a value (from the Click command Typer builds)."""
    found: Any = getattr(typer.main.get_command(app), "commands", {}).get(command)
    params: list[Any] = list(getattr(found, "params", []))
    return {
        name: not (getattr(p, "is_flag", False) or getattr(p, "count", False))
        for p in params
        for name in (*p.opts, *p.secondary_opts)
        if name.startswith("-")
    } | {"--help": False}


def main() -> None:
    import sys

    _quiet_libraries()
    argv = dash_queries(sys.argv[1:])
    command = next((a for a in argv if not a.startswith("-")), "")
    if command in QUERY_COMMANDS and any(a[:1] == "-" for a in argv):
        word = dash_word(argv, _options_of(command))
        if word is not None:
            typer.echo(
                f"Error: {word} is no option of `mmrag {command}`. For a query that starts with a dash, put -- "
                f"before it: mmrag {command} -- {word}   (`mmrag {command} --help` lists the options)",
                err=True,
            )
            raise SystemExit(2)
    app(args=argv, prog_name="mmrag")


if __name__ == "__main__":  # pragma: no cover
    main()
