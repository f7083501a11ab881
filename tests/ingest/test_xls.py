"""Excel 97-2003 workbooks (``.xls``) are catalogues like ``.xlsx``: xlrd reads them, typed values kept.

Real workbooks from pyexcel-xls' test suite (``tests/data/office97``); the full catalogue path (typed
fields, ``--where``, citations by row, pictures) is in ``tests/test_records_engine.py``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from mmrag.errors import IngestError
from mmrag.ingest.record_readers import RecordReader, record_format, xls_value
from mmrag.ingest.sources import sniff_reason

xlrd = pytest.importorskip("xlrd")
DATA = Path(__file__).resolve().parents[1] / "data" / "office97"


def test_cell_values_are_typed() -> None:
    cell = lambda kind, value: SimpleNamespace(ctype=kind, value=value)
    assert xls_value(cell(xlrd.XL_CELL_NUMBER, 3.0), 0) == 3 and isinstance(xls_value(cell(xlrd.XL_CELL_NUMBER, 3.0), 0), int)
    assert xls_value(cell(xlrd.XL_CELL_NUMBER, 24.5), 0) == 24.5
    assert xls_value(cell(xlrd.XL_CELL_DATE, 45413.0), 0) == "2024-05-01"  # Excel's 1900 date system
    assert xls_value(cell(xlrd.XL_CELL_DATE, 45413.5), 0) == "2024-05-01T12:00:00"
    assert xls_value(cell(xlrd.XL_CELL_DATE, 45413.0), 1) == "2028-05-02"  # the Mac 1904 date system
    assert xls_value(cell(xlrd.XL_CELL_DATE, 0.25), 0) == "06:00:00"  # a time of day alone
    assert xls_value(cell(xlrd.XL_CELL_BOOLEAN, 1), 0) is True
    assert xls_value(cell(xlrd.XL_CELL_TEXT, "Top hat"), 0) == "Top hat"
    assert xls_value(cell(xlrd.XL_CELL_EMPTY, ""), 0) is None and xls_value(cell(xlrd.XL_CELL_ERROR, 42), 0) is None


def test_real_workbooks_are_read_sheet_by_sheet_with_dates_and_numbers() -> None:
    path = DATA / "date_field.xls"
    assert sniff_reason(path) == ("records", "") and record_format(path, path.read_bytes()[:8]) == "xls"
    rows = list(RecordReader(path, "xls").records())
    assert [(r.row, r.values) for r in rows[:3]] == [
        (1, {"Date": "2014-12-25", "Time": "11:11:11"}),
        (2, {"Date": "2014-12-26", "Time": "12:12:12"}),
        (3, {"Date": "2015-01-01", "Time": "13:13:13"}),
    ]
    sheets = DATA / "file_with_an_empty_sheet.xls"
    got = list(RecordReader(sheets, "xls").records())  # the empty middle sheet gives nothing
    assert [(r.sheet, r.row, r.values) for r in got] == [("Sheet1", 1, {"1": 4, "2": 5, "3": 6}),
                                                          ("Sheet3", 1, {"7": 10, "8": 11, "9": 12})]
    assert [r.values for r in RecordReader(sheets, "xls", sheet="Sheet3").records()] == [{"7": 10, "8": 11, "9": 12}]
    with pytest.raises(IngestError, match=r"no sheet named 'Shoes' \(sheets: Sheet1, Sheet2, Sheet3\)"):
        list(RecordReader(sheets, "xls", sheet="Shoes").records())


def test_a_workbook_under_another_name_or_damaged_gets_a_clear_reason(tmp_path: Path) -> None:
    renamed = Path(shutil.copy(DATA / "date_field.xls", tmp_path / "export.dat"))
    kind, reason = sniff_reason(renamed)
    assert kind is None and "Excel 97-2003 workbook not named .xls is not read: rename it to .xls" in reason
    not_ole = tmp_path / "fake.xls"
    not_ole.write_text("a,b\n1,2\n")
    assert record_format(not_ole, not_ole.read_bytes()[:8]) is None  # an .xls name on CSV text is not a workbook
    data = (DATA / "date_field.xls").read_bytes()
    cut = tmp_path / "cut.xls"
    cut.write_bytes(data[: len(data) // 2])
    kind, reason = sniff_reason(cut)
    if kind == "records":  # the compound file's directory survived the cut: the reader says why it stops
        with pytest.raises(IngestError, match="cannot open the Excel 97-2003 workbook"):
            list(RecordReader(cut, "xls").records())
    else:
        assert "damaged OLE2 compound file" in reason


def test_a_damaged_sheet_is_an_ingest_error_and_xlrd_prints_nothing(monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A sheet xlrd cannot parse (seen fuzzing real workbooks: struct, key and XLRD errors) is one clear error
    for that file, and xlrd's own warnings about damaged files do not go to the user's terminal."""
    import struct

    def broken(self, name):  # type: ignore[no-untyped-def]
        print("WARNING *** File is truncated, or OLE2 MSAT is corrupt!!", file=self.logfile)
        raise struct.error("unpack requires a buffer of 4 bytes")

    monkeypatch.setattr(xlrd.book.Book, "sheet_by_name", broken)
    with pytest.raises(IngestError, match=r"sheet 'Sheet1' of the Excel 97-2003 workbook is damaged \(error: unpack"):
        list(RecordReader(DATA / "date_field.xls", "xls").records())
    assert capsys.readouterr().out == ""


def test_a_workbook_whose_sector_chain_loops_is_refused_within_bounded_memory(tmp_path: Path) -> None:
    """Found by fuzzing: one byte changed in a real workbook's sector table made xlrd's own compound-file reader
    follow a looping chain until the machine's memory ran out. The stream is now taken out by olefile. Run in a
    child process capped at 3 GB of address space, so a regression fails here instead of taking the machine."""
    data = bytearray((DATA / "complex_hidden_sheets.xls").read_bytes())
    assert data[1648] == 0x1D
    data[1648] = 0x09
    bad = tmp_path / "looping.xls"
    bad.write_bytes(bytes(data))
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
        "from pathlib import Path\n"
        "from mmrag.errors import IngestError\n"
        "from mmrag.ingest.record_readers import RecordReader\n"
        "try:\n"
        "    rows = sum(1 for _ in RecordReader(Path(sys.argv[1]), 'xls').records())\n"
        "    print('rows', rows)\n"
        "except IngestError as exc:\n"
        "    print('refused:', exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(bad)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("refused:") and "is damaged" in done.stdout, done.stdout
