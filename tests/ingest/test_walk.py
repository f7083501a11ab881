"""Walking folders: order, hidden entries, symlinks and loops, failures, hostile names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mmrag.config import IngestConfig
from mmrag.ingest import sources
from mmrag.ingest.sources import SourceFile, WalkFailure, scan, walk


def touch(path: Path, text: str = "some text\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def make_tree(root: Path, names: list[str]) -> Path:
    """Files at these paths under ``root`` (folders made as needed)."""
    for name in names:
        touch(root / name)
    return root


def rel(items: list[Path | WalkFailure], root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in items if isinstance(p, Path)]


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "root", ["b.txt", "a.txt", "sub/z.md", "sub/deeper/y.md", "sub/.secret.txt", ".git/config", "c/x.txt"])


def test_order_is_deterministic_and_hidden_is_skipped(tree: Path, cfg: IngestConfig) -> None:
    got = rel(list(walk(tree, cfg)), tree)
    assert got == ["a.txt", "b.txt", "c/x.txt", "sub/z.md", "sub/deeper/y.md"]
    assert rel(list(walk([tree], cfg)), tree) == got  # a list of paths works the same


def test_include_hidden(tree: Path) -> None:
    got = rel(list(walk(tree, IngestConfig(include_hidden=True))), tree)
    assert ".git/config" in got and "sub/.secret.txt" in got
    assert len(got) == 7


def test_explicit_hidden_file_is_taken(tree: Path, cfg: IngestConfig) -> None:
    assert list(walk(tree / "sub/.secret.txt", cfg)) == [tree / "sub/.secret.txt"]


def test_missing_path_is_a_failure_item_and_the_rest_goes_on(tree: Path, cfg: IngestConfig) -> None:
    items = list(walk([tree / "nope.txt", tree / "a.txt"], cfg))
    assert isinstance(items[0], WalkFailure) and "no such file" in items[0].reason
    assert items[1] == tree / "a.txt"


def test_unlistable_folder_is_a_failure_item(
    tree: Path, cfg: IngestConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.scandir
    blocked = str(tree / "sub")

    def scandir(path):  # type: ignore[no-untyped-def]
        if str(path) == blocked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(sources.os, "scandir", scandir)
    items = list(walk(tree, cfg))
    failures = [i for i in items if isinstance(i, WalkFailure)]
    assert [f.path for f in failures] == [tree / "sub"]
    assert "permission denied" in failures[0].reason
    assert rel(items, tree) == ["a.txt", "b.txt", "c/x.txt"]


def test_symlinks_not_followed_by_default(tmp_path: Path, cfg: IngestConfig) -> None:
    outside = touch(tmp_path / "outside" / "o.txt")
    root = tmp_path / "root"
    touch(root / "a.txt")
    (root / "link.txt").symlink_to(outside)
    (root / "linkdir").symlink_to(outside.parent, target_is_directory=True)
    assert rel(list(walk(root, cfg)), root) == ["a.txt"]
    followed = rel(list(walk(root, IngestConfig(follow_symlinks=True))), root)
    assert followed == ["a.txt", "link.txt", "linkdir/o.txt"]


def test_symlink_loops_terminate(tmp_path: Path) -> None:
    root = tmp_path / "root"
    touch(root / "d" / "f.txt")
    (root / "d" / "up").symlink_to(root, target_is_directory=True)  # loop to an ancestor
    (root / "d" / "self").symlink_to(root / "d", target_is_directory=True)
    (root / "e").symlink_to(root / "d", target_is_directory=True)  # same folder twice
    got = rel(list(walk(root, IngestConfig(follow_symlinks=True))), root)
    assert got == ["d/f.txt"]  # every real folder is walked once


def test_broken_symlink_reported_when_following(tmp_path: Path) -> None:
    root = tmp_path / "root"
    touch(root / "a.txt")
    (root / "dangling").symlink_to(root / "gone.txt")
    items = list(walk(root, IngestConfig(follow_symlinks=True)))
    assert items[0] == root / "a.txt"
    assert isinstance(items[1], WalkFailure) and "broken symlink" in items[1].reason


def test_exclude_skips_the_index_folder(tree: Path, cfg: IngestConfig) -> None:
    touch(tree / "my-index" / "data.lance")
    got = rel(list(walk(tree, cfg, exclude=[tree / "my-index"])), tree)
    assert not any(g.startswith("my-index") for g in got)
    assert "a.txt" in got
    assert list(walk(tree / "my-index", cfg, exclude=[tree / "my-index"])) == []
    assert rel(list(walk(tree, cfg, exclude=tree / "my-index")), tree) == got  # one path works too


def test_same_file_twice_is_yielded_once(tree: Path, cfg: IngestConfig) -> None:
    items = list(walk([tree / "a.txt", tree, tree / "a.txt"], cfg))
    assert items.count(tree / "a.txt") == 1


def test_pipes_are_refused_explicitly_and_skipped_in_folders(tmp_path: Path, cfg: IngestConfig) -> None:
    touch(tmp_path / "a.txt")
    os.mkfifo(tmp_path / "pipe")
    items = list(walk(tmp_path, cfg))
    assert items == [tmp_path / "a.txt"]
    (fail,) = list(walk(tmp_path / "pipe", cfg))
    assert isinstance(fail, WalkFailure) and "not a regular file" in fail.reason


HOSTILE = [
    "with space.txt",
    "\u00fcn\u00efc\u00f8d\u00e9 \u65e5\u672c\u8a9e.txt",
    "new\nline.txt",
    "-rf",
    "--help.md",
    "semi;colon $(rm -rf) `x` 'q'\".txt",
    "n" * 250 + ".txt",  # near the 255-byte name limit
    "\u202eright-to-left.txt",
]


def test_hostile_names_walk_sniff_and_hash(tmp_path: Path, cfg: IngestConfig) -> None:
    for i, name in enumerate(HOSTILE):
        touch(tmp_path / name, f"content number {i}\n")
    items = list(scan(tmp_path, cfg))
    assert all(isinstance(i, SourceFile) for i in items), items
    assert sorted(i.path.name for i in items if isinstance(i, SourceFile)) == sorted(HOSTILE)
    assert {i.kind for i in items if isinstance(i, SourceFile)} == {"text"}
    assert len({i.hash for i in items if isinstance(i, SourceFile)}) == len(HOSTILE)


def test_undecodable_name_is_a_failure_item(tmp_path: Path, cfg: IngestConfig) -> None:
    bad = os.fsdecode(b"bad\xffname.txt")
    try:
        touch(tmp_path / bad)
    except (OSError, UnicodeError):
        pytest.skip("file system refuses non-UTF-8 names")
    touch(tmp_path / "good.txt")
    items = list(walk(tmp_path, cfg))
    fails = [i for i in items if isinstance(i, WalkFailure)]
    assert len(fails) == 1 and "UTF-8" in fails[0].reason
    assert tmp_path / "good.txt" in items


def test_scan_reports_bad_files_without_stopping(tmp_path: Path, cfg: IngestConfig) -> None:
    touch(tmp_path / "a.txt")
    (tmp_path / "b-empty.txt").write_bytes(b"")
    (tmp_path / "c.bin").write_bytes(bytes(range(256)) * 4)
    touch(tmp_path / "d.md", "# Doc\n")
    items = list(scan(tmp_path, cfg))
    assert [type(i).__name__ for i in items] == ["SourceFile", "WalkFailure", "WalkFailure", "SourceFile"]
    assert "empty" in items[1].reason  # type: ignore[union-attr]
    assert "not a type mmrag indexes" in items[2].reason  # type: ignore[union-attr]


# ---------------------------------------------------------------- --exclude patterns and .mmragignore files


@pytest.fixture()
def site(tmp_path: Path) -> Path:
    """A documentation build as Sphinx writes it: pages, their sources, assets."""
    return make_tree(tmp_path / "site", ["index.html", "guide/intro.html", "guide/keep.css", "_sources/index.rst.txt",
                                         "_sources/guide/intro.rst.txt", "_static/theme.css", "_static/logo.png",
                                         "notes/todo.md", "notes/drafts/idea.md"])


def test_exclude_patterns_leave_files_and_folders_out(site: Path) -> None:
    cfg = IngestConfig(exclude=("_sources/", "*.css", "!keep.css"))
    got = rel(list(walk(site, cfg)), site)
    assert got == ["index.html", "_static/logo.png", "guide/intro.html", "guide/keep.css", "notes/todo.md", "notes/drafts/idea.md"]
    # anchored to the folder given: "/notes" is the top-level folder only, "drafts" any folder of that name
    assert rel(list(walk(site, IngestConfig(exclude=("/guide", "drafts")))), site) == [
        "index.html", "_sources/index.rst.txt", "_sources/guide/intro.rst.txt", "_static/logo.png", "_static/theme.css",
        "notes/todo.md",
    ]  # (_sources/guide stays: "/guide" is anchored to the top)
    assert rel(list(walk(site, IngestConfig(exclude=("/intro.html",)))), site) == rel(list(walk(site, IngestConfig())), site)


def test_a_file_given_by_name_is_matched_by_its_name(site: Path) -> None:
    cfg = IngestConfig(exclude=("*.css",))
    assert list(walk([site / "_static" / "theme.css", site / "index.html"], cfg)) == [site / "index.html"]


def test_mmragignore_applies_to_its_folder_and_below_and_the_deepest_decides(site: Path) -> None:
    touch(site / ".mmragignore", "# Sphinx output\n_sources/\n_static/*.css\n\n*.md\n")
    touch(site / "notes" / ".mmragignore", "!todo.md\n")
    got = rel(list(walk(site, IngestConfig())), site)
    assert got == ["index.html", "_static/logo.png", "guide/intro.html", "guide/keep.css", "notes/todo.md"]
    assert ".mmragignore" not in " ".join(got)  # the rules file itself is hidden, never indexed
    # off: every file again
    assert len(rel(list(walk(site, IngestConfig(ignore_files=False))), site)) == 9
    # a file named on the command line is taken whatever a .mmragignore says
    assert list(walk(site / "notes" / "drafts" / "idea.md", IngestConfig())) == [site / "notes" / "drafts" / "idea.md"]


def test_a_broken_mmragignore_leaves_its_folder_out_with_the_reason(site: Path) -> None:
    (site / "notes" / ".mmragignore").write_bytes(b"\xff\xfe*.md\x00 not utf-8 \xc3\x28")
    items = list(walk(site, IngestConfig()))
    failures = [i for i in items if isinstance(i, WalkFailure)]
    assert [f.path for f in failures] == [site / "notes"]
    assert "not UTF-8" in failures[0].reason and "left out" in failures[0].reason
    assert not any("notes" in str(p) for p in items if isinstance(p, Path))
    assert "index.html" in rel(items, site)  # the rest is walked
    (site / "notes" / ".mmragignore").write_text("!\n", encoding="utf-8")  # a pattern git rejects
    failures = [i for i in walk(site, IngestConfig()) if isinstance(i, WalkFailure)]
    assert len(failures) == 1 and "pattern git would not accept" in failures[0].reason


def test_a_bad_exclude_pattern_is_an_error_before_anything_is_walked(site: Path) -> None:
    from mmrag.errors import ConfigError

    with pytest.raises(ConfigError, match="exclude pattern"):
        list(walk(site, IngestConfig(exclude=("!",))))


def test_caches_and_windows_litter_are_left_out_by_default(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "project", ["notes.md", "__pycache__/notes.cpython-311.pyc", "web/node_modules/lib/index.js",
                                            "web/app.js", "photos/Thumbs.db", "photos/desktop.ini", "photos/beach.jpg",
                                            "$RECYCLE.BIN/old.txt"])
    seen: list[Path] = []
    assert rel(list(walk(root, IngestConfig(), left_out=seen.append)), root) == ["notes.md", "photos/beach.jpg", "web/app.js"]
    assert sorted(str(p.relative_to(root)) for p in seen) == [
        "$RECYCLE.BIN", "__pycache__", "photos/Thumbs.db", "photos/desktop.ini", "web/node_modules"]  # folders are not entered
    # a pattern takes one back; the setting turns them all off; a file named on the command line is taken
    assert "web/node_modules/lib/index.js" in rel(list(walk(root, IngestConfig(exclude=("!node_modules/",)))), root)
    assert len(rel(list(walk(root, IngestConfig(default_excludes=False))), root)) == 8
    assert list(walk(root / "photos" / "Thumbs.db", IngestConfig())) == [root / "photos" / "Thumbs.db"]
