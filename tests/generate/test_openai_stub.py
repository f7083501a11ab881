"""The ``openai`` backend's request shape and error paths, against a STUB server.

``StubOpenAIServer`` is a hand-written HTTP server on 127.0.0.1 that plays
scripted replies (500s, slow answers, malformed JSON, image refusals). It runs
no model: the real-model checks are in ``test_openai_server.py``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import pytest

from mmrag.config import Config, GenerateConfig
from mmrag.errors import ConfigError, GenerationError
from mmrag.generate import build_generator, build_prompt
from mmrag.generate.openai import OpenAIGenerator, guess_vision, normalise_base_url, render_messages


class StubOpenAIServer:
    """Scripted OpenAI-compatible replies; ``script`` is a list of behaviours used in turn (last one repeats)."""

    def __init__(self) -> None:
        self.script: list[str] = ["ok"]
        self.requests: list[dict[str, Any]] = []
        self.reply_text = "It is 330 metres tall [1]. Also [7]."
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                stub.requests.append({"path": self.path, "auth": self.headers.get("Authorization")})
                self._send(200, json.dumps({"object": "list", "data": [{"id": "stub-model"}]}).encode())

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                stub.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                step = stub.script[min(len(stub.requests) - 1, len(stub.script) - 1)]
                has_images = any(isinstance(m.get("content"), list) for m in body.get("messages", []))
                if step == "refuse-images" and has_images:
                    self._send(400, b'{"error": {"message": "this model does not support image input"}}')
                elif step == "500":
                    self._send(500, b'{"error": {"message": "internal boom"}}')
                elif step == "401":
                    self._send(401, b'{"error": {"message": "invalid api key"}}')
                elif step == "slow":
                    time.sleep(1.5)
                    self._send(200, b"{}")
                elif step == "badjson":
                    self._send(200, b"<html>surprise</html>", "text/html")
                elif step == "nochoices":
                    self._send(200, b'{"object": "chat.completion"}')
                elif body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    if step == "badstream":
                        self.wfile.write(b"data: {not json\n\n")
                        return
                    for piece in ("It is ", "330 metres ", "tall [1]."):
                        event = {"choices": [{"index": 0, "delta": {"content": piece}}]}
                        self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                        self.wfile.flush()
                    self.wfile.write(b"data: [DONE]\n\n")
                else:
                    reply = {"choices": [{"index": 0, "message": {"role": "assistant", "content": stub.reply_text}}]}
                    self._send(200, json.dumps(reply).encode())

        class QuietServer(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that timed out and left is expected here

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub():
    with StubOpenAIServer() as server:
        yield server


def gen(url: str, **kw: Any) -> OpenAIGenerator:
    opts = {"model": "stub-model", "timeout_s": 5.0, "retries": 0, "backoff_s": 0.01}
    opts.update(kw)
    model = opts.pop("model")
    return OpenAIGenerator(url, model, **opts)


@pytest.fixture
def prompt(mixed_hits):
    return build_prompt("How tall is the tower?", mixed_hits[:2], vision=False)


def test_request_shape_and_answer_with_checked_citations(stub, prompt):
    g = gen(stub.url, api_key="sk-test", max_new_tokens=64, temperature=0.0)
    answer = g.generate(prompt)
    assert answer.text == "It is 330 metres tall [1]. Also."
    assert [c.number for c in answer.citations] == [1] and answer.dropped_citations == (7,)
    assert answer.generator == "openai:stub-model"
    req = stub.requests[0]
    assert req["path"] == "/v1/chat/completions" and req["auth"] == "Bearer sk-test"
    body = req["body"]
    assert body["model"] == "stub-model" and body["max_tokens"] == 64 and body["temperature"] == 0.0
    assert body["stream"] is False
    assert body["messages"] == [
        {"role": "system", "content": prompt.system},
        {"role": "user", "content": prompt.user_text()},
    ]


def test_streaming_deltas(stub, prompt):
    deltas = list(gen(stub.url).stream(prompt))
    assert deltas == ["It is ", "330 metres ", "tall [1]."]
    assert stub.requests[0]["body"]["stream"] is True


def test_vision_sends_images_as_data_urls(stub, mixed_hits, jpeg_bytes):
    pic = jpeg_bytes("red")
    vprompt = build_prompt("what is this?", mixed_hits[2:3], thumbnail=lambda s: pic, vision=True)
    gen(stub.url, vision=True).generate(vprompt)
    content = stub.requests[0]["body"]["messages"][1]["content"]
    assert [c["type"] for c in content] == ["text", "text", "image_url", "text"]
    assert content[2]["image_url"]["url"] == vprompt.images[0].data_url()
    assert content[2]["image_url"]["url"].startswith("data:image/jpeg;base64,/9j/")
    assert render_messages(vprompt, vision=False)[1]["content"] == vprompt.user_text()


def test_retries_5xx_then_succeeds(stub, prompt):
    stub.script = ["500", "500", "ok"]
    answer = gen(stub.url, retries=2).generate(prompt)
    assert answer.citations[0].number == 1 and len(stub.requests) == 3


def test_streaming_retries_5xx_before_the_first_byte(stub, prompt):
    stub.script = ["500", "ok"]
    assert "".join(gen(stub.url, retries=1).stream(prompt)) == "It is 330 metres tall [1]."
    assert len(stub.requests) == 2


def test_5xx_after_retries_is_a_clear_error(stub, prompt):
    stub.script = ["500"]
    with pytest.raises(GenerationError, match=r"HTTP 500: internal boom \(after 2 attempts\)"):
        gen(stub.url, retries=1).generate(prompt)
    assert len(stub.requests) == 2


def test_timeout(stub, prompt):
    stub.script = ["slow"]
    t = time.perf_counter()
    with pytest.raises(GenerationError, match=r"did not answer within 0.3 s.*timeout_s"):
        gen(stub.url, timeout_s=0.3).generate(prompt)
    assert time.perf_counter() - t < 1.4


def test_malformed_json_and_missing_choices(stub, prompt):
    stub.script = ["badjson"]
    with pytest.raises(GenerationError, match="not JSON.*<html>surprise"):
        gen(stub.url).generate(prompt)
    stub.script = ["nochoices"]
    stub.requests.clear()
    with pytest.raises(GenerationError, match=r"without choices\[0\]\.message"):
        gen(stub.url).generate(prompt)
    stub.script = ["badstream"]
    stub.requests.clear()
    with pytest.raises(GenerationError, match="stream event that is not JSON"):
        list(gen(stub.url).stream(prompt))


def test_connection_refused():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(GenerationError, match=r"cannot connect to http://127.0.0.1:\d+/v1 .*Start the server"):
        gen(f"http://127.0.0.1:{port}/v1", retries=1).generate(
            build_prompt("q", [], vision=False)
        )


def test_text_only_model_refusing_images(stub, mixed_hits, jpeg_bytes):
    stub.script = ["refuse-images"]
    vprompt = build_prompt("what is this?", mixed_hits[2:3], thumbnail=lambda s: jpeg_bytes(), vision=True)
    with pytest.raises(GenerationError, match=r"cannot see images: set generate.vision = false"):
        gen(stub.url, vision=True).generate(vprompt)
    # the same model answers when pictures go as text
    answer = gen(stub.url, vision=False).generate(build_prompt("what is this?", mixed_hits[2:3], vision=False))
    assert answer.text.startswith("It is 330")


def test_bad_key_is_not_retried(stub, prompt):
    stub.script = ["401"]
    with pytest.raises(GenerationError, match="rejected the API key"):
        gen(stub.url, retries=3).generate(prompt)
    assert len(stub.requests) == 1


def test_model_taken_from_server_when_unset(stub, prompt):
    g = gen(stub.url, model=None)
    g.generate(prompt)
    assert g.name == "openai:stub-model"
    assert stub.requests[0]["path"] == "/v1/models"
    assert stub.requests[1]["body"]["model"] == "stub-model"
    assert g.vision is False  # guessed from the discovered name


def test_config_env_fallbacks_and_auto_backend(stub):
    cfg = Config(generate=GenerateConfig(backend="auto", base_url=stub.url, model="llava:7b"))
    g = build_generator(cfg)
    assert isinstance(g, OpenAIGenerator) and g.vision is True and g.base_url == stub.url
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "k"}
    g2 = OpenAIGenerator.from_config(GenerateConfig(model="m"), environ=env)
    assert g2.base_url == "http://127.0.0.1:9/v1" and g2._client.headers["Authorization"] == "Bearer k"
    g3 = OpenAIGenerator.from_config(GenerateConfig(model="gpt-4o-mini"), environ={"OPENAI_API_KEY": "k"})
    assert g3.base_url == "https://api.openai.com/v1" and g3.vision is True
    with pytest.raises(ConfigError, match="needs a server URL"):
        OpenAIGenerator.from_config(GenerateConfig(), environ={})
    assert OpenAIGenerator.from_config(GenerateConfig(base_url="http://h:1", vision=False, model="llava"), environ={}).vision is False


def test_helpers():
    assert normalise_base_url("http://127.0.0.1:11434/") == "http://127.0.0.1:11434/v1"
    assert normalise_base_url("http://h:8000/v1/") == "http://h:8000/v1"
    with pytest.raises(ConfigError):
        normalise_base_url("localhost:11434")
    assert [guess_vision(m) for m in ("llava:13b", "qwen2.5-vl-7b", "gpt-4o", "llama3.1:8b", "gemma-3-270m", None)] == [
        True, True, True, False, False, False,
    ]
