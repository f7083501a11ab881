"""finetune: a tiny CLIP the test builds itself, trained through the real transformers loading code."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmrag.errors import ModelNotFound
from mmrag.train.finetune import FinetuneOptions, finetune_clip


def _tiny_clip(folder: Path, captions: list[str]) -> Path:
    """A random tiny CLIP whose tokenizer spells the captions' words; the same weights and vocabulary on every run
    (seeded init, merges learnt by rule), so what fine-tuning reaches does not vary run to run."""
    from tests.space.tiny_models import make_tiny_clip

    return make_tiny_clip(folder, words=sorted({w for c in captions for w in c.split()}), projection_dim=16, max_positions=16)


@pytest.mark.parametrize("projection_only", [False, True])
def test_finetune_tiny_clip_end_to_end_and_projections(
    synthetic_pairs: Path, tmp_path: Path, projection_only: bool
) -> None:
    import torch
    from transformers import AutoModel

    torch.set_num_threads(1)
    caps = sorted(
        {line.split('"b": "')[1].split('"')[0] for line in synthetic_pairs.read_text().splitlines()}
    )
    base = _tiny_clip(tmp_path / "base", caps)
    opts = FinetuneOptions(
        pairs=str(synthetic_pairs),
        base=str(base),
        out=str(tmp_path / "ft"),
        epochs=25,
        batch_size=24,
        lr=3e-3,
        holdout=0.25,
        projection_only=projection_only,
        threads=1,
    )
    res = finetune_clip(opts)
    before, after = res.before["heldout"]["b->a"], res.after["heldout"]["b->a"]
    assert res.losses[-1] < res.losses[0]
    assert after.mrr > before.mrr
    ft = AutoModel.from_pretrained(tmp_path / "ft")
    old = AutoModel.from_pretrained(base)
    vis_same = torch.equal(
        ft.vision_model.embeddings.patch_embedding.weight, old.vision_model.embeddings.patch_embedding.weight
    )
    proj_same = torch.equal(ft.visual_projection.weight, old.visual_projection.weight)
    assert not proj_same
    assert vis_same == projection_only  # the backbone moves only when training end to end
    if not projection_only:
        assert after.recall[1] >= 2 * after.chance[1]


def test_finetune_missing_model(synthetic_pairs: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="save_pretrained"):
        finetune_clip(
            FinetuneOptions(pairs=str(synthetic_pairs), base=str(tmp_path / "none"), out=str(tmp_path / "o"))
        )


def test_cli_train_finetune_and_errors(synthetic_pairs: Path, tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from mmrag.train.commands import train_command

    app = typer.Typer()
    app.command()(train_command)
    caps = sorted(
        {line.split('"b": "')[1].split('"')[0] for line in synthetic_pairs.read_text().splitlines()}
    )
    base = _tiny_clip(tmp_path / "base", caps)
    runner = CliRunner()
    ok = runner.invoke(
        app,
        [
            str(synthetic_pairs),
            "--mode",
            "finetune",
            "--base",
            str(base),
            "--out",
            str(tmp_path / "ft"),
            "--epochs",
            "2",
            "--batch-size",
            "8",
            "--lr",
            "1e-3",
            "--threads",
            "1",
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert "R@1" in ok.output and "heldout after" in ok.output
    assert (tmp_path / "ft" / "config.json").exists()
    bad_mode = runner.invoke(app, [str(synthetic_pairs), "--mode", "distill"])
    assert bad_mode.exit_code == 2
    bad_loss = runner.invoke(app, [str(synthetic_pairs), "--loss", "triplet"])
    assert bad_loss.exit_code == 2
    missing = runner.invoke(
        app,
        [
            str(tmp_path / "none.jsonl"),
            "--mode",
            "finetune",
            "--base",
            str(base),
            "--out",
            str(tmp_path / "x"),
        ],
    )
    assert missing.exit_code == 1 and "does not exist" in " ".join(missing.output.split())
