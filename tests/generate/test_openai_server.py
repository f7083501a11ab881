"""The ``openai`` backend against a REAL OpenAI-compatible server: ``transformers serve`` on
127.0.0.1 serving the real Gemma 3 270M (base) model, converted by ``scripts/prepare_gemma.py``.

Slow (server start + CPU generation): run with ``pytest -m slow tests/generate``.
Skips with the reason when the converted model folder or ``transformers[serving]`` is missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmrag.config import Config, GenerateConfig
from mmrag.generate import build_generator, build_prompt, finalize
from mmrag.types import Hit, Modality, Span

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
MODEL_DIR = Path(os.environ.get("MMRAG_GEMMA_HF", REPO / ".cache" / "models" / "gemma-3-270m-hf"))
START_TIMEOUT_S = 240


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server_url():
    if not (MODEL_DIR / "config.json").is_file():
        pytest.skip(f"{MODEL_DIR} missing: run `python scripts/prepare_gemma.py` first")
    cli = shutil.which("transformers") or str(Path(sys.executable).parent / "transformers")
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        pytest.skip('transformers serve needs its extras: pip install "transformers[serving]"')
    if not Path(cli).exists():
        pytest.skip("the `transformers` CLI is not installed")
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "2"}
    proc = subprocess.Popen(
        [cli, "serve", "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", str(MODEL_DIR)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"transformers serve exited with code {proc.returncode} during start-up")
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"transformers serve did not come up within {START_TIMEOUT_S} s")
            time.sleep(0.5)
        yield url + "/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def generator(server_url):
    cfg = Config(generate=GenerateConfig(
        backend="auto", base_url=server_url, model=str(MODEL_DIR), temperature=0.0, max_new_tokens=24, timeout_s=300,
    ))
    gen = build_generator(cfg)
    assert gen.name == f"openai:{MODEL_DIR}" and gen.vision is False
    return gen


@pytest.fixture(scope="module")
def prompt():
    hits = [
        Hit("t1", "notes/tower.md", Modality.TEXT, Span(start=0, end=60), 0.9,
            text="The Eiffel Tower is 330 metres tall and stands in Paris."),
        Hit("i1", "photos/cat.jpg", Modality.IMAGE, Span(), 0.5, text="A grey cat sleeping on a sofa.", has_thumbnail=True),
    ]
    return build_prompt("How tall is the Eiffel Tower?", hits, vision=False)


def test_real_server_answers_from_the_context(generator, prompt):
    answer = generator.generate(prompt)
    assert "330" in answer.text, answer.text
    assert "\nQuestion:" not in answer.text  # the stop sequence ended the base model's completion
    assert {c.number for c in answer.citations} <= {1, 2}
    assert all(c.hit is prompt.hit_for(c.number) for c in answer.citations)
    assert answer.timings["generate_s"] > 0


def test_real_server_streams_deltas(generator, prompt):
    deltas = list(generator.stream(prompt))
    assert len(deltas) >= 3  # token by token, not one blob
    answer = finalize(prompt, "".join(deltas), generator=generator.name)
    assert "330" in answer.text, answer.text
