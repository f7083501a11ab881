"""Manual pages (roff) read as a reader sees them: headings, options, tables; no markup, nothing run."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest.roff import alias_target, condition, looks_like_roff, roff_markdown, split_args, unescape
from mmrag.ingest.sniffing import MANUAL_ALIAS
from mmrag.ingest.sources import sniff_reason
from mmrag.ingest.text import TextLoader
from mmrag.markdown import as_shown, headings

DATA = Path(__file__).parents[1] / "data" / "roff"
CFG = IngestConfig(ocr=False)
MARKUP = ("\\f", "\\-", "\\(", ".TP", ".SH", ".Op", ".It", "\\fB")


def page(name: str) -> str:
    path = DATA / name
    return (gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()).decode()


def test_real_pages_are_told_from_notes_named_like_them() -> None:
    assert looks_like_roff(page("appres.1"), ".1") and looks_like_roff(page("ssh.1.gz"), ".1")
    assert looks_like_roff(page("xz.1.gz"), ".1") and looks_like_roff(page("xz.1.gz"), ".3pm")
    assert not looks_like_roff(page("xz.1.gz"), ".txt")  # only a manual's name is read as one
    note = "Chapter 1\n\nWe left early. The road was wet.\n.SH is how a man page starts a section.\n"
    assert not looks_like_roff(note, ".1")  # a note named ch.1: its first lines are not requests


def test_a_man_page_reads_as_markdown_with_its_title() -> None:
    text, title = roff_markdown(page("appres.1"))
    assert title == "APPRES(1)"
    lines = text.splitlines()
    assert lines[:3] == ["# NAME", "", "appres - list X application resource database"]
    assert "appres [class [instance]] [-1] [-V] [toolkitoptions]" in lines
    assert ("The appres program prints the resources seen by an application (or subhierarchy of an application) "
            "with the specified class and instance names.") in text
    assert "% appres  XTerm  -name  myxterm" in lines  # a no-fill example keeps its own line
    assert "X(7), xrdb(1), listres(1)" in lines
    assert not [ln for ln in lines if ln.startswith(".") or any(m in ln for m in MARKUP)]


def test_an_mdoc_page_writes_its_macros_as_they_read() -> None:
    text, title = roff_markdown(page("ssh.1.gz"))
    assert title == "SSH(1)"
    lines = text.splitlines()
    assert "ssh — OpenSSH remote login client" in lines
    synopsis = lines[lines.index("# SYNOPSIS") + 2]
    for part in ("ssh [-46AaCfGgKkMNnqsTtVvXxYy]", "[-b bind_address]", "[-D [bind_address:]port]",
                 "[-W host:port]", "[-w local_tun[:remote_tun]]", "destination [command [argument ...]]"):
        assert part in synopsis
    # an option's tag starts what it does, so a sentence quoted from it names the option
    assert "-4: Forces ssh to use IPv4 addresses only." in lines
    assert "-6: Forces ssh to use IPv6 addresses only." in lines
    assert "-4" not in lines
    assert "UNIX-domain sockets" in text and "such as ssh-agent(1)." in text
    assert not [ln for ln in lines if ln.startswith(".") or any(m in ln for m in MARKUP)]


def test_a_tbl_table_is_rows_of_cells() -> None:
    text, title = roff_markdown(page("xz.1.gz"))
    assert title == "XZ(1)"
    lines = text.splitlines()
    header = lines.index("Preset | DictSize | CompCPU | CompMem | DecMem")
    assert lines[header + 1] == "-0 | 256 KiB | 0 | 3 MiB | 1 MiB"
    assert "-6 | 8 MiB | 6 | 94 MiB | 9 MiB" in lines[header:header + 12]
    assert "## Memory usage" in lines  # .SS: a subsection


def test_escapes_are_written_out() -> None:
    line = r"\fBbold\fR \-x \(em \[u00E9]t\[e9] \*(lqq\*(rq \s-1SMALL\s0\h'1n'|\&.\e"
    assert unescape(line) == "bold -x — ét “q” SMALL|.\\"
    assert unescape(r"\*[ver] and \*x", {"ver": "5.2", "x": "X"}) == "5.2 and X"
    assert unescape(r"home \V[HOME] reg \n(.g") == "home  reg "  # the environment and registers are never read
    assert split_args(r'"a b" c "say ""hi""" \fBd e') == ["a b", "c", 'say "hi"', r"\fBd", "e"]


def test_conditions_read_as_nroff_would() -> None:
    assert condition("n .IP x") == (True, ".IP x") and condition("t .IP x") == (False, ".IP x")
    assert condition("!n text") == (False, "text") and condition("'a'a' yes") == (True, "yes")
    assert condition(r"\n(.g .ds Aq \(aq") == (True, r".ds Aq \(aq")
    src = [".TH T 1", ".SH ITEMS", '.ie n .IP "terminal tag" 4', '.el .IP "typeset tag" 4', "body one",
           ".if t \\{\\", "only when typeset", ".\\}", ".if n \\{\\", "only on a terminal", ".\\}"]
    text, _ = roff_markdown("\n".join(src))
    assert "terminal tag" in text and "typeset tag" not in text
    assert "only on a terminal" in text and "only when typeset" not in text


def test_nothing_in_a_page_is_run_or_read_from_elsewhere(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("the launch code is 0000\n")
    hostile = "\n".join([".TH EVIL 1", ".SH NAME", "evil \\- reads files", f".so {secret}", f".cf {secret}",
                         f".ds s {secret}", ".\\*s", ".sy touch " + str(tmp_path / "ran"), "home is \\V[HOME]",
                         ".de X", f".cf {secret}", "..", ".X", ".de Y", "never ended"])
    text, _ = roff_markdown(hostile)
    assert "launch code" not in text and str(tmp_path) not in text and not (tmp_path / "ran").exists()
    assert text == "# NAME\n\nevil - reads files home is\n"  # an unended .de swallows only what follows it


def test_an_alias_page_is_left_out_with_its_target(tmp_path: Path) -> None:
    alias = tmp_path / "unxz.1"
    alias.write_text('.\\" an alias\n.so man1/xz.1\n')
    assert alias_target(alias.read_text()) == "man1/xz.1"
    kind, reason = sniff_reason(alias)
    assert kind is None and reason.startswith(MANUAL_ALIAS) and "man1/xz.1" in reason
    packed = tmp_path / "unlzma.1.gz"
    packed.write_bytes(gzip.compress(b".so man1/xz.1\n"))
    assert sniff_reason(packed)[0] is None  # what is inside the gzip decides


@pytest.mark.parametrize("name", ["appres.1", "ssh.1.gz", "xz.1.gz"])
def test_the_text_loader_indexes_the_words_of_a_page(name: str) -> None:
    segments = list(TextLoader().load(DATA / name, CFG))
    assert segments and {s.meta["format"] for s in segments} == {"man"}
    assert segments[0].meta["title"] == {"appres.1": "APPRES(1)", "ssh.1.gz": "SSH(1)", "xz.1.gz": "XZ(1)"}[name]
    assert not [s for s in segments if any(m in s.text for m in MARKUP)]


def test_a_page_of_nothing_but_requests_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "empty.1"
    empty.write_text(".TH EMPTY 1\n.de X\n..\n.nr a 1\n")
    with pytest.raises(IngestError, match="no words of its own"):
        list(TextLoader().load(empty, CFG))



def test_an_options_tag_starts_its_description() -> None:
    """A sentence quoted from an option's description names the option: ``-k, --keep: Don't delete ...``."""
    text, _ = roff_markdown(page("xz.1.gz"))
    lines = text.splitlines()
    assert "-k, --keep: Don't delete the input files." in lines
    assert not any(line in ("-k, --keep", "-k") for line in lines)
    src = (".TH T 1\n.SH OPTIONS\n.TP\n.B \\-v\n.TQ\n.B \\-\\-verbose\nSay more.\nEven more.\n"
           ".IP \\-ls\nList it.\n.IP \\(bu 2\nA bullet item.\n.TP\n.B \\-\\-example\n.nf\ncode line\n.fi\n"
           ".TP\n.B \\-\\-last\n.SH SEE ALSO\nls(1)\n")
    lines = roff_markdown(src)[0].splitlines()
    assert "-v, --verbose: Say more. Even more." in lines  # .TQ: a second tag of the same item
    assert "-ls: List it." in lines  # a short .IP tag that is an option, not a bullet
    assert "• A bullet item." in lines  # a bullet stays part of its line
    assert lines[lines.index("--example") + 1] == "code line"  # unfilled text after a tag: the tag stays apart
    assert lines[lines.index("--last") + 2] == "# SEE ALSO"  # a tag with no description before a heading


def test_a_tag_ending_in_a_hyphen_keeps_its_colon() -> None:
    lines = roff_markdown(".TH CUT 1\n.TP\nN\\-\nfrom N'th byte to end of line\n.TP\nN\\-M\nfrom N'th to M'th\n")[0].splitlines()
    assert "N-: from N'th byte to end of line" in lines and "N-M: from N'th to M'th" in lines


def test_an_examples_root_prompt_or_comment_is_no_heading() -> None:
    """A manual's example (``# mount -a``, ``# a comment``) and a paragraph that starts with ``#`` are written
    escaped: they never end the section they stand in (``markdown.literal``); nor does a paragraph over an
    example's YAML ``---`` (the readers write no setext headings)."""
    src = (".TH LAMP 8\n.SH EXAMPLES\nMount it first:\n.nf\n# mount -a\n# lamp --on\n.fi\n.PP\n# is the root prompt.\n"
           ".PP\nIt writes YAML:\n.nf\n---\nmode: on\n.fi\n.SH SEE ALSO\nhorn(8)\n")  # a line over "---": no title
    text, _ = roff_markdown(src)
    assert [(lvl, w) for _, lvl, w in headings(text)] == [(1, "EXAMPLES"), (1, "SEE ALSO")]
    assert "\\# mount -a" in text.splitlines() and "\\# is the root prompt." in text.splitlines()
    assert "# mount -a" in as_shown(text).splitlines()  # shown as written
