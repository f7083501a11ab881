"""``option_terms``: command-line options as tokens a full-text index keeps whole, and ``search_words``."""

from __future__ import annotations

import re

from mmrag.ingest.heard_words import SEPARATOR, search_words
from mmrag.option_terms import (
    MAX_TERMS,
    ascii_dashes,
    defines,
    leads_with_option,
    option_key,
    option_terms,
    option_token,
    options,
    with_option_terms,
)
from mmrag.stores.common import tokenize


def test_an_option_is_found_where_a_text_names_it_and_nowhere_else() -> None:
    text = ("Use **-C** dir or `-c`, (-l), --dry-run and --indicator-style=WORD; not e-mail, x-1, a list's\n"
            "- item, a rule ---, an arrow --> or a range 3-5.")
    assert options(text) == ["-C", "-c", "-l", "--dry-run", "--indicator-style"]
    assert options("no dash at all") == []


def test_each_option_is_one_token_of_its_own() -> None:
    tokens = [option_token(o) for o in ("-C", "-c", "-0c", "--dry-run", "--dry_run", "--dryrun", "-dry-run")]
    assert len(set(tokens)) == len(tokens)  # case, dashes, '-' and '_' all tell options apart
    assert option_token("-C") == "mmo10c7" and option_token("-c") == "mmo1c7"
    for token in tokens:  # letters and digits only, ending with a digit: every tokenizer keeps it whole, no stemmer cuts it
        assert re.fullmatch(r"[a-z0-9]+[0-9]", token) and tokenize(token) == [token] and len(token) <= 36
    long = option_token("--dereference-command-line-symlink-to-dir")
    assert len(long) <= 36 and long != option_token("--dereference-command-line-symlink-to-file")


def test_a_long_option_is_one_in_any_case_a_short_one_keeps_its_case() -> None:
    assert option_key("--Verbose") == option_key("--verbose") == "--verbose"
    assert option_key("-C") != option_key("-c")
    assert option_terms("--Verbose or --verbose, -v or -V") == [option_token("--verbose"), option_token("-v"), option_token("-V")]


def test_a_text_gives_each_option_once_and_at_most_max_terms() -> None:
    assert option_terms("-a -b -a --all -b") == [option_token(o) for o in ("-a", "-b", "--all")]
    many = " ".join(f"--opt{i}" for i in range(MAX_TERMS + 50))
    assert len(option_terms(many)) == MAX_TERMS


def test_a_query_searches_a_short_option_by_its_token_only() -> None:
    assert with_option_terms("What does the -C option of ls do?") == f"What does the option of ls do? {option_token('-C')}"
    assert with_option_terms("xz --keep") == f"xz --keep {option_token('--keep')}"  # a long option's word stays
    assert with_option_terms("how do I bake bread") == "how do I bake bread"


def test_search_words_hold_what_was_heard_and_the_options() -> None:
    assert search_words("-C DIR: go into DIR first. See also -c.", "") == f"{option_token('-C')} {option_token('-c')}"
    assert search_words("Go into the folder.", "") == ""
    heard = search_words("to ken -x", SEPARATOR.join(["toucan -x", "to ken"]))
    assert heard == f"toucan {option_token('-x')}"  # a recording's other hearings, then its options


def test_an_entry_is_a_line_that_starts_with_the_option_s_tag() -> None:
    text = "-m: fill width\n\n-S: sort by file size, largest first\n\n-C, --directory=DIR: go into DIR\n\nsee -k for more: it"
    assert defines(text, {"-S"}) and defines(text, {"--directory"}) and defines(text, {"-C", "-x"})
    assert not defines(text, {"-s"})  # another option: case counts
    assert not defines(text, {"-k"})  # only mentioned
    assert defines("**-C** *DIR*: go into DIR", {"-C"})  # as a manual's bold tag reads
    assert defines("Options:\n\n-L\n: follow links", {"-L"}) and not defines("-L\n\n: follow links", {"-L"})  # a term over its ": "
    assert not defines(text, set()) and not defines("no options here: none", {"-S"})


def test_a_typeset_option_is_the_one_people_type() -> None:
    # groff and TeX write an option's dashes as minus signs, a word processor a double dash as an en dash
    assert options("\u2212C, \u2212\u2212directory=DIR and \u2013help or \u2014verbose") == ["-C", "--directory", "--help", "--verbose"]
    assert option_terms("\u2212\u2212all") == option_terms("--all") and option_terms("\u2212C") == [option_token("-C")]
    assert options("pages 10\u201320, a \u2013 b, x\u2212y") == []  # a range, a dash between words, a minus: none
    assert ascii_dashes("\u2212a, \u2212\u2212all") == "-a, --all" and ascii_dashes("plain -x") == "plain -x"
    assert defines("\u2212C, \u2212\u2212directory=DIR: change to DIR", {"-C"})
    assert with_option_terms("what does \u2212C do") == f"what does do {option_token('-C')}"
    assert leads_with_option("\u2212\u2212all") and leads_with_option("-C DIR") and leads_with_option("\u2013help")
    assert not leads_with_option("- item") and not leads_with_option("see -C") and not leads_with_option("")


def test_an_operator_is_one_token_of_its_own() -> None:
    """``%``, ``!=``, ``?`` standing alone are tokens no word can equal, each distinct operator once; a query's
    go after its text, and a question's own "?" is no operator."""
    from mmrag.operators import MAX_OPERATOR_TERMS, operator_terms, operator_token, with_operator_terms

    assert [operator_token(o) for o in ("%", "!=", "?", "??", ">=", "=>")] == \
        ["mmpb7", "mmpai7", "mmpn7", "mmpnn7", "mmpji7", "mmpij7"]
    assert all(tokenize(operator_token(o)) == [operator_token(o)] for o in ("%", "<<=", "~", "^", "&&"))
    assert operator_terms("x % y, then x % z; a != b and `!=` again; 50% of x==y, a - b | c") == ["mmpb7", "mmpai7"]
    assert with_operator_terms("What does the ? operator do?") == "What does the ? operator do? mmpn7"
    assert with_operator_terms("What does it do?") == "What does it do?"
    assert operator_terms("Operator: ?; Example: expr?; Explanation: Error propagation") == ["mmpn7"]
    assert operator_terms("What does `?` do, and (?)") == ["mmpn7"]
    assert operator_terms("What is the meaning of ' '?") == []  # a quote closed, then the question's own "?"
    assert len(operator_terms(" ".join(a + b for a in "!%&+<=>^~" for b in "!%&+<=>^~"))) == MAX_OPERATOR_TERMS
    assert search_words("a % b", "") == "mmpb7" and search_words("-C: x % y", "") == f"{option_token('-C')} mmpb7"
