"""Shared fixtures: real sample media from installed packages, offline env."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def package_file(package: str, inner: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{package} is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / inner
    if not path.is_file():
        pytest.skip(f"{package} has no {inner}")
    return path


@pytest.fixture()
def photo(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Copy a real photo from an installed package into tmp: photo('skimage', 'data/chelsea.png', 'cat.png')."""

    def _copy(package: str, inner: str, name: str, folder: Path | None = None) -> Path:
        dst = (folder or tmp_path) / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(package_file(package, inner), dst)
        return dst

    return _copy
