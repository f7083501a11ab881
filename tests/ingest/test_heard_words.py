"""``Row.heard``: the words of a recogniser's alternatives that its transcript lacks."""

from __future__ import annotations

from mmrag.ingest.heard_words import SEPARATOR, heard_words


def test_only_the_words_the_transcript_lacks_each_once() -> None:
    also = SEPARATOR.join(["10 of clubs", "ten of close", "Ten of Clubs."])
    assert heard_words("10 of close.", also) == "clubs ten"


def test_nothing_heard_also_nothing_kept() -> None:
    assert heard_words("10 of close.", "") == ""
    assert heard_words("a cat", SEPARATOR.join(["A cat.", "a cat"])) == ""


def test_a_separator_is_not_a_word_and_words_keep_their_first_order() -> None:
    out = heard_words("to ken", SEPARATOR.join(["toucan on a branch", "two can on a branch"]))
    assert out == "toucan on a branch two can" and "/" not in out
