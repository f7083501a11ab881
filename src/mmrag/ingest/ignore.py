"""Leave files out of a walk: gitignore-style patterns from ``--exclude`` / ``[ingest] exclude``, and
``.mmragignore`` files in the folders walked.

The patterns are git's (``*.css``, ``_build/``, ``/drafts``, ``**/cache``, ``!keep.css``), read by ``pathspec``
(a well-kept library that black and yamllint use for the same job) rather than a hand-written matcher. A
``.mmragignore`` applies to its folder and everything below it; ``DEFAULT_EXCLUDES`` and then the ``--exclude``
patterns act as one at the top of each folder given. As in git, the deepest file with a matching pattern
decides, and within one set of patterns the last match wins (so ``!name`` takes a file back). A folder left out
is not entered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mmrag.errors import ConfigError

if TYPE_CHECKING:  # pathspec is imported when patterns are compiled: `search` and `ask` never walk a folder
    import pathspec

IGNORE_FILE = ".mmragignore"
# left out of every folder walked unless ``ingest.default_excludes`` is off or a pattern takes one back
# (``--exclude '!node_modules/'``): caches of code and dependencies, and the files Windows keeps beside
# pictures and on every drive, none of which is anyone's content (each used to be a failed file of `add`)
DEFAULT_EXCLUDES = (
    "__pycache__/", "node_modules/",
    "Thumbs.db", "ehthumbs.db", "ehthumbs_vista.db", "desktop.ini", "$RECYCLE.BIN/", "System Volume Information/",
)
_MAX_IGNORE_BYTES = 1 << 20  # a rules file larger than 1 MB is not a rules file


@dataclass(frozen=True)
class IgnoreRules:
    """Patterns and the folder they are relative to."""

    base: Path
    spec: pathspec.PathSpec


def compile_rules(patterns: Iterable[str], base: Path) -> IgnoreRules | None:
    """Rules for ``patterns`` relative to ``base``; ``None`` if there are none (blank lines and ``#`` comments
    do not count). Raises ``ValueError`` naming a pattern git would reject too."""
    lines = [p for p in patterns if p.strip() and not p.lstrip().startswith("#")]
    if not lines:
        return None
    import pathspec

    return IgnoreRules(base, pathspec.GitIgnoreSpec.from_lines(lines))


def exclude_rules(patterns: Sequence[str], base: Path) -> IgnoreRules | None:
    """The ``--exclude`` / ``[ingest] exclude`` patterns at the top of a folder given to ``add``."""
    try:
        return compile_rules(patterns, base)
    except ValueError as exc:
        raise ConfigError(f"exclude pattern not understood ({exc}). Write it as in a .gitignore file, e.g. '*.css' or 'build/'.") from None


def read_ignore_file(folder: Path) -> IgnoreRules | str | None:
    """The rules of ``folder/.mmragignore``: ``None`` when there is no such file, a reason (cause and fix) when
    it cannot be used."""
    path = folder / IGNORE_FILE
    try:
        if not path.is_file():
            return None
        if path.stat().st_size > _MAX_IGNORE_BYTES:
            return f"{IGNORE_FILE} is over 1 MB, not a list of patterns; fix it (the folder is left out until then)"
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return f"{IGNORE_FILE} is not UTF-8 text; save it as UTF-8 (the folder is left out until then)"
    except OSError as exc:
        return f"cannot read {IGNORE_FILE} ({exc.strerror or exc}); fix its permissions (the folder is left out until then)"
    try:
        return compile_rules(text.splitlines(), folder)
    except ValueError as exc:
        return f"{IGNORE_FILE} has a pattern git would not accept ({exc}); fix it (the folder is left out until then)"


def is_ignored(path: Path, is_dir: bool, chain: Sequence[IgnoreRules]) -> bool:
    """Whether ``path`` is left out by the rules in force, shallowest first in ``chain`` (the deepest match
    decides)."""
    for rules in reversed(chain):
        try:
            rel = path.relative_to(rules.base).as_posix()
        except ValueError:
            continue
        result = rules.spec.check_file(rel + "/" if is_dir else rel)
        if result.include is not None:
            return bool(result.include)
    return False


def name_excluded(path: Path, rules: IgnoreRules | None) -> bool:
    """A file given by name: the ``--exclude`` patterns are matched against its name alone."""
    return rules is not None and bool(rules.spec.match_file(path.name))


__all__ = [
    "DEFAULT_EXCLUDES", "IGNORE_FILE", "IgnoreRules", "compile_rules", "exclude_rules", "is_ignored", "name_excluded",
    "read_ignore_file",
]
