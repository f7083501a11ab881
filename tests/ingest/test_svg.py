"""SvgLoader: rendering with resvg, safe metadata, hostile drawings."""

from __future__ import annotations

import base64
import gzip
import io
from pathlib import Path

import pytest
from PIL import Image

from mmrag import registry
from mmrag.config import IngestConfig
from mmrag.errors import IngestError, UnsupportedFile
from mmrag.ingest.image import SvgLoader
from mmrag.ingest.svg import natural_size, parse_length, strip_external_refs
from mmrag.types import Modality

NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
CLIPART = f"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 20010904//EN" "http://www.w3.org/TR/2001/REC-SVG-20010904/DTD/svg10.dtd">
<svg {NS} width="150pt" height="75pt">
  <metadata>
    <rdf:RDF xmlns:cc="http://web.resource.org/cc/" xmlns:dc="http://purl.org/dc/elements/1.1/"
             xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
      <cc:Work rdf:about="">
        <dc:title>red sports car</dc:title>
        <dc:description>a fast red car seen from the side</dc:description>
        <dc:subject><rdf:Bag><rdf:li>car</rdf:li><rdf:li></rdf:li><rdf:li>transport</rdf:li></rdf:Bag></dc:subject>
        <dc:creator><cc:Agent><dc:title>Jane Artist</dc:title></cc:Agent></dc:creator>
      </cc:Work>
    </rdf:RDF>
  </metadata>
  <rect x="0" y="0" width="100" height="100" fill="#ff0000"/>
</svg>
"""


def write(tmp_path: Path, name: str, markup: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(markup.encode() if isinstance(markup, str) else markup)
    return path


def load_one(path: Path, config: IngestConfig | None = None):  # type: ignore[no-untyped-def]
    (seg,) = list(SvgLoader().load(path, config or IngestConfig(ocr=False)))
    return seg


def test_registered() -> None:
    assert isinstance(registry.resolve("loader", "svg")(), SvgLoader)
    assert SvgLoader.kinds == ("svg",)


def test_open_clip_art_style_metadata_and_render(tmp_path: Path) -> None:
    seg = load_one(write(tmp_path, "sports_car_01.svg", CLIPART))
    assert seg.modality is Modality.IMAGE
    # 150pt x 75pt = 200 x 100 px, rendered up to 512 px on the long side
    assert seg.image.mode == "RGB" and seg.image.size == (512, 256)
    assert seg.image.getpixel((50, 50)) == (255, 0, 0)  # the rect (user units scaled by 512/200)
    assert seg.image.getpixel((400, 200)) == (255, 255, 255)  # transparent canvas -> white
    meta = dict(seg.meta)
    assert meta == {
        "title": "red sports car",  # the work's title, not the creator agent's "Jane Artist"
        "width": "200",
        "height": "100",
        "format": "SVG",
        "description": "a fast red car seen from the side",
        "keywords": "car, transport",
    }
    assert (
        seg.text == "red sports car. a fast red car seen from the side. car, transport"
    )  # name words already in
    fmt, size = Image.open(io.BytesIO(seg.thumbnail)).format, Image.open(io.BytesIO(seg.thumbnail)).size
    assert fmt == "JPEG" and size == (256, 128)


def test_title_desc_and_text_elements(tmp_path: Path) -> None:
    markup = (
        f'<svg {NS} viewBox="0 0 40 20"><title>Exit sign</title><desc>Green emergency exit</desc>'
        '<rect width="40" height="20" fill="green"/><text x="2" y="15" font-size="10">EXIT <tspan>HERE</tspan></text></svg>'
    )
    seg = load_one(write(tmp_path, "sign.svg", markup), IngestConfig(ocr=True))
    assert seg.meta["title"] == "Exit sign" and seg.meta["description"] == "Green emergency exit"
    assert seg.text == "Exit sign. Green emergency exit. text: EXIT HERE"  # <text> read directly, no OCR
    assert seg.image.size == (512, 256)


def test_external_references_are_not_loaded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    Image.new("RGB", (10, 10), "black").save(secret)
    inline = base64.b64encode(secret.read_bytes()).decode()
    markup = (
        f'<svg {NS} width="100" height="50">'
        f'<image href="{secret}" x="0" y="0" width="50" height="50"/>'
        f"<image xlink:href='file://{secret}' x='0' y='0' width='50' height='50'/>"
        f'<image href="data:image/png;base64,{inline}" x="50" y="0" width="50" height="50"/></svg>'
    )
    seg = load_one(write(tmp_path, "leak.svg", markup))
    assert seg.image.size == (512, 256)
    assert seg.image.getpixel((100, 128)) == (255, 255, 255)  # local file not pulled in
    assert seg.image.getpixel((400, 128)) == (0, 0, 0)  # inline data: image kept
    assert (
        strip_external_refs('<use href="#a"/><a xlink:href="http://x/y">')
        == '<use href="#a"/><a xlink:href="">'
    )


def test_svgz(tmp_path: Path) -> None:
    seg = load_one(write(tmp_path, "car.svgz", gzip.compress(CLIPART.encode())))
    assert seg.meta["title"] == "red sports car"


def test_svgz_bomb_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mmrag.ingest import svg

    monkeypatch.setattr(svg, "MAX_SVG_BYTES", 1000)
    path = write(tmp_path, "bomb.svgz", gzip.compress(b"<svg>" + b" " * 10_000 + b"</svg>"))
    with pytest.raises(IngestError, match="decompression bomb"):
        SvgLoader().load(path, IngestConfig(ocr=False))


def test_entities_illustrator_style_render_without_metadata(tmp_path: Path) -> None:
    markup = (
        '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY ns_svg "http://www.w3.org/2000/svg">]>'
        '<svg xmlns="&ns_svg;" width="20" height="10"><title>Hidden</title><rect width="20" height="10" fill="blue"/></svg>'
    )
    seg = load_one(write(tmp_path, "ai_export.svg", markup))
    assert seg.meta["title"] == "ai_export.svg"  # entities are never expanded by our parser
    assert seg.image.size == (512, 256) and seg.image.getpixel((256, 128)) == (0, 0, 255)


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    ents = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    markup = f'<?xml version="1.0"?><!DOCTYPE svg [{ents}]><svg {NS} width="10" height="10"><text>&a9;</text></svg>'
    with pytest.raises(IngestError, match="cannot render SVG"):
        SvgLoader().load(write(tmp_path, "laughs.svg", markup), IngestConfig(ocr=False))


@pytest.mark.parametrize(
    ("markup", "error", "match"),
    [
        ('<?xml version="1.0"?><note><to>x</to></note>', UnsupportedFile, "not <svg>"),
        (f"<svg {NS}><rect></svg>", IngestError, "not well-formed"),
        ("", IngestError, "empty"),
        (f'<svg {NS} width="0" height="0"></svg>', IngestError, "cannot render"),
    ],
)
def test_bad_drawings(tmp_path: Path, markup: str, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        SvgLoader().load(write(tmp_path, "bad.svg", markup), IngestConfig(ocr=False))


def test_huge_declared_size_is_rendered_small(tmp_path: Path) -> None:
    seg = load_one(
        write(
            tmp_path,
            "banner.svg",
            f'<svg {NS} width="100000" height="1000"><rect width="10" height="10"/></svg>',
        )
    )
    assert seg.image.size[0] == 1024 and seg.image.size[1] in (10, 11)  # resvg rounds 10.24 up
    assert (seg.meta["width"], seg.meta["height"]) == ("100000", "1000")


@pytest.mark.parametrize(
    ("value", "px"),
    [
        ("10", 10.0),
        ("10px", 10.0),
        ("3in", 288.0),
        ("75pt", 100.0),
        ("2.54cm", 96.0),
        ("50%", None),
        ("-3", None),
        ("abc", None),
        (None, None),
    ],
)
def test_parse_length(value: str | None, px: float | None) -> None:
    got = parse_length(value)
    assert got == pytest.approx(px) if px is not None else got is None


def test_natural_size() -> None:
    assert natural_size({"viewBox": "0 0 40 20"}) == (40, 20)
    assert natural_size({"width": "80", "viewBox": "0,0,40,20"}) == (80, 40)
    assert natural_size({"width": "100%", "height": "100%", "viewBox": "0 0 7 9"}) == (7, 9)
    assert natural_size({}) == (100, 100)


def test_real_open_clip_art_drawing_if_cached() -> None:
    root = Path(__file__).resolve().parents[2] / ".cache/train/openclipart-svg/usr/share/openclipart/svg"
    path = root / "recreation/holiday/thanksgiving/turkey_on_platter_01.svg"
    if not path.is_file():
        pytest.skip("Open Clip Art not fetched (scripts/fetch_training_data.sh)")
    seg = load_one(path)  # sized in pt: needs dpi=96 in the resvg call
    assert max(seg.image.size) == 560 and seg.meta["format"] == "SVG"
    assert seg.text and "turkey" in seg.text.lower()


def test_drawings_nested_deeper_than_the_main_stack_allows_do_not_crash(tmp_path: Path) -> None:
    """Both drawings made resvg overflow the main thread's stack at ~300 levels: a segmentation fault that ended
    the whole `mmrag add`. Rendered on a thread with a large stack, the nested one renders and resvg's own node
    limit refuses the chain of references."""
    nested = tmp_path / "nested.svg"
    nested.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">' + "<g>" * 600
                      + '<rect width="8" height="8" fill="red"/>' + "</g>" * 600 + "</svg>")
    (seg,) = [s for s in SvgLoader().load(nested, IngestConfig(ocr=False)) if s.image is not None]
    assert seg.image.getpixel((5, 5))[0] > 200
    chain = "".join(f'<g id="l{i}"><use xlink:href="#l{i - 1}"/></g>' for i in range(1, 600))
    chained = tmp_path / "chained.svg"
    chained.write_text('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" '
                       f'height="10"><defs><rect id="l0" width="1" height="1"/>{chain}</defs><use xlink:href="#l599"/></svg>')
    with pytest.raises(IngestError, match="more elements than the renderer allows"):
        list(SvgLoader().load(chained, IngestConfig(ocr=False)))
