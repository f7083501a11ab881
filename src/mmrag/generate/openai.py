"""``openai`` generator: any OpenAI-compatible chat-completions server.

Works with Ollama (``http://127.0.0.1:11434/v1``), vLLM, the llama.cpp server,
LM Studio, ``transformers serve`` and OpenAI itself. Settings, first found wins:

- base URL: ``generate.base_url`` (``MMRAG_GENERATE_BASE_URL``) > ``OPENAI_BASE_URL``
  > ``https://api.openai.com/v1`` when an API key is set. A bare host
  (``http://127.0.0.1:11434``) gets ``/v1`` appended.
- model: ``generate.model`` (``MMRAG_GENERATE_MODEL``) > the server's only model (``GET /models``).
- key: ``generate.api_key`` (``MMRAG_GENERATE_API_KEY``) > ``OPENAI_API_KEY`` (sent as ``Bearer``).
- vision: ``generate.vision``; unset, it is guessed from the model name (``guess_vision``).

Images go as ``image_url`` parts holding base64 ``data:`` URLs. Requests time
out after ``timeout_s`` and are retried ``retries`` times (with backoff) on
connection errors, timeouts, 429 and 5xx; a stream is only retried before its
first byte. Every failure is a ``GenerationError`` that says what to do.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from mmrag.config import Config, GenerateConfig
from mmrag.errors import ConfigError, GenerationError, MissingDependency
from mmrag.generate.base import StopTrimmer, StreamingGenerator, cut_at_stop
from mmrag.generate.citations import finalize
from mmrag.generate.prompt import ImagePart, Prompt, TextPart
from mmrag.types import Answer

OPENAI_URL = "https://api.openai.com/v1"
RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
STOP = ["\nQuestion:", "\nSources:"]  # a base model would go on with the next Q/A pair
_VISION_NAMES = re.compile(
    r"(vision|llava|bakllava|[-_.]vl\b|vl[-_:]|qwen2\.5vl|pixtral|minicpm-v|moondream|gpt-4o|gpt-4\.1|gpt-4-turbo"
    r"|gpt-5|\bo[34](?:-mini)?\b|gemma-?3[:-]?(4|12|27)b|gemma3n|idefics|smolvlm|internvl|phi-?3\.5-vision|phi-?4-multimodal"
    r"|claude|gemini|mistral-small-3\.[12]|llama-?4|granite3\.2-vision)",
    re.IGNORECASE,
)
_IMAGE_REFUSAL = re.compile(r"image|vision|multimodal|multi-modal|image_url", re.IGNORECASE)


def guess_vision(model: str | None) -> bool:
    """Whether a model name looks vision-capable (``llava``, ``qwen2.5-vl``, ``gpt-4o`` ...)."""
    return bool(model) and bool(_VISION_NAMES.search(str(model)))


def normalise_base_url(url: str) -> str:
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"generate.base_url {url!r} is not an http(s) URL. Set it like http://127.0.0.1:11434/v1 "
            "(MMRAG_GENERATE_BASE_URL)."
        )
    return url + "/v1" if parts.path in ("", "/") else url


def render_messages(prompt: Prompt, vision: bool) -> list[dict[str, Any]]:
    """OpenAI chat messages: system text, then the user turn.

    Vision: the user content is the list of parts (``text`` / ``image_url`` with a
    data URL), in prompt order. Text-only: one string (pictures described by text).
    """
    messages: list[dict[str, Any]] = [{"role": "system", "content": prompt.system}]
    if vision and prompt.images:
        content: list[dict[str, Any]] = []
        for part in prompt.parts:
            if isinstance(part, TextPart):
                content.append({"type": "text", "text": part.text})
            elif isinstance(part, ImagePart):
                content.append({"type": "image_url", "image_url": {"url": part.data_url()}})
        messages.append({"role": "user", "content": content})
    else:
        messages.append({"role": "user", "content": prompt.user_text()})
    return messages


class OpenAIGenerator(StreamingGenerator):
    """Chat completions over HTTP (``httpx``); see the module docstring for settings."""

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        *,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        retries: int = 2,
        max_new_tokens: int = 256,
        temperature: float = 0.2,
        vision: bool | None = None,
        backoff_s: float = 0.5,
        transport: Any = None,
    ) -> None:
        try:
            import httpx
        except ImportError:  # pragma: no cover - httpx ships with the serve extra
            raise MissingDependency("httpx", "serve", "the 'openai' generator") from None
        self.base_url = normalise_base_url(base_url)
        self._model = model
        self._vision_set = vision is not None
        self.vision = guess_vision(model) if vision is None else bool(vision)
        self.timeout_s = float(timeout_s)
        self.retries = max(0, int(retries))
        self.max_new_tokens = int(max_new_tokens)
        self.temperature = float(temperature)
        self.backoff_s = backoff_s
        headers = {"Content-Type": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        timeout = httpx.Timeout(self.timeout_s, connect=min(10.0, self.timeout_s))
        self._httpx = httpx
        self._client = httpx.Client(headers=headers, timeout=timeout, transport=transport)

    # -- settings -----------------------------------------------------------------
    @classmethod
    def from_config(cls, cfg: GenerateConfig, environ: Mapping[str, str] | None = None) -> OpenAIGenerator:
        env = os.environ if environ is None else environ
        api_key = cfg.api_key or env.get("OPENAI_API_KEY") or None
        base_url = cfg.base_url or env.get("OPENAI_BASE_URL") or (OPENAI_URL if api_key else None)
        if not base_url:
            raise ConfigError(
                "the 'openai' generator needs a server URL: set generate.base_url "
                "(MMRAG_GENERATE_BASE_URL=http://127.0.0.1:11434/v1 for Ollama) or OPENAI_BASE_URL, "
                "or OPENAI_API_KEY for api.openai.com."
            )
        return cls(
            base_url,
            cfg.model,
            api_key=api_key,
            timeout_s=cfg.timeout_s,
            retries=cfg.retries,
            max_new_tokens=cfg.max_new_tokens,
            temperature=cfg.temperature,
            vision=cfg.vision,
        )

    @property
    def model(self) -> str:
        if self._model is None:
            self._model = self._only_model()
            if not self._vision_set:
                self.vision = guess_vision(self._model)
        return self._model

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"openai:{self._model or '?'}"

    def _only_model(self) -> str:
        try:
            data = self._request("GET", "/models").json()
            ids = [m["id"] for m in data.get("data", []) if isinstance(m, dict) and "id" in m]
        except GenerationError:
            ids = []
        except (ValueError, AttributeError, TypeError):
            ids = []
        if len(ids) == 1:
            return str(ids[0])
        known = f" The server lists: {', '.join(map(str, ids[:10]))}." if ids else ""
        raise ConfigError(
            f"no model set for the 'openai' generator at {self.base_url}.{known} "
            "Set generate.model (MMRAG_GENERATE_MODEL), e.g. llava or gpt-4o-mini."
        )

    # -- HTTP ---------------------------------------------------------------------
    def _payload(self, prompt: Prompt, stream: bool) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": render_messages(prompt, self.vision),
            "max_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "stop": STOP,
            "stream": stream,
        }

    def _request(self, method: str, path: str, payload: dict[str, Any] | None = None, *, stream: bool = False) -> Any:
        """Send with retries; return an ``httpx.Response`` with a 2xx status (open if ``stream``)."""
        httpx = self._httpx
        url = self.base_url + path
        has_images = bool(payload) and any(
            isinstance(m.get("content"), list) for m in (payload or {}).get("messages", [])
        )
        last, continue_or = "", ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(8.0, self.backoff_s * 2 ** (attempt - 1)))
            try:
                request = self._client.build_request(method, url, json=payload)
                response = self._client.send(request, stream=stream)
            except httpx.ConnectError as exc:
                last = f"cannot connect to {self.base_url} ({exc})"
                hint = "Start the server (e.g. `ollama serve`) or fix generate.base_url (MMRAG_GENERATE_BASE_URL)."
                continue_or = hint
            except httpx.TimeoutException:
                last = f"{self.base_url} did not answer within {self.timeout_s:g} s"
                continue_or = "Raise generate.timeout_s (MMRAG_GENERATE_TIMEOUT_S) or use a smaller model."
            except httpx.HTTPError as exc:
                last = f"request to {url} failed ({exc})"
                continue_or = "Check generate.base_url and that the server is up."
            else:
                if response.status_code < 300:
                    return response
                body = _body(response)
                response.close()  # a streamed response holds its connection until closed
                if response.status_code in RETRY_STATUS:
                    last = f"{url} answered HTTP {response.status_code}: {body}"
                    continue_or = "The server failed; check its log, or retry later."
                    continue
                raise self._status_error(response.status_code, body, url, has_images)
        raise GenerationError(f"{last} (after {self.retries + 1} attempts). {continue_or}")

    def _status_error(self, status: int, body: str, url: str, has_images: bool) -> GenerationError:
        if has_images and status in (400, 415, 422, 500, 501) and _IMAGE_REFUSAL.search(body):
            return GenerationError(
                f"model '{self._model}' at {self.base_url} refused the attached images (HTTP {status}: {body}). "
                "It cannot see images: set generate.vision = false (MMRAG_GENERATE_VISION=false) to send their "
                "text instead, or pick a vision model (llava, qwen2.5-vl, gpt-4o)."
            )
        if status in (401, 403):
            return GenerationError(
                f"{url} rejected the API key (HTTP {status}: {body}). "
                "Set generate.api_key (MMRAG_GENERATE_API_KEY) or OPENAI_API_KEY."
            )
        if status == 404:
            return GenerationError(
                f"{url} answered 404 ({body}): the model '{self._model}' is unknown there or the URL is not an "
                "OpenAI-compatible /v1 root. Check generate.model and generate.base_url (it usually ends in /v1)."
            )
        return GenerationError(f"{url} answered HTTP {status}: {body}. Check the request settings and the server log.")

    # -- Generator ----------------------------------------------------------------
    def generate(self, prompt: Prompt) -> Answer:
        t0 = time.perf_counter()
        response = self._request("POST", "/chat/completions", self._payload(prompt, stream=False))
        text = cut_at_stop(_message_text(_json(response, self.base_url), self.base_url), STOP)
        total = time.perf_counter() - t0
        timings = {"generate_s": total, "first_token_s": total}
        return finalize(prompt, text, generator=self.name, timings=timings)

    def stream(self, prompt: Prompt) -> Iterator[str]:
        response = self._request("POST", "/chat/completions", self._payload(prompt, stream=True), stream=True)
        received = 0
        trimmer = StopTrimmer(tuple(STOP))
        try:
            for line in response.iter_lines():
                line = line.strip()
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                try:
                    event = json.loads(data)
                except ValueError:
                    raise GenerationError(
                        f"{self.base_url} sent a stream event that is not JSON ({data[:120]!r}). "
                        "Is generate.base_url an OpenAI-compatible server?"
                    ) from None
                delta = _delta_text(event, self.base_url)
                received += len(delta)
                out = trimmer.feed(delta)
                if out:
                    yield out
                if trimmer.done:
                    break
            rest = trimmer.finish()
            if rest:
                yield rest
        except self._httpx.HTTPError as exc:
            raise GenerationError(
                f"the stream from {self.base_url} broke after {received} characters ({exc}). "
                "Retry, or raise generate.timeout_s."
            ) from None
        finally:
            response.close()

    def close(self) -> None:
        self._client.close()


def _body(response: Any) -> str:
    try:
        response.read()
        text = response.text
    except Exception:  # noqa: BLE001 - a broken body still gives a useful status error
        return "(no body)"
    try:
        data = json.loads(text)
        err = data.get("error") if isinstance(data, dict) else None
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:300]
        if isinstance(err, str):
            return err[:300]
    except ValueError:
        pass
    return " ".join(text.split())[:300] or "(empty body)"


def _json(response: Any, base_url: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise GenerationError(
            f"{base_url} replied with something that is not JSON ({response.text[:120]!r}). "
            "Is generate.base_url the /v1 root of an OpenAI-compatible server?"
        ) from None


def _message_text(data: Any, base_url: str) -> str:
    try:
        content = data["choices"][0]["message"].get("content")
    except (KeyError, IndexError, TypeError, AttributeError):
        if isinstance(data, dict) and data.get("error"):
            raise GenerationError(f"{base_url} returned an error: {data['error']}. Check the server log.") from None
        raise GenerationError(
            f"{base_url} replied without choices[0].message ({str(data)[:120]}). "
            "Is it an OpenAI-compatible chat-completions server?"
        ) from None
    if isinstance(content, list):  # some servers return content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content or "")


def _delta_text(event: Any, base_url: str) -> str:
    if isinstance(event, dict) and event.get("error"):
        raise GenerationError(f"{base_url} sent an error in the stream: {event['error']}. Check the server log.")
    try:
        choices = event.get("choices") or []
        if not choices:
            return ""
        delta = choices[0].get("delta") or {}
        return str(delta.get("content") or "")
    except AttributeError:
        raise GenerationError(f"{base_url} sent a malformed stream event ({str(event)[:120]}).") from None


def build(config: Config) -> OpenAIGenerator:
    """Registry factory (``generator`` kind, name ``openai``)."""
    return OpenAIGenerator.from_config(config.generate)


__all__ = ["OpenAIGenerator", "build", "guess_vision", "normalise_base_url", "render_messages"]
