"""Jupyter notebooks: markdown, code and text output as words; inline figures as pictures."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest.notebook import NotebookLoader, output_text
from mmrag.ingest.sources import sniff_reason
from mmrag.markdown import as_shown
from mmrag.types import Hit, Modality


def _plot_png() -> str:
    arr = np.full((120, 160, 3), 255, dtype=np.uint8)
    arr[60:, 20:50] = (30, 90, 200)  # two bars
    arr[30:, 90:120] = (30, 90, 200)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


NOTEBOOK = {
    "nbformat": 4, "nbformat_minor": 5, "metadata": {},
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Ferry ridership\n", "Riders per month, by pier."]},
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": ["print(total)"],
         "outputs": [{"output_type": "stream", "name": "stdout", "text": ["41,200 riders\n"]}]},
        {"cell_type": "markdown", "metadata": {}, "source": ["Riders by pier as a bar chart."]},
        {"cell_type": "code", "metadata": {}, "execution_count": 2, "source": ["plt.bar(piers, riders)"],
         "outputs": [{"output_type": "display_data", "metadata": {},
                      "data": {"image/png": _plot_png(), "text/plain": ["<Figure size 640x480 with 1 Axes>"]}},
                     {"output_type": "error", "ename": "KeyError", "evalue": "'pier 9'", "traceback": []}]},
    ],
}


def test_words_in_order_and_a_plot_as_a_picture(tmp_path: Path) -> None:
    path = tmp_path / "ridership.ipynb"
    path.write_text(json.dumps(NOTEBOOK), encoding="utf-8")
    assert sniff_reason(path) == ("notebook", "")
    segs = list(NotebookLoader().load(path, IngestConfig()))
    text = next(s for s in segs if s.modality is Modality.TEXT)
    assert text.text == ("# Ferry ridership\nRiders per month, by pier.\n\n```\nprint(total)\n```\n\n41,200 riders\n\n"
                         "Riders by pier as a bar chart.\n\n```\nplt.bar(piers, riders)\n```\n\nKeyError: 'pier 9'")
    assert text.meta["title"] == "Ferry ridership"  # the figure's "<Figure size ...>" is not text
    plot = next(s for s in segs if s.modality is Modality.IMAGE)
    assert plot.span.page == 4 and plot.text == "Riders by pier as a bar chart." and plot.image.size == (160, 120)
    assert np.asarray(plot.image)[100, 30].tolist() == [30, 90, 200]
    hit = Hit(segment_id="x", source="ridership.ipynb", modality=Modality.IMAGE, span=plot.span, score=1.0, meta=plot.meta)
    assert hit.label() == "ridership.ipynb cell 4, fig. 1"


def test_old_notebooks_and_bad_files(tmp_path: Path) -> None:
    old = {"nbformat": 3, "worksheets": [{"cells": [
        {"cell_type": "heading", "level": 2, "source": "Tides"},
        {"cell_type": "code", "input": "tide()", "outputs": [{"output_type": "pyout", "text": ["high at 6"]}]}]}]}
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(old), encoding="utf-8")
    assert [s.text for s in NotebookLoader().load(path, IngestConfig())] == ["## Tides\n\n```\ntide()\n```\n\nhigh at 6"]
    assert output_text({"output_type": "execute_result", "data": {"text/plain": "42"}}) == "42"
    assert output_text({"output_type": "execute_result", "data": {"text/plain": "<AxesSubplot:>"}}) == ""
    assert output_text({"output_type": "execute_result", "data": {"text/plain": "[<matplotlib.lines.Line2D at 0x7f>]"}}) == ""
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [', encoding="utf-8")
    with pytest.raises(IngestError, match="not a readable Jupyter notebook"):
        list(NotebookLoader().load(broken, IngestConfig()))
    other = tmp_path / "settings.ipynb"
    other.write_text('{"theme": "dark"}', encoding="utf-8")
    with pytest.raises(IngestError, match="no notebook cells"):
        list(NotebookLoader().load(other, IngestConfig()))


def test_markdown_cells_underlined_titles_are_sections_and_a_printed_hash_is_none(tmp_path: Path) -> None:
    """A markdown cell is Markdown as a person writes it: ``Method`` over ``------`` is a heading; a code cell's
    printed ``# total`` is output, written escaped, shown as written."""
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["Ferries\n", "=======\n\n", "Riders by pier."]},
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": ["report()"],
         "outputs": [{"output_type": "stream", "name": "stdout", "text": ["# total\n", "41,200 riders\n"]}]},
        {"cell_type": "markdown", "metadata": {}, "source": ["Method\n", "------\n\n", "Counted at the gates."]},
    ]}
    path = tmp_path / "ferries.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    text = next(s for s in NotebookLoader().load(path, IngestConfig(chunk_words=12, chunk_overlap=2)) if "Counted" in (s.text or ""))
    assert text.meta["title"] == "Ferries" and text.meta["section"] == "Method"
    whole = " ".join(s.text or "" for s in NotebookLoader().load(path, IngestConfig()))
    assert "\\# total" in whole and "# total" in as_shown(whole)
