from __future__ import annotations

import pytest

from mmrag import registry
from mmrag.errors import ConfigError
from mmrag.types import Hit, Modality, Segment, Span, format_time


def test_builtin_names_and_register() -> None:
    assert {"clip", "minilm", "auto"} <= set(registry.names("space"))
    assert {"lance", "milvus"} <= set(registry.names("store"))
    registry.register("generator", "my-test-gen", lambda cfg: "built")
    assert registry.resolve("generator", "my-test-gen")(None) == "built"


def test_dotted_path_and_errors() -> None:
    assert registry.resolve("space", "mmrag.types:format_time") is format_time
    with pytest.raises(ConfigError, match="unknown space backend 'nope'. Known: .*clip"):
        registry.resolve("space", "nope")
    with pytest.raises(ConfigError, match="cannot import"):
        registry.resolve("space", "no_such_pkg.mod:thing")
    with pytest.raises(ConfigError, match="unknown backend kind"):
        registry.resolve("planet", "x")


def test_span_labels_and_time_format() -> None:
    assert format_time(75.4) == "01:15"
    assert format_time(3725) == "1:02:05"
    assert format_time(0.44, tenths=True) == "00:00.4" and format_time(59.96, tenths=True) == "01:00.0"
    # a span inside one second says where it is in tenths; longer spans keep whole seconds
    assert Span(t0=0.0, t1=0.4).label() == "00:00.0–00:00.4"
    assert Span(t0=12.2, t1=12.46).label() == "00:12.2–00:12.5"
    assert Span(t0=0.0, t1=4.2).label() == "00:00–00:04"
    assert Span(t0=3.0, t1=3.0).label() == "00:03–00:03"
    assert Span(page=7).label() == "p. 7"
    assert Span(t0=192, t1=221).label() == "03:12–03:41"
    assert Span(start=3, end=9).label() == "chars 3–9"
    hit = Hit("id", "talk.mp4", Modality.VIDEO, Span(t0=192.0, t1=221.0), 1.0)
    assert hit.label() == "talk.mp4 @ 03:12–03:41"
    assert Hit("id", "report.pdf", Modality.TEXT, Span(page=7, start=0, end=5), 1.0).label() == "report.pdf p. 7"
    assert Hit("id", "notes.md", Modality.TEXT, Span(start=0, end=5), 1.0).label() == "notes.md"
    figure = Hit("id", "report.pdf", Modality.IMAGE, Span(page=3), 1.0, meta={"figure": "2"})
    assert figure.label() == "report.pdf p. 3, fig. 2"
    # a plain text file's, a Rich Text document's and subtitles' words are not Markdown; every reader's else
    plain = [Hit("id", "x", Modality.TEXT, Span(), 1.0, meta={"format": f}).is_markdown for f in ("text", "rtf", "subtitles")]
    written = [Hit("id", "x", Modality.TEXT, Span(), 1.0, meta={"format": f}).is_markdown for f in ("markdown", "html", "roff")]
    assert plain == [False] * 3 and written == [True] * 3 and figure.is_markdown


def test_segment_ids_are_stable_and_distinct() -> None:
    a = Segment("/x/a.pdf", Modality.IMAGE, Span(page=2), meta={"part": "fig-1"})
    b = Segment("/x/a.pdf", Modality.IMAGE, Span(page=2), meta={"part": "fig-2"})
    again = Segment("/x/a.pdf", Modality.IMAGE, Span(page=2), text="other", meta={"part": "fig-1"})
    assert a.id != b.id and a.id == again.id and len(a.id) == 24


def test_every_kind_the_sniffer_names_has_a_loader_and_each_loader_says_its_kind() -> None:
    """``ingest.sniffing.KINDS`` repeats the registry's loader names (sniffing may not import the registry):
    a kind added to one list only would sniff files no loader reads, or register a loader nothing sends to."""
    from mmrag.ingest.sniffing import KINDS

    builtin = {name for name in registry.names("loader") if name in registry._BUILTINS["loader"]}
    assert set(KINDS) == builtin | {"records"}  # a catalogue's rows go through ingest/record_ingest.py, not a loader
    for kind in builtin:
        assert kind in registry.resolve("loader", kind).kinds
