"""A real offline index (MiniLM + the starter image tower, LanceDB) over notes, real photos
and a video whose scenes repeat; shared by the retrieve tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import package_file

import mmrag
from mmrag.config import load_config

NOTES = {
    "volcano.md": "# Volcanoes\n\nMagma rises through the crust and erupts as lava, ash and gas from the crater.",
    "bread.txt": "To bake sourdough bread, feed the starter, mix flour and water, let the dough rise overnight, then bake it hot.",
    "football.md": "The striker scored twice in the second half and the team won the league title on goal difference.",
    "tax.txt": "Quarterly budget review: travel spending exceeded the plan, so the finance team froze new hires.",
    "garden.md": "Tomatoes need full sun, deep watering twice a week and a stake to climb; pinch off the side shoots.",
    "trains.txt": "The night train leaves the central station at ten and reaches the coast by dawn, with sleeper cabins.",
}
PHOTOS = {  # package, file inside it -> name in the corpus
    "cat.png": ("skimage", "data/chelsea.png"),
    "coffee.png": ("skimage", "data/coffee.png"),
    "rocket.jpg": ("skimage", "data/rocket.jpg"),
    "astronaut.png": ("skimage", "data/astronaut.png"),
}
# the video: scene per 2-second shot; cat and coffee come back
SCENES = ("cat.png", "coffee.png", "cat.png", "rocket.jpg", "cat.png", "coffee.png", "astronaut.png")
SHOT_S = 2.0


def cfg(index: Path, **over: object) -> mmrag.Config:
    base: dict[str, object] = {"index": str(index), "space.name": "minilm"}
    base.update(over)
    return load_config(base, environ={})


def make_video(path: Path, photos: dict[str, Path], fps: int = 8) -> Path:
    import av
    from PIL import Image

    frames = {n: np.asarray(Image.open(p).convert("RGB").resize((160, 120))) for n, p in photos.items()}
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = 160, 120, "yuv420p"
        for scene in SCENES:
            for _ in range(int(SHOT_S * fps)):
                for pkt in vs.encode(av.VideoFrame.from_ndarray(frames[scene], format="rgb24")):
                    out.mux(pkt)
        for pkt in vs.encode(None):
            out.mux(pkt)
    return path


def scene_at(t0: float) -> str:
    return SCENES[min(int((t0 + 0.5) // SHOT_S), len(SCENES) - 1)]


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("av")
    root = tmp_path_factory.mktemp("retrieve-corpus")
    for name, text in NOTES.items():
        (root / name).write_text(text, encoding="utf-8")
    photos = {}
    for name, (pkg, inner) in PHOTOS.items():
        photos[name] = root / name
        shutil.copyfile(package_file(pkg, inner), photos[name])
    make_video(root / "film.mp4", photos)
    return root


@pytest.fixture(scope="session")
def index_dir(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    index = tmp_path_factory.mktemp("retrieve-idx") / "index"
    with mmrag.Engine.open(str(index), cfg(index, **{"ingest.ocr": False})) as eng:
        report = eng.add([corpus])
        assert not report.failed, report.failed
    return index


@pytest.fixture(scope="session")
def engine(index_dir: Path):  # type: ignore[no-untyped-def]
    """One open engine for the session (models load once); tests that record feedback clear it."""
    eng = mmrag.Engine.open(str(index_dir), cfg(index_dir, **{"ingest.ocr": False}), create=False)
    yield eng
    eng.close()


DRAWINGS = Path(__file__).resolve().parents[1] / "data" / "drawings"


def drawing_captions() -> list[tuple[str, str]]:
    """``(file, caption)`` of the 50 real drawings and emoji the starter tower never trained on."""
    import json

    rows = [json.loads(line) for line in (DRAWINGS / "pairs.jsonl").read_text().splitlines() if line.strip()]
    return [(r["a"], r["b"].rstrip(".").lower()) for r in rows]


def _drawings_index(tmp_path_factory: pytest.TempPathFactory, name: str, files: list[str]) -> Path:
    root = tmp_path_factory.mktemp(name)
    for f in files:
        shutil.copyfile(DRAWINGS / f, root / f)
    index = tmp_path_factory.mktemp(name + "-idx") / "index"
    with mmrag.Engine.open(str(index), cfg(index, **{"ingest.ocr": False})) as eng:
        assert not eng.add([root]).failed
    return index


@pytest.fixture(scope="session")
def drawings_engine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """All 50 drawings, indexed under their neutral file names (only their pixels say what they show)."""
    index = _drawings_index(tmp_path_factory, "drawings-all", [f for f, _ in drawing_captions()])
    eng = mmrag.Engine.open(str(index), cfg(index, **{"ingest.ocr": False}), create=False)
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def half_drawings_engine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Every other drawing indexed: the captions of the rest are queries with no answer."""
    index = _drawings_index(tmp_path_factory, "drawings-half", [f for f, _ in drawing_captions()[::2]])
    eng = mmrag.Engine.open(str(index), cfg(index, **{"ingest.ocr": False}), create=False)
    yield eng
    eng.close()
