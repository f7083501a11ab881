"""The ``local`` backend.

Fast tests run the real loading / rendering / streaming code on a tiny GPT-2 the
test builds itself (random weights: only the mechanics are asserted). The slow
tests run the real Gemma 3 270M base model converted by ``scripts/prepare_gemma.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mmrag.config import Config, GenerateConfig
from mmrag.errors import ConfigError, ModelNotFound
from mmrag.generate import backend_name, build_generator, build_prompt
from mmrag.generate.base import StopTrimmer, cut_at_stop
from mmrag.generate.local import (
    GGUF_NAME,
    HF_DIR_NAME,
    LocalGenerator,
    ModelRef,
    is_base_template,
    resolve_model,
)
from mmrag.types import Hit, Modality, Span

REPO = Path(__file__).resolve().parents[2]
GEMMA_HF = Path(os.environ.get("MMRAG_GEMMA_HF", REPO / ".cache" / "models" / HF_DIR_NAME))
ROLE_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    """A 1-layer GPT-2 with a byte-level BPE trained here, saved like any HF folder."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-lm")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<s>", "</s>", "<pad>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(["The Eiffel Tower is 330 metres tall. Question: Answer: Sources: [1] [2]"] * 20, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    fast.save_pretrained(folder)
    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=len(fast), n_positions=1024, n_embd=32, n_layer=1, n_head=2,
                     bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id)
    GPT2LMHeadModel(cfg).save_pretrained(folder)
    return folder


@pytest.fixture
def prompt():
    hits = [
        Hit("t1", "notes/tower.md", Modality.TEXT, Span(start=0, end=60), 0.9,
            text="The Eiffel Tower is 330 metres tall and stands in Paris."),
        Hit("i1", "photos/cat.jpg", Modality.IMAGE, Span(), 0.5, text="A grey cat sleeping on a sofa.", has_thumbnail=True),
    ]
    return build_prompt("How tall is the Eiffel Tower?", hits, vision=False)


def test_stop_trimmer_holds_back_partial_stops_and_cuts():
    t = StopTrimmer(("\nQuestion:", "\n\n"))
    out = [t.feed(d) for d in ["It is ", "tall.", "\n", "Quest", "ion: more"]]
    assert out == ["It is ", "tall.", "", "", ""] and t.done
    assert t.feed("ignored") == "" and t.finish() == ""
    t2 = StopTrimmer(("\nQuestion:",))
    assert t2.feed("a\nQu") == "a" and t2.feed("iet") == "\nQuiet" and t2.finish() == ""
    t3 = StopTrimmer(("\n\n",))
    assert t3.feed("end\n") == "end" and t3.finish() == "\n"
    assert cut_at_stop("330 m.\n\nQuestion: next", ["\nQuestion:", "\n\n"]) == "330 m."
    assert cut_at_stop("plain", ["\n\n"]) == "plain"


def test_is_base_template():
    assert is_base_template(None) and is_base_template("{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}")
    assert not is_base_template(ROLE_TEMPLATE)


def test_resolve_model_order(tmp_path, tiny_model_dir, monkeypatch):
    env = {"MMRAG_MODELS_DIR": str(tmp_path)}
    monkeypatch.chdir(tmp_path)  # keep the repo's own ./.cache/models out of the search
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_model(str(tiny_model_dir), env) == ModelRef(str(tiny_model_dir))
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    assert resolve_model(str(gguf), env) == ModelRef(str(tmp_path), "m.gguf")
    assert resolve_model("org/some-model", env) == ModelRef("org/some-model", None, "hub")
    with pytest.raises(ModelNotFound, match="does not exist"):
        resolve_model(str(tmp_path / "nope.gguf"), env)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ModelNotFound, match="not a .gguf model"):
        resolve_model(str(tmp_path / "notes.txt"), env)
    with pytest.raises(ModelNotFound, match="no config.json"):
        resolve_model(str(tmp_path), env)
    # default: converted folder first, then a GGUF, in MMRAG_MODELS_DIR
    (tmp_path / GGUF_NAME).write_bytes(b"GGUF")
    assert resolve_model(None, env) == ModelRef(str(tmp_path), GGUF_NAME, "cache")
    (tmp_path / HF_DIR_NAME).mkdir()
    (tmp_path / HF_DIR_NAME / "config.json").write_text("{}")
    assert resolve_model(None, env) == ModelRef(str(tmp_path / HF_DIR_NAME), None, "cache")


def test_tiny_model_streams_and_answers_with_checked_citations(tiny_model_dir, prompt):
    gen = build_generator(Config(generate=GenerateConfig(
        backend="local", model=str(tiny_model_dir), max_new_tokens=12, temperature=0.0)))
    assert isinstance(gen, LocalGenerator) and gen.name == f"local:{tiny_model_dir.name}" and gen.vision is False
    tokenizer, _ = gen.load()
    ids, base = gen.render(prompt, tokenizer)
    assert base and ids[0] == tokenizer.bos_token_id
    assert tokenizer.decode(ids[1:]) == prompt.as_text()
    deltas = list(gen.stream(prompt))
    assert all(isinstance(d, str) for d in deltas)
    text = "".join(deltas)
    assert "\n\n" not in text and "\nQuestion:" not in text  # base-model stops applied
    assert 1 <= len(deltas) <= 12  # at most one delta per generated token (max_new_tokens=12)
    answer = gen.generate(prompt)
    assert answer.generator == gen.name
    assert answer.text == text.strip()  # greedy: same text both ways
    assert {c.number for c in answer.citations} <= {1, 2}
    assert answer.timings["generate_s"] > 0


def test_chat_template_is_used_when_the_model_has_roles(tiny_model_dir, tmp_path, prompt):
    import shutil

    folder = tmp_path / "chat-lm"
    shutil.copytree(tiny_model_dir, folder)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    tok.chat_template = ROLE_TEMPLATE
    tok.save_pretrained(folder)
    gen = LocalGenerator(resolve_model(str(folder)), max_new_tokens=4)
    tokenizer, _ = gen.load()
    ids, base = gen.render(prompt, tokenizer)
    assert not base
    text = tokenizer.decode(ids[1:])
    assert text.startswith("<|system|>" + prompt.system) and text.endswith("<|assistant|>")
    assert f"<|user|>{prompt.user_text()}" in text


def test_backend_selection_and_errors(tmp_path, monkeypatch):
    assert backend_name(Config()) == "extractive"
    assert backend_name(Config(generate=GenerateConfig(base_url="http://h:1/v1"))) == "openai"
    assert backend_name(Config(generate=GenerateConfig(backend="Local"))) == "local"
    with pytest.raises(ConfigError, match="unknown generator backend 'nope'"):
        build_generator(Config(generate=GenerateConfig(backend="nope")))
    with pytest.raises(ModelNotFound, match="does not exist"):
        build_generator(Config(generate=GenerateConfig(backend="local", model=str(tmp_path / "missing.gguf"))))


@pytest.mark.slow
def test_real_gemma_answers_from_the_context(prompt):
    if not (GEMMA_HF / "config.json").is_file():
        pytest.skip(f"{GEMMA_HF} missing: run `python scripts/prepare_gemma.py` first")
    gen = build_generator(Config(generate=GenerateConfig(
        backend="local", model=str(GEMMA_HF), max_new_tokens=24, temperature=0.0)))
    deltas = list(gen.stream(prompt))
    assert len(deltas) >= 3
    answer = gen.generate(prompt)
    assert "330" in answer.text, answer.text
    assert answer.text == "".join(deltas).strip()
    assert "Question:" not in answer.text
    # the base model writes no [n]; post-hoc attribution cites the source holding the answer
    assert [c.number for c in answer.citations] == [1], answer.text
    assert answer.citations[0].hit.source == "notes/tower.md"


def test_prepare_gemma_chat_template_renders_bos_and_both_content_forms(tiny_model_dir):
    """The template scripts/prepare_gemma.py installs: BOS, then message texts split by a blank line."""
    import importlib.util

    from transformers import AutoTokenizer

    spec = importlib.util.spec_from_file_location("prepare_gemma", REPO / "scripts" / "prepare_gemma.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    tok.chat_template = module.CHAT_TEMPLATE
    messages = [
        {"role": "system", "content": "Answer from the sources."},
        {"role": "user", "content": [{"type": "text", "text": "Sources: [1] x\n"},
                                     {"type": "image_url", "image_url": {"url": "data:..."}},
                                     {"type": "text", "text": "Question: q\nAnswer:"}]},
    ]
    text = tok.apply_chat_template(messages, tokenize=False)
    assert text == "<s>Answer from the sources.\n\nSources: [1] x\nQuestion: q\nAnswer:"
    assert is_base_template(module.CHAT_TEMPLATE)
