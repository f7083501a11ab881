"""``mmrag train`` and ``mmrag eval``: typer-annotated functions (cli.py registers them)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from mmrag.errors import MmragError

if TYPE_CHECKING:  # numpy and the evaluator load when a command runs, not with the CLI
    from mmrag.train.evaluate import Metrics

console = Console(stderr=True)


class _Bars:
    """Adapts the trainer's ``progress(task, done, total)`` callback to rich bars."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, task: str, done: int, total: int) -> None:
        if task not in self.tasks:
            self.tasks[task] = self.progress.add_task(task, total=total)
        self.progress.update(self.tasks[task], completed=done, total=total)


def _bars() -> Progress:
    return Progress(TextColumn("{task.description:>8}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeRemainingColumn(), console=console, transient=False)


def _print_results(before: dict[str, dict[str, Metrics]], after: dict[str, dict[str, Metrics]], losses: list[float],
                   item: str = "image") -> None:
    table = {f"{k} before": v for k, v in before.items()} | {f"{k} after": v for k, v in after.items()}
    from mmrag.train.evaluate import format_table

    print(format_table(table, {"b->a": f"text→{item}", "a->b": f"{item}→text"}))
    if losses:
        print("loss per epoch: " + " ".join(f"{x:.3f}" for x in losses))


def train_command(
    pairs: Annotated[Path, typer.Argument(help="pairs file (JSONL/CSV with columns a,b) or a folder of captioned images or sounds")],
    out: Annotated[Path, typer.Option("--out", "-o", help="checkpoint folder to write")] = Path("./mmrag-tower"),
    mode: Annotated[str, typer.Option(help="bind: train a new tower into a frozen space; finetune: update a CLIP/SigLIP model")] = "bind",
    modality: Annotated[str, typer.Option(help="bind: modality of column a: image or audio")] = "image",
    space: Annotated[str, typer.Option("--space", "--base", help="bind: the frozen space (minilm); finetune: model folder or id")] = "minilm",
    epochs: Annotated[int, typer.Option(min=1)] = 5,
    batch_size: Annotated[int, typer.Option(min=2)] = 128,
    lr: Annotated[float, typer.Option(min=0.0)] = 2e-3,
    loss: Annotated[str, typer.Option(help="clip | siglip | infonce")] = "clip",
    seed: int = 0,
    holdout: Annotated[float, typer.Option(min=0.0, max=0.9)] = 0.1,
    resume: Annotated[bool, typer.Option(help="continue from OUT/state.pt")] = False,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda | cuda:N")] = "auto",
    image_size: Annotated[int, typer.Option(min=16, help="bind: tower input size in pixels")] = 64,
    widths: Annotated[str, typer.Option(help="bind: channels of the 4 tower stages (default: image 32,64,128,256; audio 16,32,64,128)")] = "",
    clip_seconds: Annotated[float, typer.Option(min=0.5, max=30.0, help="bind audio: the tower's crop length in seconds")] = 4.0,
    backbone: Annotated[str, typer.Option(help="bind: the frozen pretrained backbone. image: efficientnet-lite0 (only a small head is "
                                               "trained, on cached backbone outputs) or none for a CNN from scratch (the default); "
                                               "audio: whisper (a head on Whisper tiny.en's frozen encoder, the default) or logmel "
                                               "(a small CNN from scratch)")] = "",
    augment: Annotated[float, typer.Option(min=0.0, max=1.0, help="bind: augmentation strength (0 = off)")] = 1.0,
    eval_pairs: Annotated[list[Path] | None, typer.Option("--eval-pairs", help="more pairs files to report recall on")] = None,
    name: Annotated[str, typer.Option(help="tower name (goes into its encoder id)")] = "",
    cache_dir: Annotated[Path | None, typer.Option(help="cache for decoded images and caption vectors")] = None,
    projection_only: Annotated[bool, typer.Option(help="finetune: train only projections + temperature")] = False,
    threads: Annotated[int, typer.Option(min=0, help="CPU threads (0 = all)")] = 0,
    weight_decay: Annotated[float, typer.Option(min=0.0, help="AdamW weight decay")] = 0.05,
    max_pictures: Annotated[int, typer.Option(min=0, help="bind --backbone: train on a fixed random subset of this many "
                                                         "pictures (0 = all; held-out: an eighth as many)")] = 0,
    head_input: Annotated[str, typer.Option("--head-input", help="bind --backbone: what the head reads: pooled (the 1280 pooled "
                                                                 "features) or pooled+stages (and the 704 stage means, as lite0e and lite0c)")] = "pooled",
    init: Annotated[str, typer.Option("--init", help="bind --backbone: fine-tune this tower's head instead of training a new one "
                                                     "(lite0b = the shipped default, lite0e, lite0c, lite0, or a tower folder); keeps its "
                                                     "head input, mix and visual channel. For exported feedback: --init lite0b --holdout 0 --lr 3e-4 --epochs 30")] = "",
) -> None:
    """Train contrastively: bind a new image or audio tower into a frozen space, or finetune CLIP/SigLIP."""
    if loss not in ("clip", "siglip", "infonce"):
        console.print(f"[red]unknown --loss '{loss}'[/red]: use clip, siglip or infonce")
        raise typer.Exit(2)
    if mode == "bind" and modality not in ("image", "audio"):
        console.print(f"[red]--modality {modality}[/red] cannot be bound: use --modality image or audio")
        raise typer.Exit(2)
    try:
        stage_widths = tuple(int(w) for w in widths.split(",")) if widths.strip() else ()
    except ValueError:
        console.print(f"[red]--widths {widths}[/red] must be comma-separated integers, e.g. 32,64,128,256")
        raise typer.Exit(2) from None
    if init and (mode != "bind" or modality != "image" or backbone in ("", "none")):
        console.print(f"[red]--init {init}[/red] fine-tunes a backbone head: use it with --mode bind --modality image --backbone efficientnet-lite0")
        raise typer.Exit(2)
    command = "mmrag train " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if len(sys.argv) > 2 else ""
    try:
        with _bars() as progress:
            bars = _Bars(progress)
            if mode == "bind":
                from mmrag.train.features import frozen_text_encoder
                from mmrag.train.loop import BindOptions, bind_tower

                opts = BindOptions(
                    pairs=str(pairs), out=str(out), modality=modality, epochs=epochs, batch_size=batch_size, lr=lr,
                    loss=loss, seed=seed, holdout=holdout, resume=resume, device=device, image_size=image_size,
                    widths=stage_widths, augment=augment, clip_seconds=clip_seconds, threads=threads, name=name,
                    cache_dir=str(cache_dir) if cache_dir else "", extra_eval=tuple(str(p) for p in eval_pairs or ()),
                    command=command, backbone=backbone, weight_decay=weight_decay, max_pictures=max_pictures,
                    init=init, head_input=head_input,
                )
                result = bind_tower(opts, frozen_text_encoder(space), bars)
            elif mode == "finetune":
                from mmrag.train.finetune import FinetuneOptions, finetune_clip

                fopts = FinetuneOptions(
                    pairs=str(pairs), base=space, out=str(out), epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                    holdout=holdout, device=device, projection_only=projection_only, loss=loss, threads=threads,
                )
                result = finetune_clip(fopts, bars)
            else:
                console.print(f"[red]unknown --mode '{mode}'[/red]: use bind or finetune")
                raise typer.Exit(2)
    except MmragError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    noun = "sounds" if mode == "bind" and modality == "audio" else "pictures"
    _print_results(result.before, result.after, result.losses, "sound" if noun == "sounds" else "image")
    console.print(f"[green]wrote[/green] {result.out} ({result.n_train} train / {result.n_heldout} held-out {noun}, "
                  f"{result.skipped} unreadable skipped, {result.seconds:.0f} s)")
    if mode == "bind":
        key = "MMRAG_SPACE_AUDIO_MODEL" if modality == "audio" else "MMRAG_SPACE_IMAGE_MODEL"
        console.print(f"use it in a new index: {key}={shlex.quote(str(Path(result.out).resolve()))} mmrag add FILES --space minilm")


def eval_command(
    pairs: Annotated[Path, typer.Argument(help="pairs file: a = picture path (or text), b = caption")],
    space: Annotated[str, typer.Option(help="space whose text tower embeds column b")] = "minilm",
    image_model: Annotated[str | None, typer.Option(help="image tower folder ('lite0b' = the default backbone tower, "
                                                         "'lite0e' = a head on the stage means too, trained on twice the drawn pictures, 'lite0c' = the same on lite0b's pictures, 'lite0-flat' and 'lite0' = "
                                                         "older ones, 'shipped' = the starter CNN)")] = "lite0b",
    audio_model: Annotated[str | None, typer.Option(help="audio tower folder, for a pairs file of sounds")] = None,
    baseline: Annotated[bool, typer.Option(help="also score the text-only baseline (OCR + file name through the text tower)")] = False,
    cache_dir: Annotated[Path | None, typer.Option(help="cache for decoded images and caption vectors")] = None,
) -> None:
    """Recall@1/5/10, MRR and nDCG@10 in both directions for a space on a pairs file (pictures, sounds or texts)."""
    from mmrag.train.benchmark import evaluate_pairs

    try:
        from mmrag.space.adapters import shipped_backbone

        shipped = shipped_backbone(image_model or "")
        tower = shipped[0] if shipped else None if image_model == "shipped" else image_model
        results = evaluate_pairs(pairs, space=space, image_model=tower, baseline=baseline, cache=cache_dir,
                                 audio_model=audio_model,
                                 flat_gate=shipped[1] if shipped else False if image_model == "shipped" else None)
    except MmragError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    item = "sound" if audio_model else "image"
    from mmrag.train.evaluate import format_table

    print(format_table(results, {"b->a": f"text→{item}", "a->b": f"{item}→text"}))


__all__ = ["eval_command", "train_command"]
