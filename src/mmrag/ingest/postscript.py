"""PostScript documents (``paper.ps``, ``paper.ps.gz``, what ``man -t`` or an old LaTeX run writes): pages
with their words, through Ghostscript.

PostScript is a program that draws pages, not text to read: indexed as text it gave searches its
operators (``/Times-Roman findfont 12 scalefont setfont``). Ghostscript (``gs``, AGPL; a separate program, run
as one) turns it into a PDF in a private temporary folder, with ``-dSAFER`` (no file access beyond its input,
its output and its own temporary folder, here that private one) and a time limit, since a PostScript file can
loop forever; the PDF loader then reads that like any PDF, and each segment cites the PostScript file with its
page. An EPS picture (``EPSF`` in its first line) is a picture, read by ``ingest/image.py`` and drawn here
(``draw_eps``) under the same limits. Without Ghostscript the file is skipped with the command that installs it.
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
EPS_HINT = "an EPS picture is drawn by Ghostscript, which is not installed: apt-get install ghostscript (or export it as PDF or PNG)"
GS_TIMEOUT_S = 300.0  # a PostScript program that has not drawn its pages by then is looping
_GS_NAMES = ("gs", "gswin64c", "gswin32c")


def ghostscript() -> str | None:
    """The Ghostscript command on this machine, or ``None``."""
    return next((found for name in _GS_NAMES if (found := shutil.which(name))), None)


def _gs_failure(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    said = next((line for line in lines if line.startswith("Error:")), lines[-1] if lines else "no message")
    return said[:200]


def run_ghostscript(args: list[str], output: Path, tmp: str, source: str, what: str) -> None:
    """Ghostscript with ``args`` in the private folder ``tmp``, writing ``output``; ``IngestError`` (cause and
    fix) when it is missing, fails, writes nothing or runs past ``GS_TIMEOUT_S``. ``what``: "PostScript
    program" or "EPS picture", for the messages."""
    gs = ghostscript()
    if gs is None:
        raise IngestError(source, EPS_HINT if what == "EPS picture" else GS_HINT)
    a = "an" if what[:1] in "AEIOU" else "a"
    command = [gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", *args]
    # -dSAFER still lets a program read Ghostscript's temporary folder ($TMPDIR, else /tmp, where other
    # programs' files lie): it gets this private one, which holds only its own input and output
    private = {**os.environ, "TMPDIR": tmp, "TMP": tmp, "TEMP": tmp}
    try:
        done = subprocess.run(command, check=False, capture_output=True, timeout=GS_TIMEOUT_S, stdin=subprocess.DEVNULL,
                              cwd=tmp, env=private)
    except subprocess.TimeoutExpired:
        raise IngestError(
            source, f"Ghostscript did not finish drawing it in {GS_TIMEOUT_S:g} s ({a} {what} that loops forever?); "
            "convert it to PDF or PNG yourself and add that") from None
    if done.returncode != 0 or not output.is_file() or output.stat().st_size == 0:
        raise IngestError(
            source, f"Ghostscript could not draw this {what} ({_gs_failure(done.stderr)}); it may be damaged or cut short")


def draw_eps(src: Path | bytes, source: str, dpi: float) -> bytes:
    """An EPS picture drawn by Ghostscript at ``dpi`` (cropped to its bounding box), as PNG bytes. Pillow's own
    EPS reader runs Ghostscript too, but with no time limit and the shared temporary folder."""
    with tempfile.TemporaryDirectory(prefix="mmrag-eps-") as tmp:
        if isinstance(src, (bytes, bytearray)):
            path = Path(tmp) / "input.eps"
            path.write_bytes(src)
        else:
            path = Path(src).absolute()  # a name starting with "-" is never read as an option
        out = Path(tmp) / "picture.png"
        run_ghostscript(["-dEPSCrop", f"-r{dpi:.2f}", "-sDEVICE=png16m", "-dTextAlphaBits=4", "-dGraphicsAlphaBits=4",
                         f"-sOutputFile={out}", str(path)], out, tmp, source, "EPS picture")
        return out.read_bytes()


class PostScriptLoader:
    """Loader for the ``ps`` kind."""

    kinds: tuple[str, ...] = ("ps",)

    def load(self, path: Path, config: IngestConfig) -> Iterator[Segment]:
        from mmrag.ingest.pdf import PdfLoader

        path = Path(path)
        source = str(path)
        check_file(path, config.max_file_mb)
        if ghostscript() is None:
            raise IngestError(source, GS_HINT)
        with tempfile.TemporaryDirectory(prefix="mmrag-ps-") as tmp:
            program = path.absolute()  # Ghostscript runs in the private folder; a name starting with "-" is no option
            with open(path, "rb") as fh:
                compressed = codec_of(fh.read(8), path.suffix) is not None
            if compressed:  # paper.ps.gz: Ghostscript reads no gzip; the size is bounded as for any text
                from mmrag.ingest.text import read_source

                program = Path(tmp) / "input.ps"
                program.write_bytes(read_source(path, config))
            pdf = Path(tmp) / f"{Path(inner_name(path)).stem or 'document'}.pdf"  # the PDF loader's file-name words
            run_ghostscript(["-sDEVICE=pdfwrite", f"-sOutputFile={pdf}", str(program)], pdf, tmp, source, "PostScript program")
            try:
                for segment in PdfLoader().load(pdf, config):
                    yield dataclasses.replace(segment, source=source)
            except IngestError as exc:
                raise IngestError(source, exc.reason) from None


__all__ = ["EPS_HINT", "GS_HINT", "PostScriptLoader", "draw_eps", "ghostscript", "run_ghostscript"]
