"""Jupyter notebooks (``.ipynb``): markdown, code and text output as words; plotted figures as pictures.

A notebook is JSON (nbformat 4; nbformat 3's ``worksheets`` too). Read with the standard library:

- **words**: each markdown cell as written, each code cell as a fenced block, each cell's text
  output (``stream``, ``text/plain`` results, error names) under it; chunked like a Markdown file,
  with ``# headings`` kept, so ``ask`` and the title work as for one. Output longer than
  ``MAX_OUTPUT_CHARS`` per cell is cut (a printed dataframe of 10,000 rows is not prose).
- **pictures**: each ``image/png`` / ``image/jpeg`` output (a plot, a chart, a photo shown inline)
  through the image tower, captioned by the markdown or comment just above its cell; a hit reads
  ``analysis.ipynb cell 7, fig. 2`` (``span.page`` is the cell number, ``meta.page_unit`` = ``cell``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest.chunking import check_params
from mmrag.ingest.image import filename_words
from mmrag.ingest.office import picture_segment
from mmrag.ingest.text import find_title, read_source, text_segments
from mmrag.markdown import literal_lines
from mmrag.types import Segment

MAX_OUTPUT_CHARS = 2_000  # of one cell's text output
_PICTURES = ("image/png", "image/jpeg")
_OBJECT_REPR = re.compile(r"^(\[)?<[^<>\n]{0,200}>(\])?$")  # a return value's bare repr: no words for anyone


def _joined(value: Any) -> str:
    """nbformat keeps multi-line strings as lists of lines."""
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return str(value or "")


def cells_of(notebook: Any) -> list[dict[str, Any]]:
    """The cells of an nbformat 4 notebook, or of an nbformat 3 one's worksheets; ``ValueError`` otherwise."""
    if not isinstance(notebook, dict):
        raise ValueError("the file is JSON but not a notebook (no top-level object)")  # noqa: TRY004 - bad content, not a bad argument
    if isinstance(notebook.get("cells"), list):
        return [c for c in notebook["cells"] if isinstance(c, dict)]
    sheets = notebook.get("worksheets")
    if isinstance(sheets, list):
        return [c for ws in sheets if isinstance(ws, dict) for c in ws.get("cells", []) if isinstance(c, dict)]
    raise ValueError("the file is JSON but has no notebook cells")


def output_text(output: dict[str, Any]) -> str:
    """The words of one output: a stream, a result's ``text/plain``, an error's name and message (pure)."""
    kind = output.get("output_type")
    if kind == "stream":
        return _joined(output.get("text"))
    if kind == "error":
        return f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
    data = output.get("data") if isinstance(output.get("data"), dict) else output  # nbformat 3 keeps it flat
    if isinstance(data, dict) and any(k in data for k in _PICTURES):
        return ""  # a figure's "<Figure size 640x480>" says nothing
    text = _joined(data.get("text/plain") or data.get("text") or "") if isinstance(data, dict) else ""
    return "" if _OBJECT_REPR.match(text.strip()) else text  # "<AxesSubplot:>", "<Line2D at 0x7f...>"


def output_pictures(output: dict[str, Any]) -> list[bytes]:
    """The PNG/JPEG bytes an output shows (base64 in the notebook); undecodable ones left out."""
    data = output.get("data") if isinstance(output.get("data"), dict) else output
    found = []
    for key in (*_PICTURES, "png", "jpeg"):
        raw = data.get(key) if isinstance(data, dict) else None
        if raw:
            try:
                found.append(base64.b64decode(_joined(raw), validate=False))
            except (binascii.Error, ValueError):
                continue
            break
    return found


class NotebookLoader:
    """Loader for the ``notebook`` kind."""

    kinds: tuple[str, ...] = ("notebook",)

    def load(self, path: Path, config: IngestConfig) -> Iterator[Segment]:
        path = Path(path)
        source = str(path)
        check_params(config.chunk_words, config.chunk_overlap)
        raw = read_source(path, config)
        try:
            cells = cells_of(json.loads(raw.decode("utf-8-sig")))
        except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
            raise IngestError(source, f"not a readable Jupyter notebook ({exc})") from None
        lines: list[str] = []
        pictures: list[tuple[int, bytes, str]] = []  # cell number, bytes, what was written above it
        said = ""  # the last markdown written, or the comment a code cell starts with
        for number, cell in enumerate(cells, 1):
            body = _joined(cell.get("source") or cell.get("input")).strip()
            kind = cell.get("cell_type")
            if kind in ("markdown", "heading", "raw") and body:
                level = cell.get("level")
                lines.append(("#" * int(level) + " " + body) if kind == "heading" and isinstance(level, int) else body)
                said = " ".join(body.lstrip("# ").split())[:300]
            elif kind == "code":
                if body:
                    lines.append(f"```\n{body}\n```")
                    first = body.splitlines()[0].strip()
                    if first.startswith("#"):
                        said = first.lstrip("# ")[:300]
                texts = []
                for output in cell.get("outputs") or []:
                    if not isinstance(output, dict):
                        continue
                    texts.append(output_text(output))
                    pictures.extend((number, blob, said) for blob in output_pictures(output))
                shown = "".join(texts).strip()
                if shown:
                    cut = " …" if len(shown) > MAX_OUTPUT_CHARS else ""
                    lines.append(literal_lines(shown[:MAX_OUTPUT_CHARS]) + cut)  # a printed "# total" is no heading
        text = "\n\n".join(lines)
        if not text.strip() and not pictures:
            raise IngestError(source, "the notebook has no text and no pictures")
        meta = {"format": "notebook"}
        title = find_title(text)
        if title:
            meta["title"] = title
        if text.strip():
            yield from text_segments(source, text, meta, config, setext=True)  # markdown cells as people write them
        figure = 0
        for number, blob, above in pictures:
            seg = picture_segment(blob, source, config, page=number, number=figure + 1,
                                  text=above or filename_words(path.name), meta={"page_unit": "cell"})
            if seg is not None:
                figure += 1
                yield seg


__all__ = ["NotebookLoader", "cells_of", "output_pictures", "output_text"]
