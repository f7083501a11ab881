"""PostScript documents (``paper.ps``, ``paper.ps.gz``, what ``man -t`` or an old LaTeX run writes): pages
with their words, through Ghostscript.

PostScript is a program that draws pages, not text to read: indexed as text it gave searches its
operators (``/Times-Roman findfont 12 scalefont setfont``). Ghostscript (``gs``, AGPL; a separate program, run
as one) turns it into a PDF in a private temporary folder, with ``-dSAFER`` (no file access beyond its input,
its output and its own temporary folder, here that private one) and a time limit, since a PostScript file can
loop forever; the PDF loader then reads that like any
PDF, and each segment cites the PostScript file with its page. An EPS picture (``EPSF`` in its first line) is
a picture, read by ``ingest/image.py``. Without Ghostscript the file is skipped with the command that installs
it.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest.avio import check_file
from mmrag.ingest.compressed import codec_of, inner_name
from mmrag.types import Segment

GS_HINT = (
    "a PostScript document is read through Ghostscript, which is not installed: apt-get install ghostscript "
    "(or convert it to PDF with ps2pdf and add that)"
)
GS_TIMEOUT_S = 300.0  # a PostScript program that has not drawn its pages by then is looping
_GS_NAMES = ("gs", "gswin64c", "gswin32c")


def ghostscript() -> str | None:
    """The Ghostscript command on this machine, or ``None``."""
    return next((found for name in _GS_NAMES if (found := shutil.which(name))), None)


def _gs_failure(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    said = next((line for line in lines if line.startswith("Error:")), lines[-1] if lines else "no message")
    return said[:200]


class PostScriptLoader:
    """Loader for the ``ps`` kind."""

    kinds: tuple[str, ...] = ("ps",)

    def load(self, path: Path, config: IngestConfig) -> Iterator[Segment]:
        from mmrag.ingest.pdf import PdfLoader

        path = Path(path)
        source = str(path)
        check_file(path, config.max_file_mb)
        gs = ghostscript()
        if gs is None:
            raise IngestError(source, GS_HINT)
        with tempfile.TemporaryDirectory(prefix="mmrag-ps-") as tmp:
            program = path
            with open(path, "rb") as fh:
                compressed = codec_of(fh.read(8), path.suffix) is not None
            if compressed:  # paper.ps.gz: Ghostscript reads no gzip; the size is bounded as for any text
                from mmrag.ingest.text import read_source

                program = Path(tmp) / "input.ps"
                program.write_bytes(read_source(path, config))
            pdf = Path(tmp) / f"{Path(inner_name(path)).stem or 'document'}.pdf"  # the PDF loader's file-name words
            command = [gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite", f"-sOutputFile={pdf}", str(program)]
            # -dSAFER still lets a program read Ghostscript's temporary folder ($TMPDIR, else /tmp, where other
            # programs' files lie): it gets this private one, which holds only its own input and output
            private = {**os.environ, "TMPDIR": tmp, "TMP": tmp, "TEMP": tmp}
            try:
                done = subprocess.run(command, check=False, capture_output=True, timeout=GS_TIMEOUT_S, stdin=subprocess.DEVNULL,
                                      cwd=tmp, env=private)
            except subprocess.TimeoutExpired:
                raise IngestError(
                    source, f"Ghostscript did not finish drawing it in {GS_TIMEOUT_S:g} s (a PostScript program "
                    "that loops?); convert it to PDF yourself and add that") from None
            if done.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
                raise IngestError(
                    source, f"Ghostscript could not draw this PostScript ({_gs_failure(done.stderr)}); it may be "
                    "damaged or cut short") from None
            try:
                for segment in PdfLoader().load(pdf, config):
                    yield dataclasses.replace(segment, source=source)
            except IngestError as exc:
                raise IngestError(source, exc.reason) from None


__all__ = ["GS_HINT", "PostScriptLoader", "ghostscript"]
