"""``mmrag`` command line: a thin layer over ``Engine``.

Every command takes ``--index/-i`` (default ``./mmrag-index``, env
``MMRAG_INDEX``): a folder (LanceDB), ``milvus:./file.db`` (Milvus Lite) or
``http://host:19530`` (a Milvus server). Errors print their cause and fix and
exit with status 2; Ctrl-C exits 130 after the last complete file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from mmrag.config import Config, load_config
from mmrag.errors import MmragError

app = typer.Typer(
    name="mmrag",
    help="Multimodal RAG: index notes, PDFs, photos, recordings and videos into one shared "
    "embedding space; search across modalities; answer with citations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
out = Console()
err = Console(stderr=True)

IndexOpt = Annotated[
    str | None,
    typer.Option(
        "--index",
        "-i",
        envvar="MMRAG_INDEX",
        help="Index location: a folder (LanceDB), milvus:./file.db (Milvus Lite) or http://host:19530 (Milvus). [default: ./mmrag-index]",
        show_default=False,
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="A mmrag.toml file (default: ./mmrag.toml or $MMRAG_CONFIG).", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except MmragError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        raise typer.Exit(130) from None


def _config(index: str | None, config: Path | None, **overrides: Any) -> Config:
    cfg = load_config({k: v for k, v in overrides.items() if v is not None}, path=config)
    if index:
        cfg = cfg.with_overrides({"index": index})
    return cfg


def _open(cfg: Config, create: bool = True):  # type: ignore[no-untyped-def]
    from mmrag.engine import Engine

    return Engine.open(cfg.index, cfg, create=create)


@contextmanager
def _existing(index: str | None, config: Path | None, **overrides: Any) -> Iterator[Any]:
    """An opened existing index, closed afterwards; errors become exit codes."""
    with _errors():
        engine = _open(_config(index, config, **overrides), create=False)
        try:
            yield engine
        finally:
            engine.close()


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
        str | None, typer.Option("--image-model", help="Checkpoint of a bound image tower (from mmrag train), or 'off'.")
    ] = None,
    audio_model: Annotated[
        str | None,
        typer.Option("--audio-model", help="Checkpoint of a bound audio tower (mmrag train --modality audio): sounds by their sound."),
    ] = None,
    ocr: Annotated[bool | None, typer.Option("--ocr/--no-ocr", help="OCR images and scanned pages.")] = None,
    rehash: Annotated[
        bool, typer.Option("--rehash", help="Read and hash every file, even those whose size and mtime are unchanged.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Index files and folders: text, Markdown, HTML, images, SVG, PDF, audio, video.

    Unchanged files are skipped (same size and mtime as last time, else the
    content hash decides), changed files replace their old segments, unreadable
    files are reported and skipped while the rest lands.

    Example: [bold]mmrag add ~/notes ~/photos[/]
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from mmrag.ingest.pipeline import AddEvent

    with _errors():
        cfg = _config(index, config, **{"space.name": space, "space.model": model, "space.image_model": image_model,
                                        "space.audio_model": audio_model, "ingest.ocr": ocr,
                                        "ingest.quick_check": False if rehash else None})
        engine = _open(cfg)
        is_new = not engine.exists
        sp = engine.space  # loads models; creates the index if new
        if is_new and not json_out:
            err.print(f"[bold]new index[/] at {escape(cfg.index)} with space [bold]{escape(sp.name)}[/] (dim {sp.dim})")
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

        def on_event(e: AddEvent) -> None:
            if e.kind == "start":
                progress.update(task, total=e.total)
            else:
                progress.update(task, advance=1, description=escape(Path(e.path).name[:40]))
                if e.status == "failed" and not json_out:
                    progress.console.print(f"[red]skipped[/] {escape(e.path)}: {escape(e.detail)}")

        with progress:
            report = engine.add(paths, progress=on_event)
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
                }
            )
        )
    else:
        out.print(
            f"added {len(report.added)}, replaced {len(report.replaced)}, unchanged {len(report.unchanged)}, "
            f"failed {len(report.failed)} file(s); {report.segments} segment(s) indexed"
        )
    if report.interrupted:
        err.print("[yellow]interrupted:[/] files indexed so far are complete; run the same command again to resume.")
        raise typer.Exit(130)
    if report.failed and not (report.added or report.replaced or report.unchanged):
        raise typer.Exit(1)


# ------------------------------------------------------------------ search
def _short(path: str) -> str:
    """A source as the user would type it: relative to the working folder when inside it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def _label(hit: Any) -> str:
    label: str = hit.label()
    return _short(hit.source) + label[len(hit.source):] if label.startswith(hit.source) else label


def _print_hits(hits: list[Any], notes: tuple[str, ...]) -> None:
    for note in notes:
        err.print(f"[dim]{escape(note)}[/]")
    if not hits:
        out.print("no results")
        return
    for i, hit in enumerate(hits, 1):
        out.print(f"[bold]{i:>2}[/] {hit.score:6.2f}  {hit.modality.value:<5}  [cyan]{escape(_label(hit))}[/]", soft_wrap=True)
        snippet = " ".join((hit.text or "").split())
        if snippet:
            width = max(40, (out.width or 80) - 16)
            out.print(f"[dim]{'':16}{escape(snippet[:width])}[/]", soft_wrap=True)


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="What to look for, in words.")] = None,
    image: Annotated[Path | None, typer.Option("--image", help="Search with an image (finds similar images and the text that describes them).")] = None,
    audio: Annotated[Path | None, typer.Option("--audio", help="Search with a recording: a spoken question is transcribed; with an audio tower the clip is also matched by its sound.")] = None,
    k: Annotated[int | None, typer.Option("-k", "--k", help="How many results.", min=1)] = None,
    modality: Annotated[str | None, typer.Option(help="Only these target modalities: text,image,audio,video (comma-separated).")] = None,
    where: Annotated[str | None, typer.Option(help="Metadata filter, e.g. \"source LIKE '%2024%' AND page > 2\".")] = None,
    fusion: Annotated[str | None, typer.Option(help="How per-modality lists are merged: calibrated (default) or rrf.")] = None,
    index: IndexOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Search the index by text, image or audio, across modalities.

    Examples: [bold]mmrag search "a cat on a sofa"[/] ·
    [bold]mmrag search --image query.jpg[/] ·
    [bold]mmrag search "revenue" --modality image --where "source LIKE '%2024%'" -k 20 --json[/]
    """
    if fusion is not None and fusion not in ("calibrated", "rrf"):
        raise typer.BadParameter("fusion must be 'calibrated' or 'rrf'", param_hint="--fusion")
    with _existing(index, config, **{"search.fusion": fusion}) as engine:
        q = engine.embed_query(query, image=image, audio=audio)
        hits = engine.search(query=q, k=k, modality=modality, where=where)
    if json_out:
        out.print_json(json.dumps({"query": query, "notes": list(q.notes), "hits": [h.to_dict() for h in hits]}))
    else:
        _print_hits(hits, q.notes)


# --------------------------------------------------------------------- ask
@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="Your question.")] = None,
    image: Annotated[Path | None, typer.Option("--image", help="Ask about a picture (e.g. 'where can I buy this?').")] = None,
    audio: Annotated[Path | None, typer.Option("--audio", help="Ask with a recording (transcribed).")] = None,
    k: Annotated[int | None, typer.Option("-k", "--k", help="How many retrieved pieces to consider.", min=1)] = None,
    modality: Annotated[str | None, typer.Option(help="Only retrieve these modalities.")] = None,
    where: Annotated[str | None, typer.Option(help="Metadata filter for retrieval.")] = None,
    generator: Annotated[str | None, typer.Option(help="auto, extractive, openai or local.")] = None,
    model: Annotated[str | None, typer.Option(help="Generator model name (openai) or path (local).")] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1")] = None,
    stream: Annotated[bool, typer.Option("--stream/--no-stream", help="Print the answer as it is generated.")] = True,
    index: IndexOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Answer a question from the index, citing numbered sources (file, page, time).

    Examples: [bold]mmrag ask "what did she say about the budget?"[/] ·
    [bold]mmrag ask --image photo.jpg "where can I buy this?"[/]
    """
    live = stream and not json_out
    overrides = {"generate.backend": generator, "generate.model": model, "generate.base_url": base_url}
    with _existing(index, config, **overrides) as engine:
        answer = engine.ask(
            question, image=image, audio=audio, k=k, modality=modality, where=where,
            stream=(lambda d: out.print(d, end="", markup=False, highlight=False)) if live else None,
        )
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
        for c in answer.citations:
            out.print(f"  [{c.number}] {escape(_label(c.hit))}  [dim](score {c.hit.score:.2f}, {c.hit.modality.value})[/]")


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
def info(index: IndexOpt = None, config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """What the index holds and which space it uses."""
    with _existing(index, config) as engine:
        i = engine.info()
    data = {
        "location": i.location,
        "store": i.store,
        "space": i.space.to_dict() if i.space else None,
        "rows": i.rows,
        "sources": i.sources,
        "segments_by_modality": dict(i.by_modality),
        "vectors_by_channel": dict(i.by_channel),
        "created_at": i.created_at,
    }
    if json_out:
        out.print_json(json.dumps(data))
        return
    out.print(f"[bold]index[/]    {escape(i.location)} ({i.store})")
    if i.space:
        out.print(f"[bold]space[/]    {escape(i.space.name)}, dim {i.space.dim}")
        for ch, enc in i.space.encoders.items():
            out.print(f"           {ch}: {escape(enc)}")
        if i.space.notes:
            out.print(f"           [dim]{escape(i.space.notes)}[/]")
    out.print(f"[bold]sources[/]  {i.sources}")
    out.print(f"[bold]vectors[/]  {i.rows}  " + ", ".join(f"{k}: {v}" for k, v in i.by_channel.items()))
    out.print("[bold]rows by modality[/] " + ", ".join(f"{k}: {v}" for k, v in i.by_modality.items()))


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
        out.print(f"{escape(s.source)}  [dim]{s.segments} segment(s), {', '.join(s.modalities)}[/]")
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
        out.print(f"removed {escape(s)}")
    if not removed:
        err.print("nothing matched: see `mmrag sources` for what is indexed")
        raise typer.Exit(1)


@app.command()
def thumbnail(
    segment_id: Annotated[str, typer.Argument(help="A segment id from `mmrag search --json`.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the JPEG.")],
    index: IndexOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Write a hit's thumbnail (photo, keyframe, page, figure) to a file."""
    with _existing(index, config) as engine:
        data = engine.thumbnail(segment_id)
    if not data:
        err.print(f"no thumbnail for segment {segment_id}")
        raise typer.Exit(1)
    output.write_bytes(data)
    out.print(f"wrote {output}")


@app.command()
def demo(
    folder: Annotated[Path, typer.Argument(help="Where to write the sample files and the demo index.")] = Path("mmrag-demo"),
    space: Annotated[str | None, typer.Option(help="Space for the demo index (default: auto).")] = None,
) -> None:
    """Make sample data from real photos in installed packages, index it, and run a few searches."""
    from mmrag.demo import QUERIES, found_by_line, make_query_photo, make_samples

    with _errors():
        data = make_samples(folder / "data")
        out.print(f"[bold]sample data[/] in {data}: {len(list(data.iterdir()))} files")
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
        img = make_query_photo(data, folder / "query-photo.jpg")
        if img is not None:  # searched by its pixels (and any text in it), not by its file name
            out.print(f"\n# search with the picture {img} (rocket.jpg cropped, mirrored, recompressed)")
            from PIL import Image

            q2 = engine.embed_query(image=Image.open(img))
            hits = engine.search(query=q2, k=3)
            _print_hits(hits, q2.notes)
            out.print(f"[dim]{escape(found_by_line(hits))}[/]")
        engine.close()


def _register_optional() -> None:
    """Commands whose modules belong to optional capabilities (training)."""
    try:
        from mmrag.train.commands import eval_command, train_command
    except ImportError:  # pragma: no cover - training package missing
        return
    app.command("train")(train_command)
    app.command("eval")(eval_command)


_register_optional()


def _quiet_libraries() -> None:
    """Third-party chatter (gRPC stubs of Milvus Lite, HF hints) is not for end users."""
    import logging
    import os

    for name in ("pymilvus", "grpc", "grpc._server", "milvus_lite", "transformers", "huggingface_hub"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> None:
    _quiet_libraries()
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
