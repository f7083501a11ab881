"""``mmrag classify``: zero-shot labels for pictures in the index's shared space."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from mmrag.cli_common import ConfigOpt, IndexOpt, JsonOpt


def classify_command(
    images: Annotated[list[Path] | None, typer.Argument(help="Pictures to classify (omit with --index).")] = None,
    labels: Annotated[str | None, typer.Option("--labels", help="Comma-separated labels, e.g. \"cat,dog,car\".")] = None,
    labels_file: Annotated[Path | None, typer.Option("--labels-file", help="A file with one label per line.")] = None,
    template: Annotated[list[str] | None, typer.Option("--template", help="Prompt template with {} for the label (repeatable; default: 'a photo of a {}.', 'a drawing of a {}.', ...).")] = None,
    temperature: Annotated[float, typer.Option(min=1e-4, help="Divides the fitted logits: 1 = the scales fitted on held-out labelled pictures (calibrated label_p); above 1 flatter, below 1 sharper.")] = 1.0,
    image_only: Annotated[bool, typer.Option("--image-only", help="Ignore the pictures' own words (file name, title, keywords, OCR): classify by what they show.")] = False,
    in_index: Annotated[bool, typer.Option("--index-items", "--label-index", help="Classify the indexed pictures and write the label into them as typed fields label and label_p (filter with --where \"label = 'cat' AND label_p > 0.5\").")] = False,
    where: Annotated[str | None, typer.Option(help="With --label-index: only these items.")] = None,
    top: Annotated[int, typer.Option(min=1, help="Labels shown per picture.")] = 3,
    index: IndexOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Zero-shot classification: a softmax over label prompts in the index's space.

    Scores each label by what the picture shows (with the offline space: the
    ImageNet backbone's view and the head trained on drawings, kept apart) and
    by its own words, at scales fitted on held-out labelled pictures, so the
    percentages are calibrated (see README, "classify").

    Examples: [bold]mmrag classify cat.jpg car.png --labels "cat,dog,car"[/] ·
    [bold]mmrag classify --label-index --labels-file animals.txt[/] then
    [bold]mmrag search "pet" --where "label = 'cat'"[/]
    """
    from mmrag.classify import BATCH, DEFAULT_TEMPLATES, classify_images, classify_index, read_labels
    from mmrag.cli_common import _config, _errors, _existing, _open, err

    if not in_index and images:
        with _errors():
            cfg = _config(index, config)
            probe = _open(cfg, create=True)  # creates nothing until a space is built through it
            exists = probe.exists
            probe.close()
            if not exists:  # pictures need a space, not an index: the default one (nothing is created)
                from mmrag import registry

                space = registry.resolve("space", cfg.space.name)(cfg)
                err.print(f"[dim]no index at {escape(str(cfg.index))}: classifying in the default space "
                          f"'{escape(space.name)}' (give --index to use an index's space)[/]")
                preds = classify_images(space, cfg, images, read_labels(labels, labels_file),
                                        templates=tuple(template) if template else DEFAULT_TEMPLATES,
                                        temperature=temperature, use_text=not image_only)
                _print(preds, images, top, json_out, False)
                return
    with _existing(index, config) as engine:
        names = read_labels(labels, labels_file)
        templates = tuple(template) if template else DEFAULT_TEMPLATES
        if in_index:
            def progress(done: int, total: int) -> None:
                if total > BATCH:
                    err.print(f"[dim]classified {done}/{total} pictures[/]")

            preds = classify_index(engine, names, templates=templates, temperature=temperature, where=where,
                                   use_text=not image_only, progress=progress)
        else:
            if not images:
                raise typer.BadParameter("give pictures to classify, or --label-index", param_hint="IMAGES")
            preds = classify_images(engine.space, engine.config, images, names, templates=templates, temperature=temperature,
                                    use_text=not image_only)
    _print(preds, images, top, json_out, in_index)


def _print(preds: list[Any], images: list[Path] | None, top: int, json_out: bool, in_index: bool) -> None:
    from mmrag.cli_common import out

    if json_out:
        out.print_json(json.dumps([p.to_dict() for p in preds]))
        return
    for p in preds:
        ranked = sorted(p.scores.items(), key=lambda kv: -kv[1])[:top]
        out.print(f"[cyan]{escape(Path(p.item).name if images else p.item)}[/]  " + ", ".join(f"{escape(k)} {v:.0%}" for k, v in ranked))
    if in_index:
        out.print(f"[dim]labelled {len(preds)} indexed picture(s)[/]")


__all__ = ["classify_command"]
