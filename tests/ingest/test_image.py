"""ImageLoader on real photos and made-up edge cases; shared image helpers."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from mmrag import registry
from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest.base import Loader
from mmrag.ingest.image import ImageLoader, clean_field, describe, filename_words, make_thumbnail, open_image
from mmrag.types import Modality, Span


def load_one(path: Path, config: IngestConfig):  # type: ignore[no-untyped-def]
    (seg,) = list(ImageLoader().load(path, config))
    return seg


def thumb_size(data: bytes) -> tuple[str, tuple[int, int]]:
    with Image.open(io.BytesIO(data)) as im:
        return im.format or "", im.size


@pytest.mark.parametrize(
    ("package", "inner", "name", "size", "words"),
    [
        ("skimage", "data/astronaut.png", "astronautPortrait.png", (512, 512), "astronaut portrait"),
        ("skimage", "data/coffee.png", "coffee_cup-2019.png", (600, 400), "coffee cup"),
        ("skimage", "data/chelsea.png", "IMG_0042 chelsea the cat.png", (451, 300), "chelsea the cat"),
        ("sklearn", "datasets/images/china.jpg", "china temple.jpg", (640, 427), "china temple"),
    ],
)
def test_real_photos(
    photo, package: str, inner: str, name: str, size: tuple[int, int], words: str, cfg: IngestConfig
) -> None:  # type: ignore[no-untyped-def]
    path = photo(package, inner, name)
    seg = load_one(path, cfg)
    assert seg.modality is Modality.IMAGE and seg.source == str(path) and seg.span == Span()
    assert seg.image.mode == "RGB" and seg.image.size == size
    fmt, tsize = thumb_size(seg.thumbnail)
    assert fmt == "JPEG" and max(tsize) == cfg.thumbnail_px
    assert abs(tsize[0] / tsize[1] - size[0] / size[1]) < 0.02
    assert seg.meta["width"] == str(size[0]) and seg.meta["height"] == str(size[1])
    assert seg.meta["format"] == ("JPEG" if name.endswith(".jpg") else "PNG")
    assert seg.meta["title"] == name
    assert seg.text == words  # astronaut.png's "File written by Adobe Photoshop" tag is dropped as junk


def test_loader_registered_and_protocol() -> None:
    loader = registry.resolve("loader", "image")()
    assert isinstance(loader, ImageLoader) and isinstance(loader, Loader) and loader.kinds == ("image",)


def test_large_image_is_capped_but_meta_keeps_original_size(tmp_path: Path, cfg: IngestConfig) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "wide.jpg"
    Image.fromarray(rng.integers(0, 255, (1500, 3000, 3), dtype=np.uint8)).save(path, quality=60)
    seg = load_one(path, IngestConfig(ocr=False, thumbnail_px=100))
    assert seg.image.size == (1024, 512)
    assert (seg.meta["width"], seg.meta["height"]) == ("3000", "1500")
    assert thumb_size(seg.thumbnail) == ("JPEG", (100, 50))


def test_exif_orientation_and_description(tmp_path: Path, cfg: IngestConfig) -> None:
    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:, :20] = (255, 0, 0)  # left half red
    arr[:, 20:] = (0, 0, 255)  # right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display = rotate 90 deg clockwise
    exif[0x010E] = "Harbour at dusk"
    exif[0x9C9E] = "boats;sea;evening".encode("utf-16-le") + b"\0\0"  # XPKeywords
    exif.get_ifd(0x8769)[0x9286] = b"ASCII\0\0\0taken from the pier"  # UserComment
    path = tmp_path / "DSC_1234.jpg"
    Image.fromarray(arr).save(path, exif=exif.tobytes(), quality=95)
    seg = load_one(path, cfg)
    assert seg.image.size == (20, 40)
    assert (seg.meta["width"], seg.meta["height"]) == ("20", "40")
    top, bottom = seg.image.getpixel((10, 5)), seg.image.getpixel((10, 35))
    assert top[0] > 200 and top[2] < 60  # red is on top after rotating clockwise
    assert bottom[2] > 200 and bottom[0] < 60
    assert seg.text == "Harbour at dusk taken from the pier. boats, sea, evening"
    assert seg.meta["description"] == "Harbour at dusk taken from the pier"
    assert seg.meta["keywords"] == "boats, sea, evening"


def test_png_text_title_transparency_and_16_bit(tmp_path: Path, cfg: IngestConfig) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Title", "Quarterly sales chart")
    rgba = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    rgba.putpixel((0, 0), (0, 0, 0, 255))
    path = tmp_path / "chart.png"
    rgba.save(path, pnginfo=info)
    seg = load_one(path, cfg)
    assert seg.meta["title"] == "Quarterly sales chart"
    assert seg.text == "Quarterly sales chart"  # file-name word "chart" is already in the title
    assert seg.image.getpixel((5, 5)) == (255, 255, 255)  # transparent -> white, not black
    assert seg.image.getpixel((0, 0)) == (0, 0, 0)

    deep = tmp_path / "deep.png"
    Image.fromarray(np.array([[65535, 32896]], dtype=np.uint16)).save(deep)
    img, info16 = open_image(deep, str(deep), cfg)
    assert [img.getpixel((x, 0)) for x in range(2)] == [(255, 255, 255), (128, 128, 128)]
    assert info16["format"] == "PNG"


def test_gif_first_frame(tmp_path: Path, cfg: IngestConfig) -> None:
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "blue")]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    seg = load_one(path, cfg)
    assert seg.image.getpixel((4, 4)) == (255, 0, 0)
    assert seg.meta["format"] == "GIF"


def test_corrupt_truncated_and_empty_images_raise_ingest_error(
    photo, tmp_path: Path, cfg: IngestConfig
) -> None:  # type: ignore[no-untyped-def]
    data = photo("skimage", "data/chelsea.png", "c.png").read_bytes()
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(IngestError, match="truncated") as err:
        ImageLoader().load(truncated, cfg)
    assert err.value.source == str(truncated)
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3)
    with pytest.raises(IngestError, match="re-export"):
        ImageLoader().load(junk, cfg)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(IngestError, match="empty"):
        ImageLoader().load(empty, cfg)
    with pytest.raises(IngestError, match="empty"):
        open_image(b"", "bytes", cfg)


def test_decompression_bomb_guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.png"
    Image.new("RGB", (100, 100), "white").save(path)
    with pytest.raises(IngestError, match="max_image_pixels") as err:
        ImageLoader().load(path, IngestConfig(ocr=False, max_image_pixels=5000))
    assert "10,000 pixels" in err.value.reason
    # Pillow's own guard (its limit below ours) is turned into the same clear error.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(IngestError, match="decompression-bomb"):
        ImageLoader().load(path, IngestConfig(ocr=False))


def test_pictures_under_our_limit_but_over_pillows_warning_mark_decode_silently(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "drawing.png"
    Image.new("RGB", (40, 40), "red").save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 1,600 px: Pillow warns (not refuses) here
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        img, info = open_image(path, "drawing.png", IngestConfig(ocr=False))
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
    assert img.size == (40, 40) and img.getpixel((5, 5)) == (255, 0, 0) and info["width"] == 40


def test_huge_transparent_png_is_reduced_before_colour_conversion(tmp_path: Path) -> None:
    # 5000 x 1000, transparent with an opaque red band: shrunk by a whole factor (premultiplied,
    # so no dark fringe), then to MAX_SIDE; colours and transparency-on-white survive
    rgba = np.zeros((1000, 5000, 4), dtype=np.uint8)
    rgba[:, 2000:3000] = (255, 0, 0, 255)
    path = tmp_path / "band.png"
    Image.fromarray(rgba, "RGBA").save(path)
    img, info = open_image(path, "band.png", IngestConfig(ocr=False))
    assert img.mode == "RGB" and img.size == (1024, 205) and (info["width"], info["height"]) == (5000, 1000)
    px = np.asarray(img)
    assert (px[:, :400] == 255).all() and (px[:, 450:570] == (255, 0, 0)).all()  # white, then pure red
    pal = Image.new("P", (3000, 10))  # palette pictures are never averaged index-wise
    pal.putpalette([0, 0, 255] + [0, 0, 0] * 255)
    buf = io.BytesIO()
    pal.save(buf, "PNG")
    small, _ = open_image(buf.getvalue(), "pal.png", IngestConfig(ocr=False))
    assert small.size == (1024, 3) and small.getpixel((500, 1)) == (0, 0, 255)


def test_make_thumbnail() -> None:
    img = Image.new("RGB", (300, 150), "green")
    assert thumb_size(make_thumbnail(img, 64) or b"") == ("JPEG", (64, 32))
    assert thumb_size(make_thumbnail(img, 1000) or b"") == ("JPEG", (300, 150))  # never upscaled
    assert make_thumbnail(img, 0) is None
    assert thumb_size(make_thumbnail(Image.new("RGBA", (10, 10)), 8) or b"")[0] == "JPEG"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("goldenGateBridge_2019-05.jpg", "golden gate bridge"),
        ("IMG_20230101_123456.jpg", ""),
        ("3f2a9c1e-8b7d-4e2f-9a1b-1c2d3e4f5a6b.png", ""),
        ("Caf\u00e9 au lait.webp", "caf\u00e9 au lait"),
        ("HTTPServerLogo.svg", "http server logo"),
        ("--rf my-cat  sleeping.final.png", "rf my cat sleeping final"),
        ("\u732b\u306e\u5199\u771f.jpg", "\u732b\u306e\u5199\u771f"),
        ("PXL_20240612_deadbeefcafe.jpg", ""),
        ("x.png", ""),
        ("1f469-1f3ff-200d-2764-fe0f-200d-1f469-1f3fc.svg", ""),  # Twemoji's code points, not words
        ("1f1f0-1f1ee.svg", ""),
        ("1F468-1F3FB-200D-1FAEF-200D-1F468-1F3FC.svg", ""),  # OpenMoji's
        ("1faa0.svg", ""),
        ("emoji_u1f600.png", "emoji"),
        ("face1.png", "face"),  # a word and a number: the word stays
        ("cafe2_menu.png", "cafe menu"),
    ],
)
def test_filename_words(name: str, words: str) -> None:
    assert filename_words(name) == words


@pytest.mark.parametrize(
    ("value", "clean"),
    [
        ("  A cat\x00 on\nthe sofa ", "A cat on the sofa"),
        ("OLYMPUS DIGITAL CAMERA", None),
        ("File written by Adobe Photoshop\xa8 5.0", None),
        ("cmp3.10.3.2Lq3 0x756ffbf7", None),
        (b"UNICODE\0" + "caf\u00e9".encode("utf-16-le"), "caf\u00e9"),
        ((72, 0, 105, 0, 33, 0), "Hi!"),
        (12345, None),
        ("x" * 2000, "x" * 500),
    ],
)
def test_clean_field(value: object, clean: str | None) -> None:
    assert clean_field(value) == clean


def test_describe_formats_and_dedupes() -> None:
    text = describe("Red Fox", "A red fox in snow", ["fox", "winter"], "red fox", "WILDLIFE WEEKLY")
    assert text == "Red Fox. A red fox in snow. fox, winter. OCR: WILDLIFE WEEKLY"
    assert describe() is None
    assert describe(name_words="beach sunset") == "beach sunset"


def test_an_iphone_heic_photo_is_a_picture_with_the_heic_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """HEIC is how an iPhone saves photos; with pillow-heif (the heic extra) it is read like a JPEG, and
    without it the file says which extra to install."""
    pillow_heif = pytest.importorskip("pillow_heif")
    from mmrag.ingest import image as image_mod
    from mmrag.ingest.sources import sniff_reason

    arr = np.zeros((48, 64, 3), dtype=np.uint8)
    arr[:, :32] = (220, 40, 40)
    pillow_heif.from_pillow(Image.fromarray(arr)).save(str(tmp_path / "IMG_0042.HEIC"), quality=95)
    path = tmp_path / "IMG_0042.HEIC"
    assert path.read_bytes()[4:12] == b"ftypheic"
    assert sniff_reason(path) == ("image", "")
    seg = next(iter(image_mod.ImageLoader().load(path, IngestConfig())))
    assert seg.image.size == (64, 48) and np.asarray(seg.image)[:, :16].mean(axis=(0, 1))[0] > 150
    from mmrag.ingest import heif

    monkeypatch.setattr(heif, "_HEIF", [False])  # as without the extra
    kind, reason = sniff_reason(path)
    assert kind is None and 'pip install "mmrag[heic]"' in reason
    with pytest.raises(IngestError, match="heic extra"):
        list(image_mod.ImageLoader().load(path, IngestConfig()))


PILLOW_FILES = Path(__file__).resolve().parents[1] / "data" / "pillow"


def test_pillows_own_test_pictures_land_or_say_why(tmp_path: Path) -> None:
    """Real files from Pillow's test suite: a Photoshop file and an icon whose header gives the wrong size are
    read (Pillow's warning about the icon does not reach the terminal); a damaged PSD and a damaged JPEG 2000 are named
    as damaged, not as formats mmrag does not read; an EPS says it needs Ghostscript (or is drawn by it)."""
    import warnings

    from mmrag.ingest.postscript import ghostscript
    from mmrag.ingest.sources import sniff_reason

    assert sniff_reason(PILLOW_FILES / "combined_larger_than_size.psd") == (
        None, "a damaged PSD picture: Pillow reads PSD files but not this one; re-export it as PNG or JPEG")
    assert sniff_reason(PILLOW_FILES / "unbound_variable.jp2") == (
        None, "a damaged JPEG2000 picture: Pillow reads JPEG2000 files but not this one; re-export it as PNG or JPEG")
    assert sniff_reason(PILLOW_FILES / "zero_bb_emptyline.eps") == ("image", "")  # a picture, not PostScript to read
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        psd, _ = open_image(PILLOW_FILES / "rgba.psd", "rgba.psd", IngestConfig(ocr=False))
        icon, info = open_image(PILLOW_FILES / "hopper_unexpected.ico", "icon.ico", IngestConfig(ocr=False))
    assert not [w for w in caught if "PIL" in w.filename], [str(w.message) for w in caught]
    assert psd.mode == "RGB" and min(psd.size) > 0 and info["format"] == "ICO" and np.asarray(icon).std() > 10
    if ghostscript() is not None:
        eps, eps_info = open_image(PILLOW_FILES / "zero_bb_emptyline.eps", "plot.eps", IngestConfig(ocr=False))
        assert np.asarray(eps).std() > 10  # Ghostscript drew the plot
        assert eps_info["format"] == "EPS" and eps.size == (2 * eps_info["width"], 2 * eps_info["height"])  # at 144 dpi
    else:
        with pytest.raises(IngestError, match=r"an EPS picture is drawn by Ghostscript, which is not installed: apt-get install ghostscript"):
            open_image(PILLOW_FILES / "zero_bb_emptyline.eps", "plot.eps", IngestConfig(ocr=False))
