"""Read record files row by row: CSV/TSV, JSON Lines, JSON arrays, Parquet, XLSX and ODS sheets, calendars, address books, bibliographies.

Every reader streams (bounded memory) except a JSON array, which is parsed
whole (use JSON Lines for big files). Readers:

- CSV/TSV: the standard library's ``csv`` (delimiter sniffed among ``, ; TAB |``;
  UTF-8, else Windows-1252), one record at a time;
- JSON Lines: one ``json.loads`` per line;
- Parquet: ``pyarrow.parquet.ParquetFile.iter_batches`` (2,048 rows a batch);
- XLSX: ``openpyxl`` in read-only mode (``pip install "mmrag[records]"``), every
  sheet (or the one named in the mapping), the first non-empty row of a sheet
  is its header;
- ODS (LibreOffice Calc): ``content.xml`` streamed with defusedxml's ``iterparse``, the same rules;
- XLS (Excel 97-2003 and 5/95): ``xlrd`` (BSD; the ``records`` extra), the same rules: numbers as numbers
  (whole ones as integers), dates as ISO text (by the workbook's date system), booleans; read whole, as
  xlrd reads a binary workbook, so bounded by ``ingest.max_file_mb``.
- iCalendar (``.ics``): ``ingest/calendar.py`` (icalendar), one row per event or to-do, parsed whole (bounded by
  ``ingest.max_file_mb``); vCard (``.vcf``): ``ingest/contacts.py`` (vobject), one row per contact, and BibTeX
  (``.bib``): ``ingest/bibliography.py`` (pybtex), one row per entry, the same way.

A record's ``row`` is its 1-based number among the data rows of its table or
sheet (the header is not counted), the number a citation shows (``#412``).
A row that cannot be read comes out as a ``RawRecord`` with ``error`` set, so
the caller can report it by number and go on.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmrag.errors import IngestError, MissingDependency
from mmrag.ingest.bibliography import BIB_EXTS
from mmrag.ingest.calendar import ICS_EXTS, is_calendar
from mmrag.ingest.contacts import VCF_EXTS, is_address_book

FORMATS = ("csv", "jsonl", "json", "parquet", "xlsx", "ods", "xls", "ics", "vcf", "bib")
_EXT = {".csv": "csv", ".tsv": "csv", ".tab": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
        ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx", ".xlsm": "xlsx", ".ods": "ods", ".xls": "xls",
        **{ext: "ics" for ext in ICS_EXTS}, **{ext: "vcf" for ext in VCF_EXTS}, **{ext: "bib" for ext in BIB_EXTS}}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_REPEAT = 1_000  # a cell or row "repeated" more often than this is the sheet's empty tail (ODS writes 16,384)
CSV_FIELD_LIMIT = 16 * 1024 * 1024
_SAMPLE = 64 * 1024


@dataclass(frozen=True)
class RawRecord:
    row: int
    values: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    sheet: str = ""


def record_format(path: Path, head: bytes = b"") -> str | None:
    """``csv`` | ``jsonl`` | ``json`` | ``parquet`` | ``xlsx`` | ``ods`` | ``xls`` | ``ics`` | ``vcf`` | ``bib`` from magic bytes and the extension,
    else ``None``."""
    if head[:4] == b"PAR1":
        return "parquet"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # a UTF-16 text file (Outlook's vCards): its head as text
        head = head.decode("utf-16", errors="replace").encode("utf-8", errors="replace")
    if is_calendar(head):
        return "ics"  # a calendar, whatever its name
    if is_address_book(head):
        return "vcf"  # an address book, whatever its name
    fmt = _EXT.get(path.suffix.lower())
    if fmt in ("xlsx", "ods") and head[:2] != b"PK":
        return None
    if fmt == "xls" and head[:8] != _OLE_MAGIC:
        return None
    if fmt == "json" and head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] != b"[":
        return None  # a JSON object file is a document, not a table
    if fmt in ("ics", "vcf"):
        return None  # named as a calendar or an address book, but not one
    return fmt


def _unique(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(header):
        name = str(name).strip() if name is not None and str(name).strip() else f"column {i + 1}"
        n = seen.get(name, 0)
        seen[name] = n + 1
        out.append(name if n == 0 else f"{name} ({n + 1})")
    return out


class RecordReader:
    """One record file; ``records()`` streams its rows, ``estimate()`` guesses how many."""

    def __init__(self, path: Path, fmt: str, sheet: str | None = None) -> None:
        if fmt not in FORMATS:
            raise IngestError(str(path), f"'{fmt}' is not a record format ({', '.join(FORMATS)})")
        self.path, self.format, self.sheet = Path(path), fmt, sheet

    def estimate(self) -> int | None:
        try:
            if self.format == "parquet":
                import pyarrow.parquet as pq

                return int(pq.ParquetFile(self.path).metadata.num_rows)
            if self.format in ("csv", "jsonl"):
                lines = 0
                with open(self.path, "rb") as fh:
                    while chunk := fh.read(1 << 20):
                        lines += chunk.count(b"\n")
                return max(0, lines - (1 if self.format == "csv" else 0))
        except (OSError, ValueError):
            return None
        return None

    def records(self) -> Iterator[RawRecord]:
        reader = {"csv": self._csv, "jsonl": self._jsonl, "json": self._json, "parquet": self._parquet,
                  "xlsx": self._xlsx, "ods": self._ods, "xls": self._xls, "ics": self._ics,
                  "vcf": self._vcf, "bib": self._bib}[self.format]
        try:
            yield from reader()
        except (OSError, UnicodeError) as exc:
            raise IngestError(str(self.path), f"cannot read the file ({exc})") from None

    # -- CSV ----------------------------------------------------------------------------
    def _encoding(self) -> str:
        with open(self.path, "rb") as fh:
            head = fh.read(1 << 20)
        try:
            head.decode("utf-8-sig")
            return "utf-8-sig"
        except UnicodeDecodeError as exc:
            if exc.start >= len(head) - 4:  # a character cut by the sample's end
                return "utf-8-sig"
            return "cp1252"

    def _csv(self) -> Iterator[RawRecord]:
        csv.field_size_limit(CSV_FIELD_LIMIT)
        with open(self.path, encoding=self._encoding(), errors="replace", newline="") as fh:
            sample = fh.read(_SAMPLE)
            fh.seek(0)
            if self.path.suffix.lower() in (".tsv", ".tab"):
                dialect: Any = csv.excel_tab
            else:
                try:
                    dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
                except csv.Error:
                    dialect = csv.excel
            reader = csv.reader(fh, dialect)
            try:
                header = _unique(next(reader))
            except StopIteration:
                raise IngestError(str(self.path), "the CSV file has no header row") from None
            except csv.Error as exc:
                raise IngestError(str(self.path), f"cannot read the CSV header ({exc})") from None
            row = 0
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    row += 1
                    yield RawRecord(row, error=f"unreadable CSV line ({exc})")
                    continue
                row += 1
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
                    yield RawRecord(row, error=f"has {len(cells)} cells but the header has {len(header)}")
                    continue
                yield RawRecord(row, dict(zip(header, cells)))

    # -- JSON ----------------------------------------------------------------------------
    def _jsonl(self) -> Iterator[RawRecord]:
        row = 0
        with open(self.path, "rb") as fh:
            for raw in fh:
                line = raw.decode("utf-8-sig" if row == 0 else "utf-8", errors="replace").strip()
                if not line:
                    continue
                row += 1
                try:
                    value = json.loads(line)
                except ValueError as exc:
                    yield RawRecord(row, error=f"not valid JSON ({exc})")
                    continue
                if not isinstance(value, dict):
                    yield RawRecord(row, error=f"is a JSON {type(value).__name__}, not an object")
                    continue
                yield RawRecord(row, value)

    def _json(self) -> Iterator[RawRecord]:
        with open(self.path, encoding="utf-8-sig", errors="replace") as fh:
            try:
                data = json.load(fh)
            except ValueError as exc:
                raise IngestError(str(self.path), f"not valid JSON ({exc})") from None
        if not isinstance(data, list):
            raise IngestError(str(self.path), "a JSON record file must hold an array of objects")
        for row, value in enumerate(data, 1):
            if isinstance(value, dict):
                yield RawRecord(row, value)
            else:
                yield RawRecord(row, error=f"is a JSON {type(value).__name__}, not an object")

    # -- calendars, address books, bibliographies: parsed whole, one row per entry -----------
    def _text(self) -> str:
        from mmrag.ingest.text import decode_text

        # the project's decoder: BOMs (Outlook writes vCards as UTF-16), UTF-8, else the detected charset
        return decode_text(self.path.read_bytes())[0]

    def _entries(self, parse: Callable[[], Iterable[tuple[dict[str, Any] | None, str]]], columns: tuple[str, ...],
                 what: str) -> Iterator[RawRecord]:
        """Rows of ``parse()``'s entries (``(values, "")`` or ``(None, reason)``); its ``ValueError`` says the file
        is not a readable ``what``."""
        try:
            found = list(parse())
        except ValueError as exc:
            raise IngestError(str(self.path), f"not a readable {what} ({exc}); export it again") from None
        for row, (values, error) in enumerate(found, 1):
            yield RawRecord(row, {c: values[c] for c in columns}) if values is not None else RawRecord(row, error=error)

    def _ics(self) -> Iterator[RawRecord]:
        from mmrag.ingest.calendar import COLUMNS, events

        yield from self._entries(lambda: events(self.path.read_bytes()), COLUMNS, "iCalendar file")

    def _vcf(self) -> Iterator[RawRecord]:
        from mmrag.ingest.contacts import COLUMNS, cards

        yield from self._entries(lambda: cards(self._text()), COLUMNS, "vCard address book")

    def _bib(self) -> Iterator[RawRecord]:
        from mmrag.ingest.bibliography import COLUMNS, references

        yield from self._entries(lambda: references(self._text()), COLUMNS, "BibTeX bibliography")

    # -- Parquet ---------------------------------------------------------------------------
    def _parquet(self) -> Iterator[RawRecord]:
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(self.path)
            row = 0
            for batch in pf.iter_batches(batch_size=2048):
                for values in batch.to_pylist():
                    row += 1
                    yield RawRecord(row, values)
        except (OSError, ValueError) as exc:  # pyarrow.ArrowInvalid is a ValueError
            raise IngestError(str(self.path), f"cannot read the Parquet file ({exc})") from None

    # -- XLSX ------------------------------------------------------------------------------
    def _xlsx(self) -> Iterator[RawRecord]:
        try:
            import openpyxl
        except ImportError:
            raise MissingDependency("openpyxl", "records", "reading .xlsx catalogues") from None
        try:
            book = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - zipfile/openpyxl raise many kinds for a bad workbook
            raise IngestError(str(self.path), f"cannot open the workbook ({type(exc).__name__}: {exc})") from None
        try:
            sheets = book.worksheets
            if self.sheet:
                sheets = [s for s in sheets if s.title == self.sheet]
                if not sheets:
                    names = ", ".join(s.title for s in book.worksheets)
                    raise IngestError(str(self.path), f"no sheet named '{self.sheet}' (sheets: {names})")
            for ws in sheets:
                header: list[str] | None = None
                row = 0
                for cells in ws.iter_rows(values_only=True):
                    if header is None:
                        if any(c is not None and str(c).strip() for c in cells):
                            header = _unique([c for c in cells])
                        continue
                    row += 1
                    if not any(c is not None and str(c).strip() for c in cells):
                        continue
                    yield RawRecord(row, dict(zip(header, cells)), sheet=ws.title if len(sheets) > 1 else "")
        finally:
            book.close()

    # -- XLS (Excel 97-2003, 5/95) -----------------------------------------------------------
    def _workbook_stream(self) -> bytes:
        """The workbook's BIFF stream, taken out of the compound file by olefile, which checks the file's sector
        chains: xlrd's own reader follows a looping chain of a damaged file until memory runs out (a fuzzed
        workbook took all 24 GB of this machine). xlrd then reads the stream alone, as it reads a bare BIFF file."""
        try:
            import olefile
        except ImportError:
            raise MissingDependency("olefile", "records", "reading Excel 97-2003 .xls catalogues") from None
        try:
            with olefile.OleFileIO(str(self.path)) as ole:
                name = next((n for n in ("Workbook", "Book") if ole.exists(n)), None)
                if name is None:
                    raise IngestError(str(self.path), "no workbook inside this OLE2 file (not an Excel 97-2003 workbook)")
                return bytes(ole.openstream(name).read())
        except IngestError:
            raise
        except Exception as exc:  # noqa: BLE001 - olefile raises several types for a damaged compound file
            raise IngestError(str(self.path), f"cannot open the Excel 97-2003 workbook (a damaged file: "
                              f"{type(exc).__name__}: {exc})") from None

    def _xls(self) -> Iterator[RawRecord]:
        try:
            import xlrd
        except ImportError:
            raise MissingDependency("xlrd", "records", "reading Excel 97-2003 .xls catalogues") from None
        import io

        quiet = io.StringIO()  # xlrd writes its warnings about damaged files to stdout otherwise
        stream = self._workbook_stream()
        try:
            book = xlrd.open_workbook(file_contents=stream, on_demand=True, logfile=quiet)
        except Exception as exc:  # noqa: BLE001 - xlrd raises XLRDError, struct and index errors
            why = "it is password-protected: open it in Excel, remove the password and save it again" \
                if "encrypt" in str(exc).lower() else f"{type(exc).__name__}: {exc}"
            raise IngestError(str(self.path), f"cannot open the Excel 97-2003 workbook ({why})") from None
        try:
            names = book.sheet_names()
            if self.sheet:
                if self.sheet not in names:
                    raise IngestError(str(self.path), f"no sheet named '{self.sheet}' (sheets: {', '.join(names)})")
                names = [self.sheet]
            for name in names:
                try:
                    ws = book.sheet_by_name(name)
                except Exception as exc:  # noqa: BLE001 - a damaged sheet record: xlrd, struct, key or index errors
                    raise IngestError(str(self.path), f"sheet '{name}' of the Excel 97-2003 workbook is damaged "
                                      f"({type(exc).__name__}: {exc}); open it in a spreadsheet and save it again") from None
                header: list[str] | None = None
                row = 0
                for r in range(ws.nrows):
                    cells = [xls_value(c, book.datemode) for c in ws.row(r)]
                    if header is None:
                        if any(c is not None and str(c).strip() for c in cells):
                            header = _unique(list(cells))
                        continue
                    row += 1
                    if not any(c is not None and str(c).strip() for c in cells):
                        continue
                    yield RawRecord(row, dict(zip(header, cells)), sheet=name if len(names) > 1 else "")
                book.unload_sheet(name)
        finally:
            book.release_resources()

    # -- ODS (OpenDocument spreadsheets: LibreOffice Calc) -------------------------------------
    def _ods(self) -> Iterator[RawRecord]:
        """Every sheet (or the mapping's), streamed from ``content.xml`` with defusedxml's ``iterparse``;
        typed cell values (``office:value``, ``office:date-value``, ``office:boolean-value``), else the
        cell's text; repeated empty rows and columns (a sheet's tail) are not expanded."""
        import zipfile

        from defusedxml import DefusedXmlException
        from defusedxml.ElementTree import iterparse

        table, row_tag = _ods("table:table"), _ods("table:table-row")
        try:
            package = zipfile.ZipFile(self.path)
            many = _ods_sheets(package) > 1  # a row names its sheet only when there are several, as for XLSX
            content = package.open("content.xml")
        except (zipfile.BadZipFile, KeyError) as exc:
            raise IngestError(str(self.path), f"cannot open the spreadsheet ({type(exc).__name__}: {exc})") from None
        found: list[str] = []
        try:
            sheet = ""
            header: list[str] | None = None
            row = 0
            for event, el in iterparse(content, events=("start", "end")):
                if el.tag == table and event == "start":
                    sheet, header, row = el.get(_ods("table:name"), ""), None, 0
                    found.append(sheet)
                if event != "end" or el.tag != row_tag:
                    if event == "end" and el.tag == table:
                        el.clear()
                    continue
                if self.sheet and sheet != self.sheet:
                    el.clear()
                    continue
                cells = ods_row(el)
                repeat = min(int(el.get(_ods("table:number-rows-repeated"), "1") or 1), MAX_REPEAT)
                el.clear()
                if not any(c is not None and str(c).strip() for c in cells):
                    row += repeat if header is not None else 0
                    continue
                for _ in range(repeat):
                    if header is None:
                        header = _unique(list(cells))
                        break
                    row += 1
                    yield RawRecord(row, dict(zip(header, cells)), sheet=sheet if many else "")
        except DefusedXmlException as exc:
            raise IngestError(str(self.path), f"refused: the spreadsheet's XML declares entities ({type(exc).__name__})") from None
        except SyntaxError as exc:  # ParseError
            raise IngestError(str(self.path), f"cannot read the spreadsheet ({exc})") from None
        finally:
            content.close()
            package.close()
        if self.sheet and self.sheet not in found:
            raise IngestError(str(self.path), f"no sheet named '{self.sheet}' (sheets: {', '.join(found)})")


def _ods_sheets(package: Any) -> int:
    """How many sheets ``content.xml`` holds, by its ``<table:table`` tags (a byte scan, no parse)."""
    count, tail = 0, b""
    with package.open("content.xml") as fh:
        while chunk := fh.read(1 << 20):
            data = tail + chunk  # a tag cut by the chunk's end is whole here, and was not whole before
            count += data.count(b"<table:table ") + data.count(b"<table:table>")
            tail = data[-12:]  # shorter than a tag: nothing in it was counted
    return count


def _ods(name: str) -> str:
    prefix, local = name.split(":")
    ns = {"table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
          "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
          "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0"}[prefix]
    return f"{{{ns}}}{local}"


def xls_value(cell: Any, datemode: int) -> Any:
    """One xlrd cell as a record value (pure): a whole number as an int, a date as ISO text (``2024-03-01``,
    with the time when it has one; a time alone as ``11:11:11``), a boolean, text; empty, blank and error
    cells as ``None``."""
    import xlrd

    kind, value = cell.ctype, cell.value
    if kind == xlrd.XL_CELL_NUMBER:
        return int(value) if float(value).is_integer() and abs(value) < 2**53 else float(value)
    if kind == xlrd.XL_CELL_DATE:
        try:
            when = xlrd.xldate.xldate_as_datetime(value, datemode)
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return float(value)
        if 0 <= value < 1:  # a time of day alone (Excel counts it from day 0)
            return when.time().isoformat()
        return when.date().isoformat() if when.time() == when.min.time() else when.isoformat()
    if kind == xlrd.XL_CELL_BOOLEAN:
        return bool(value)
    if kind == xlrd.XL_CELL_TEXT:
        return str(value)
    return None


def ods_row(row: Any) -> list[Any]:
    """One ODS row's cell values (pure): numbers as numbers, dates as ISO text, booleans, else the text;
    trailing empty cells dropped, a repeated cell expanded up to ``MAX_REPEAT`` times."""
    value_type, value = _ods("office:value-type"), _ods("office:value")
    out: list[Any] = []
    for cell in row:
        if not cell.tag.endswith("table-cell"):
            continue
        kind = cell.get(value_type, "")
        if kind in ("float", "percentage", "currency"):
            raw: Any = cell.get(value)
            try:
                number = float(raw)
                raw = int(number) if number.is_integer() else number
            except (TypeError, ValueError):
                pass
        elif kind == "date":
            raw = cell.get(_ods("office:date-value"))
        elif kind == "boolean":
            raw = cell.get(_ods("office:boolean-value")) == "true"
        else:
            raw = "\n".join(" ".join("".join(p.itertext()).split()) for p in cell.iter(_ods("text:p"))) or None
        repeat = min(int(cell.get(_ods("table:number-columns-repeated"), "1") or 1), MAX_REPEAT)
        out.extend([raw] * repeat)
    while out and (out[-1] is None or out[-1] == ""):
        out.pop()
    return out


__all__ = ["FORMATS", "RawRecord", "RecordReader", "ods_row", "record_format", "xls_value"]
