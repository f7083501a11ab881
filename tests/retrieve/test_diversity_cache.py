"""Near-duplicate folding on a video whose scenes repeat; the query cache skips the encoder;
composed queries and negative terms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.retrieve.conftest import SCENES, scene_at

from mmrag.errors import QueryError
from mmrag.query import is_question, split_negatives
from mmrag.types import Channel


def _video_hits(engine, corpus: Path, **kw):  # type: ignore[no-untyped-def]
    return engine.search(image=corpus / "cat.png", k=5, modality="video", feedback=False, **kw)


def test_video_shots_were_cut_per_scene(engine) -> None:  # type: ignore[no-untyped-def]
    assert engine.store.count("modality = 'video' AND channel = 'image'") == len(SCENES)


def test_repeated_shots_fold_to_one_hit_per_scene_in_the_top_5(engine, corpus: Path) -> None:  # type: ignore[no-untyped-def]
    all_hits = _video_hits(engine, corpus, diversify=False)
    scenes_all = [scene_at(h.span.t0) for h in all_hits]
    assert len(set(scenes_all)) < len(scenes_all)  # unfolded, a scene repeats in the top 5
    assert scenes_all[:3] == ["cat.png"] * 3  # the three cat shots lead for the cat photo

    hits = _video_hits(engine, corpus)
    scenes = [scene_at(h.span.t0) for h in hits]
    assert len(scenes) == len(set(scenes)) == len(set(SCENES))  # one hit per scene: cat, coffee, rocket, astronaut
    assert scenes[0] == "cat.png"
    assert len(hits[0].duplicates) == 2  # the other two cat shots are folded under the first
    coffee = hits[scenes.index("coffee.png")]
    assert len(coffee.duplicates) == 1


def test_per_source_caps_hits_per_file(engine, corpus: Path) -> None:  # type: ignore[no-untyped-def]
    hits = engine.search(image=corpus / "cat.png", k=5, diversify=False, per_source=1, feedback=False)
    sources = [h.source for h in hits]
    assert len(sources) == len(set(sources)) == 5


class CountingSpace:
    """The real space, with a count of encoder calls per channel."""

    def __init__(self, space) -> None:  # type: ignore[no-untyped-def]
        self.space, self.calls = space, {c: 0 for c in Channel}

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.space, name)

    def encode(self, channel, items, *, query=False):  # type: ignore[no-untyped-def]
        self.calls[channel] += 1
        return self.space.encode(channel, items, query=query)


def test_repeated_queries_skip_the_encoder_in_memory_and_from_disk(engine, corpus: Path, index_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.retrieve.conftest import cfg

    import mmrag

    counting = CountingSpace(engine.space)
    engine._space = counting
    try:
        first = engine.search("a loaf of sourdough from the oven", k=3, feedback=False)
        assert counting.calls[Channel.TEXT] == 1
        again = engine.search("a loaf of sourdough from the oven", k=3, feedback=False)
        assert counting.calls[Channel.TEXT] == 1  # the second identical query did not call the encoder
        assert [h.segment_id for h in again] == [h.segment_id for h in first]
        engine.search(image=corpus / "rocket.jpg", k=3, feedback=False)
        assert counting.calls[Channel.IMAGE] == 1
        engine.search(image=corpus / "rocket.jpg", k=3, feedback=False)
        assert counting.calls[Channel.IMAGE] == 1  # same bytes: no image encoding
    finally:
        engine._space = counting.space
    assert (index_dir / "mmrag-query-cache.sqlite").is_file()
    # a new process (a fresh engine) finds the vector on disk
    with mmrag.Engine.open(str(index_dir), cfg(index_dir, **{"ingest.ocr": False}), create=False) as fresh:
        c2 = CountingSpace(fresh.space)
        fresh._space = c2
        hits = fresh.search("a loaf of sourdough from the oven", k=3, feedback=False)
        assert c2.calls[Channel.TEXT] == 0
        assert [h.segment_id for h in hits] == [h.segment_id for h in first]
        fresh._space = c2.space


def test_split_negatives() -> None:
    assert split_negatives("striped shirt -red -blue") == ("striped shirt", ("red", "blue"))
    assert split_negatives("temperature -5 degrees") == ("temperature -5 degrees", ())
    assert split_negatives("well-known -x-ray") == ("well-known", ("x-ray",))


def test_a_command_line_option_is_no_negative_term() -> None:
    """A dash-word is an option, kept in the text, when it is one or two letters, names itself an option, or
    stands in a question: "What does the -C option of ls do?" excluded every hit with the letter C."""
    assert split_negatives("What does the -C option of ls do?") == ("What does the -C option of ls do?", ())
    assert split_negatives("what does find -name do") == ("what does find -name do", ())  # a question word, no '?'
    assert split_negatives("ls -la") == ("ls -la", ())
    assert split_negatives("find -name option") == ("find -name option", ())
    assert split_negatives("find -exec flag -slow") == ("find -exec flag", ("slow",))
    assert split_negatives("photos of Lisbon -night") == ("photos of Lisbon", ("night",))  # keyword style: a negative
    assert is_question("Which lamp is brightest") and not is_question("lamp -red")


def test_negative_terms_drop_hits_that_mention_them(engine) -> None:  # type: ignore[no-untyped-def]
    plain = engine.search("baking bread and growing tomatoes", k=3, modality="text", feedback=False)
    assert {Path(h.source).name for h in plain[:2]} == {"bread.txt", "garden.md"}
    hits = engine.search("baking bread and growing tomatoes -tomatoes", k=3, modality="text", feedback=False)
    names = [Path(h.source).name for h in hits]
    assert "garden.md" not in names and names[0] == "bread.txt"
    with pytest.raises(QueryError, match="negative"):
        engine.search("-tomatoes", k=3)


def test_composed_query_moves_between_its_parts(engine, corpus: Path) -> None:  # type: ignore[no-untyped-def]
    q_img = engine.embed_query("a night train to the coast", image=corpus / "cat.png", weights={"text": 0.0, "image": 1.0})
    q_txt = engine.embed_query("a night train to the coast", image=corpus / "cat.png", weights={"text": 1.0, "image": 0.0})
    q_mix = engine.embed_query("a night train to the coast", image=corpus / "cat.png", weights={"text": 0.5, "image": 0.5})
    img = engine.embed_query(image=corpus / "cat.png").vectors["image"]
    txt = engine.embed_query("a night train to the coast").vectors["text"]
    assert list(q_mix.vectors) == ["composed"]
    assert np.allclose(q_img.vectors["composed"], img, atol=1e-5)
    assert np.allclose(q_txt.vectors["composed"], txt, atol=1e-5)
    mix = q_mix.vectors["composed"]
    assert float(mix @ img) > 0.5 and float(mix @ txt) > 0.5
    by_text = engine.search(query=q_txt, k=1, feedback=False)
    by_image = engine.search(query=q_img, k=1, modality="image,video", feedback=False)
    assert Path(by_text[0].source).name == "trains.txt"
    assert Path(by_image[0].source).name in ("cat.png", "film.mp4")
    with pytest.raises(QueryError, match="weigh"):
        engine.embed_query("x", weights={"smell": 1.0})
