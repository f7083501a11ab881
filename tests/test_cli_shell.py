"""A CLI a shell can trust: escaped names, one exit-code table, plain progress, real install hints."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmrag.cli import _options_of, app, dash_queries, dash_word
from mmrag.cli_output import progress_printer, safe

ROOT = Path(__file__).resolve().parents[1]
ENV = {"MMRAG_SPACE_NAME": "minilm", "COLUMNS": "200"}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=ENV)
    return result.exit_code, result.stdout, result.stderr


def test_safe_shows_control_characters_visibly() -> None:
    assert safe("plain name (1).txt") == "plain name (1).txt"
    assert safe("C:\\docs\\é ü 日本.txt") == "C:\\docs\\é ü 日本.txt"  # printable text untouched
    assert safe("two\nlines.txt") == "two\\nlines.txt"
    assert safe("\x1b[31mred\x1b[0m.txt") == "\\x1b[31mred\\x1b[0m.txt"
    assert safe("tab\there\r\x00\x7f\x9b") == "tab\\there\\r\\x00\\x7f\\x9b"
    assert safe("evil\u202etxt.exe") == "evil\\u202etxt.exe"  # right-to-left override
    assert "\n" not in safe("a\u2028b") and "\\u2028" in safe("a\u2028b")


def test_progress_printer_prints_plain_lines() -> None:
    lines: list[str] = []

    class Sink:
        def print(self, text: str, **_: object) -> None:
            lines.append(text)

    step = progress_printer(Sink(), "migrating", every_s=3600)
    for done in (1, 2, 3, 4):
        step(done, 4)
    assert lines == ["migrating: 1/4 rows (25%)", "migrating: 4/4 rows (100%)"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    (root / "ok.txt").write_text("The ferry to the island leaves at noon from pier 3.", encoding="utf-8")
    (root / "two\nlines.txt").write_text("A kettle whistles when the water boils.", encoding="utf-8")
    (root / "\x1b[31mred\x1b[0m.txt").write_text("Red paint dries slowly in cold weather.", encoding="utf-8")
    return root


def test_hostile_names_are_escaped_in_every_listing(hostile: Path, tmp_path: Path) -> None:
    index = str(tmp_path / "idx")
    code, out, err = run("add", str(hostile), "--index", index)
    assert code == 0, out + err
    code, out, _ = run("search", "boiling water kettle", "--index", index, "-k", "3")
    assert code == 0
    result_lines = [line for line in out.splitlines() if re.match(r"\s*\d+\s+-?\d", line)]
    assert len(result_lines) == 3  # one line per hit: no name split a line
    assert any("two\\nlines.txt" in line for line in result_lines)
    assert "\x1b" not in out and "\\x1b[31mred\\x1b[0m.txt" in out
    code, out, _ = run("sources", "--index", index)
    assert code == 0 and "\x1b" not in out and "two\\nlines.txt" in out
    assert len([line for line in out.splitlines() if "segment(s)" in line]) == 3
    code, out, _ = run("remove", str(hostile / "two\nlines.txt"), "--index", index)
    assert code == 0 and "removed" in out and "two\\nlines.txt" in out and "two\nlines" not in out
    code, out, _ = run("sources", "--index", index, "--json")  # JSON keeps the true name
    assert sorted(Path(s["source"]).name for s in json.loads(out)) == ["\x1b[31mred\x1b[0m.txt", "ok.txt"]


def test_exit_codes_follow_one_table(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(7):
        (docs / f"note{i}.txt").write_text(f"Note {i} is about topic number {i}.", encoding="utf-8")
    for i in range(3):
        (docs / f"junk{i}.bin").write_bytes(bytes(range(256)) * 4)
    index = tmp_path / "idx"

    code, _, err = run("add", str(tmp_path / "missing"), "--index", str(index))
    assert code == 2 and "no such file" in err and "missing" in err
    assert not index.exists()  # a usage error creates nothing

    code, out, _ = run("add", str(docs), "--index", str(index), "--json")
    assert code == 1  # 7 of 10 landed, 3 failed: partly done
    report = json.loads(out)
    assert len(report["added"]) == 7 and len(report["failed"]) == 3

    code, _, _ = run("add", str(docs / "junk0.bin"), "--index", str(index))
    assert code == 1  # 1 of 1 failed: still "some files failed"
    code, _, _ = run("add", str(docs / "note0.txt"), "--index", str(index))
    assert code == 0  # all good (unchanged)
    code, _, _ = run("remove", str(docs / "never-added.txt"), "--index", str(index))
    assert code == 1
    code, _, err = run("search", "x", "--index", str(tmp_path / "no-index"))
    assert code == 2 and "no mmrag index" in err
    code, _, _ = run("search", "x", "--index", str(index), "--fusion", "best")
    assert code == 2
    code, _, _ = run("search", "x", "--index", str(index), "--where", "nope = 1")
    assert code == 2
    code, _, _ = run("info", "--index", str(index), "--no-such-flag")
    assert code == 2


def test_add_prints_plain_progress_lines_into_a_pipe(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(3):
        (docs / f"n{i}.txt").write_text(f"Plain progress note {i}.", encoding="utf-8")
    bad = "S-40,One,cell too many\nS-41,Two,cells,too many\n"  # two bad rows: reported, not counted as files
    (docs / "shop.csv").write_text("sku,title\n" + "".join(f"S-{i},Plain item {i}\n" for i in range(40)) + bad, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "mmrag.cli", "add", str(docs), "--index", str(tmp_path / "idx")],
        check=False, capture_output=True, text=True, timeout=600,
        env={**os.environ, **ENV, "PYTHONPATH": str(ROOT / "src"), "MMRAG_SPACE_BATCH_SIZE": "2"},  # 8-row batches
    )
    assert result.returncode == 1, result.stderr  # partly done: two rows failed
    progress = [line for line in result.stderr.splitlines() if line.startswith("indexing ")]
    assert progress and progress[0].startswith("indexing 1/4 files: ") and progress[-1].startswith("indexing 4/4 files: ")
    assert all(" 5/4 " not in line and " 6/4 " not in line for line in progress)
    assert "shop.csv row 41: has 3 cells but the header has 2" in " ".join(result.stderr.split())
    assert "failed 0 file(s), 2 row problem(s) reported above; 43 segment(s) indexed" in result.stdout, result.stdout
    # a catalogue's rows are the slow part of a big add: they print plain lines too (first, then every 10 s, last)
    rows = [line for line in result.stderr.splitlines() if line.startswith("rows of shop.csv: ")]
    assert rows and rows[0].startswith("rows of shop.csv: 8/") and rows[-1] == "rows of shop.csv: 42/42 rows (100%)", rows
    assert "\r" not in result.stderr and "\x1b[" not in result.stderr  # no redrawn bar, no colours


def _extras() -> dict[str, list[str]]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def _provided(extra: str, extras: dict[str, list[str]], core: list[str]) -> set[str]:
    names: set[str] = {re.split(r"[<>=!~;\[ ]", d, maxsplit=1)[0].lower() for d in core}
    todo, seen = [extra], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for dep in extras[name]:
            m = re.match(r"mmrag\[([^\]]+)\]", dep)
            if m:
                todo.extend(x.strip() for x in m.group(1).split(","))
            else:
                names.add(re.split(r"[<>=!~;\[ ]", dep, maxsplit=1)[0].lower())
    return names


def test_every_install_hint_names_an_extra_that_provides_the_package() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras, core = pyproject["project"]["optional-dependencies"], pyproject["project"]["dependencies"]
    hints: list[tuple[str, str, str | None]] = []  # (where, extra, package)
    for path in sorted((ROOT / "src").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r'MissingDependency\(\s*"([^"]+)",\s*"([^"]+)"', text):
            hints.append((f"{path.name}: {m.group(0)}", m.group(2), m.group(1)))
        for m in re.finditer(r"mmrag\[([a-z0-9_,-]+)\]", text):
            if path.name != "errors.py":
                hints += [(f"{path.name}: {m.group(0)}", x.strip(), None) for x in m.group(1).split(",")]
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for m in re.finditer(r"mmrag\[([a-z0-9_,-]+)\]", path.read_text(encoding="utf-8")):
            hints += [(f"{path.name}: {m.group(0)}", x.strip(), None) for x in m.group(1).split(",")]
    assert len(hints) > 10
    for where, extra, package in hints:
        assert extra in extras, f"{where} names extra [{extra}], which pyproject.toml does not define"
        if package is not None:
            assert package.lower() in _provided(extra, extras, core), f"{where}: [{extra}] does not install {package}"


def test_a_long_message_into_a_pipe_stays_one_line(tmp_path: Path) -> None:
    """Rich wraps at 80 columns when it cannot ask a terminal; in a log or under grep a message is one line."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a-file-with-a-rather-long-name-of-unknown-bytes.bin").write_bytes(bytes(range(256)) * 40)
    (docs / "note.txt").write_text("A short note.", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    result = subprocess.run(
        [sys.executable, "-m", "mmrag.cli", "add", str(docs), "--index", str(tmp_path / "idx")],
        check=False, capture_output=True, text=True, timeout=600,
        env={**env, "MMRAG_SPACE_NAME": "minilm", "PYTHONPATH": str(ROOT / "src")},
    )
    assert result.returncode == 1, result.stderr  # the .bin failed, the note landed
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped ")]
    assert len(skipped) == 1 and len(skipped[0]) > 120, result.stderr
    from mmrag.ingest.sniffing import NOT_INDEXED

    assert skipped[0].endswith(f"is {NOT_INDEXED}") and NOT_INDEXED.endswith("records)")  # the whole list, unwrapped


def test_dash_queries_pass_a_query_that_starts_with_a_dash() -> None:
    assert dash_queries(["search", "-C option of tar", "-k", "3"]) == ["search", " -C option of tar", "-k", "3"]
    assert dash_queries(["ask", "--index", "idx", "-la in ls"]) == ["ask", "--index", "idx", " -la in ls"]
    assert dash_queries(["add", "-odd folder"]) == ["add", "-odd folder"]  # a path, not a query: as typed
    assert dash_queries(["search", "--where=page > 3", "x"]) == ["search", "--where=page > 3", "x"]  # an option
    assert dash_queries(["search", "-C"]) == ["search", "-C"]  # one word: `mmrag search -- -C`


def test_dash_word_names_a_one_word_dash_query_click_would_reject() -> None:
    options = _options_of("search")
    assert options["-k"] and options["--where"] and not options["--json"]  # -k and --where take a value
    assert dash_word(["search", "-C"], options) == "-C"
    assert dash_word(["ask", "--index", "idx", "-la"], _options_of("ask")) == "-la"
    assert dash_word(["search", "-k", "3", "-x"], options) == "-x"
    assert dash_word(["search", "-k3", "-v"], options) == "-v"  # -k3: the option and its value
    assert dash_word(["search", "-k", "-3", "tar"], options) is None  # a value, Click's to judge
    assert dash_word(["search", "--where", "-x", "y"], options) is None
    assert dash_word(["search", "tar", "--", "-C"], options) is None  # the way it is done
    assert dash_word(["search", "--limit", "3"], options) is None  # a long option: Click's "No such option"
    assert dash_word(["search", " -C option of tar"], options) is None  # dash_queries passed it on
    assert dash_word(["add", "-C"], options) is None


def test_a_query_that_starts_with_a_dash_is_searched(tmp_path: Path) -> None:
    """``mmrag search "-C option of tar"`` was Click's "No such option: -C"; through the real entry point it is
    the query, and the option's entry is found."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tar.md").write_text("# TAR(1)\n\n## OPTIONS\n\n-C, --directory=DIR: Change to DIR before anything else.\n\n"
                                 "-c, --create: Make a new archive.\n", encoding="utf-8")
    index = str(tmp_path / "idx")
    assert run("add", str(docs), "--index", index)[0] == 0
    result = subprocess.run(
        [sys.executable, "-m", "mmrag.cli", "search", "-C option of tar", "--index", index, "-k", "1", "--json"],
        check=False, capture_output=True, text=True, timeout=600, env={**os.environ, **ENV, "PYTHONPATH": str(ROOT / "src")},
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["query"] == "-C option of tar"
    (hit,) = found["hits"]
    assert hit["source"].endswith("tar.md") and "-C, --directory=DIR" in hit["text"]
    env = {**os.environ, **ENV, "PYTHONPATH": str(ROOT / "src")}
    typed = subprocess.run([sys.executable, "-m", "mmrag.cli", "search", "-C", "--index", index],
                           check=False, capture_output=True, text=True, timeout=600, env=env)
    assert typed.returncode == 2 and "put -- before it: mmrag search -- -C" in typed.stderr, typed.stderr
    word = subprocess.run([sys.executable, "-m", "mmrag.cli", "search", "--index", index, "-k", "1", "--json", "--", "-C"],
                          check=False, capture_output=True, text=True, timeout=600, env=env)
    assert word.returncode == 0, word.stderr
    assert "-C, --directory=DIR" in json.loads(word.stdout)["hits"][0]["text"]
