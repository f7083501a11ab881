"""Record files without models: readers, mapping, typed values, field filters in Python and the sniffer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmrag.errors import FilterError, IngestError
from mmrag.fields import convert, field_name, infer_type
from mmrag.ingest.record_fields import check_where
from mmrag.ingest.record_mapping import parse_flags, resolve
from mmrag.ingest.record_readers import RecordReader, record_format
from mmrag.ingest.records import RowError, build_item
from mmrag.ingest.sniffing import sniff_head
from mmrag.stores.filters import parse, predicate, to_lance, to_milvus

CATALOGUE = Path(__file__).parents[1] / "data" / "catalogue" / "catalogue.csv"


def test_sniffer_tells_record_files() -> None:
    assert sniff_head(b"sku,title\n1,a\n", ".csv") == ("records", "")
    assert sniff_head(b'{"a": 1}\n{"a": 2}\n', ".jsonl") == ("records", "")
    assert sniff_head(b'[{"a": 1}]', ".json") == ("records", "")
    assert sniff_head(b'{"a": 1}', ".json") == ("text", "")  # a JSON document, not a table
    assert sniff_head(b"PAR1\x15\x04", ".parquet") == ("records", "")
    assert sniff_head(b"PK\x03\x04" + b"\x00" * 40, ".xlsx") == ("records", "")
    assert record_format(Path("x.json"), b"  [") == "json"
    assert record_format(Path("x.txt"), b"a,b") is None


def test_values_are_typed() -> None:
    assert convert("24.50", "number") == 24.5 and convert("$1,299", "number") == 1299
    assert convert("2024/05/01", "date") == "2024-05-01"
    assert convert("2024-05-01 09:30:00", "date") == "2024-05-01T09:30:00"
    assert convert("Yes", "bool") == "yes" and convert(False, "bool") == "no"
    assert convert(["linen", "summer"], "text") == "linen, summer"
    assert convert("  ", "number") is None
    with pytest.raises(ValueError, match="not a number"):
        convert("cheap", "number")
    with pytest.raises(ValueError, match="not a date"):
        convert("soon", "date")
    assert infer_type(["1", "2.5", ""]) == "number" and infer_type(["2024-01-01", None]) == "date"
    assert infer_type(["1", "x"]) == "text" and infer_type(["https://a.b/c"]) == "link"
    assert field_name("Unit Price ($)") == "unit_price" and field_name("2nd colour") == "f_2nd_colour"


def test_csv_auto_mapping_finds_id_text_pictures_and_types() -> None:
    rows = list(RecordReader(CATALOGUE, "csv").records())
    assert len(rows) == 24 and rows[0].row == 1 and rows[0].values["sku"] == "H-100"
    m = resolve(CATALOGUE, list(rows[0].values), [r.values for r in rows])
    assert m.id == "sku" and m.image == ("photo",) and m.title == "title"
    assert "description" in m.text and "price" not in m.text and "link" not in m.text
    assert m.types["price"] == "number" and m.types["added"] == "date" and m.types["link"] == "link"
    assert m.types["in_stock"] == "bool" and "photo" not in m.fields
    item = build_item(rows[1], m, str(CATALOGUE), CATALOGUE.parent)
    assert item.title == "Linen summer hat" and item.fields["price"] == 24.5
    assert item.fields["added"] == "2024-05-02" and item.pictures == ("pictures/sun-hat.png",)
    assert item.text.startswith("Linen summer hat. A wide-brim") and item.meta["row"] == "2"


def test_flags_and_sidecar_override_auto(tmp_path: Path) -> None:
    path = tmp_path / "shop.csv"
    path.write_text("code,name,cost,pic\nA1,Hat,12,x.png\n", encoding="utf-8")
    (tmp_path / "shop.mmrag.toml").write_text('id = "code"\ntext = ["name"]\n[types]\ncost = "text"\n')
    rows = list(RecordReader(path, "csv").records())
    m = resolve(path, ["code", "name", "cost", "pic"], [r.values for r in rows], flags="type.cost=number;image=pic")
    assert m.id == "code" and m.text == ("name",) and m.types["cost"] == "number" and m.image == ("pic",)
    assert parse_flags("text=a,b;fetch_urls=yes") == {"text": ["a", "b"], "fetch_urls": True}
    with pytest.raises(IngestError, match="not in the file"):
        resolve(path, ["code", "name"], [], flags="id=sku")
    with pytest.raises(IngestError, match="unknown mapping key"):
        parse_flags("colour=red")


def test_bad_rows_raise_row_errors_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("id,title,price,photo\n1,Hat,12,a.png\n2,Cap,cheap,\n,Scarf,3,\n", encoding="utf-8")
    (tmp_path / "a.png").write_bytes(b"not checked here")
    rows = list(RecordReader(path, "csv").records())
    m = resolve(path, ["id", "title", "price", "photo"], [rows[0].values], flags="type.price=number;image=photo")
    assert build_item(rows[0], m, str(path), tmp_path).fields["price"] == 12
    with pytest.raises(RowError, match="column 'price': 'cheap' is not a number"):
        build_item(rows[1], m, str(path), tmp_path)
    with pytest.raises(RowError, match="id column 'id' is empty"):
        build_item(rows[2], m, str(path), tmp_path)
    (tmp_path / "a.png").unlink()
    with pytest.raises(RowError, match="picture 'a.png' not found"):
        build_item(rows[0], m, str(path), tmp_path)


def test_readers_jsonl_json_parquet_xlsx_and_broken_lines(tmp_path: Path) -> None:
    jl = tmp_path / "c.jsonl"
    jl.write_text('{"id": 1, "tags": ["a", "b"]}\n\nnot json\n[1]\n{"id": 2}\n', encoding="utf-8")
    got = list(RecordReader(jl, "jsonl").records())
    assert [(r.row, bool(r.error)) for r in got] == [(1, False), (2, True), (3, True), (4, False)]
    assert "not valid JSON" in got[1].error and "not an object" in got[2].error
    js = tmp_path / "c.json"
    js.write_text(json.dumps([{"id": 1}, 5]), encoding="utf-8")
    assert [r.error == "" for r in RecordReader(js, "json").records()] == [True, False]

    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": [1, 2, 3], "price": [1.5, 2.0, None]}), tmp_path / "c.parquet")
    reader = RecordReader(tmp_path / "c.parquet", "parquet")
    assert reader.estimate() == 3 and [r.values["price"] for r in reader.records()] == [1.5, 2.0, None]

    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.title = "Hats"
    book.active.append(["sku", "title", "price"])
    book.active.append(["H1", "Top hat", 89])
    other = book.create_sheet("Shoes")
    other.append(["sku", "title", "price"])
    other.append(["S1", "Boot", 99])
    book.save(tmp_path / "c.xlsx")
    rows = list(RecordReader(tmp_path / "c.xlsx", "xlsx").records())
    assert [(r.sheet, r.row, r.values["title"]) for r in rows] == [("Hats", 1, "Top hat"), ("Shoes", 1, "Boot")]
    only = list(RecordReader(tmp_path / "c.xlsx", "xlsx", sheet="Shoes").records())
    assert [r.values["sku"] for r in only] == ["S1"]

    csv = tmp_path / "wide.csv"
    csv.write_text("a,b\n1,2\n3,4,5\n", encoding="utf-8")
    bad = [r for r in RecordReader(csv, "csv").records() if r.error]
    assert bad[0].row == 2 and "3 cells but the header has 2" in bad[0].error


FIELDS = {"price": "number", "brand": "text", "tags": "text", "added": "date"}
ROWS = [
    {"fields": json.dumps({"price": 12.5, "brand": "Acme", "tags": "linen, summer", "added": "2024-05-01"})},
    {"fields": json.dumps({"price": 60, "brand": "Bo", "added": "2023-01-01"})},
    {"fields": json.dumps({"price": "9"})},  # a text value: numbers compare through try_cast, like the stores
    {"fields": "{}"},
]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("price < 50", [0, 2]),
        ("price < 50 AND brand = 'Acme' AND tags LIKE '%linen%'", [0]),
        ("added >= '2024-01-01'", [0]),
        ("NOT (price < 50)", [1]),  # rows without a price match neither side (SQL NULL logic)
        ("brand IN ('Bo', 'Zed') OR price = 9", [1, 2]),
        ("NOT (tags LIKE '%linen%')", []),
        ("fields.brand != 'Acme'", [1]),
    ],
)
def test_field_filters_typed_and_null_aware(where: str, expected: list[int]) -> None:
    node = parse(check_where(where, FIELDS) or "")
    test = predicate(node)
    assert [i for i, r in enumerate(ROWS) if test(r)] == expected
    assert "json_get_string(`fields`" in to_lance(node) and 'fields["' in to_milvus(node)


def test_where_checks_field_names_and_literal_types() -> None:
    assert check_where("price < 50 AND source LIKE '%x%'", FIELDS) == "fields.price < 50 AND source LIKE '%x%'"
    with pytest.raises(FilterError, match=r"unknown column 'prise'(.|\n)*price \(number\)"):
        check_where("prise < 50", FIELDS)
    with pytest.raises(FilterError, match="compare it to a number without quotes"):
        check_where("price < '50'", FIELDS)
    with pytest.raises(FilterError, match="quote the value"):
        check_where("brand = 5", FIELDS)
    with pytest.raises(FilterError, match="unknown column 'price'"):
        check_where("price < 5", {})  # an index without records


ODS_CONTENT = (
    '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet>'
    '<table:table table:name="Hats">'
    "<table:table-row><table:table-cell office:value-type=\"string\"><text:p>sku</text:p></table:table-cell>"
    '<table:table-cell office:value-type="string"><text:p>title</text:p></table:table-cell>'
    '<table:table-cell office:value-type="string"><text:p>price</text:p></table:table-cell>'
    '<table:table-cell office:value-type="string"><text:p>added</text:p></table:table-cell>'
    '<table:table-cell table:number-columns-repeated="16380"/></table:table-row>'
    '<table:table-row><table:table-cell office:value-type="string"><text:p>H1</text:p></table:table-cell>'
    '<table:table-cell office:value-type="string"><text:p>Linen <text:span>summer</text:span> hat</text:p></table:table-cell>'
    '<table:table-cell office:value-type="currency" office:value="24.5"><text:p>€24.50</text:p></table:table-cell>'
    '<table:table-cell office:value-type="date" office:date-value="2024-05-01"><text:p>01/05/24</text:p></table:table-cell>'
    "</table:table-row>"
    '<table:table-row table:number-rows-repeated="1048570"><table:table-cell table:number-columns-repeated="1024"/>'
    "</table:table-row>"
    "</table:table>"
    '<table:table table:name="Shoes"><table:table-row><table:table-cell office:value-type="string"><text:p>sku</text:p>'
    '</table:table-cell></table:table-row><table:table-row><table:table-cell office:value-type="float" office:value="7">'
    "<text:p>7</text:p></table:table-cell></table:table-row></table:table>"
    "</office:spreadsheet></office:body></office:document-content>"
)


def test_an_opendocument_spreadsheet_is_a_catalogue(tmp_path: Path) -> None:
    """LibreOffice Calc's .ods: typed values, every sheet, and the 16,384-column / million-row empty tail a
    sheet is saved with is not expanded."""
    import zipfile

    from mmrag.ingest.sources import sniff_reason

    path = tmp_path / "shop.ods"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", ODS_CONTENT)
    assert sniff_reason(path) == ("records", "") and record_format(path, path.read_bytes()[:8]) == "ods"
    rows = list(RecordReader(path, "ods").records())
    assert [(r.sheet, r.row, r.values) for r in rows] == [
        ("Hats", 1, {"sku": "H1", "title": "Linen summer hat", "price": 24.5, "added": "2024-05-01"}),
        ("Shoes", 1, {"sku": 7}),
    ]
    assert [r.values["sku"] for r in RecordReader(path, "ods", sheet="Shoes").records()] == [7]
    with pytest.raises(IngestError, match="no sheet named 'Socks'"):
        list(RecordReader(path, "ods", sheet="Socks").records())
