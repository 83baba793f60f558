"""Loading pictures: formats, orientation, colour modes, and bad files that must not raise."""

from __future__ import annotations

import concurrent.futures
import io
import random
import struct
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from icarus.core.errors import CorruptInputError, FormatMismatchError, InputError
from icarus.identify.images import (
    IMAGE_EXTENSIONS,
    fit_within,
    image_format_of,
    load_image,
    read_image,
    sniff_image,
    to_rgb,
)
from icarus.identify.pdq import hamming, pdq_image
from tests.identify.synthetic import synthetic_image

PICTURE = synthetic_image(7, (400, 300))
PICTURE_PDQ = pdq_image(PICTURE)

SAVE_AS: dict[str, tuple[str, dict[str, Any]]] = {
    "jpeg": ("x.jpg", {"format": "JPEG", "quality": 90}),
    "png": ("x.png", {"format": "PNG"}),
    "gif": ("x.gif", {"format": "GIF"}),
    "bmp": ("x.bmp", {"format": "BMP"}),
    "tiff": ("x.tif", {"format": "TIFF"}),
    "webp": ("x.webp", {"format": "WEBP", "quality": 90}),
}


def _save(image: Image.Image, path: Path, **params: Any) -> Path:
    image.save(path, **params)
    return path


@pytest.mark.parametrize("fmt", sorted(SAVE_AS))
def test_every_format_loads_and_hashes_like_the_original(tmp_path: Path, fmt: str) -> None:
    name, params = SAVE_AS[fmt]
    path = _save(PICTURE, tmp_path / name, **params)
    assert path.suffix in IMAGE_EXTENSIONS
    assert image_format_of(path) == fmt
    loaded = read_image(path)
    assert loaded.ok and loaded.error is None and loaded.warnings == ()
    assert loaded.format == fmt and loaded.size == PICTURE.size
    image = load_image(path)
    assert image.mode == "RGB" and image.size == PICTURE.size
    # GIF's 256 colours cost a few bits; lossless formats cost none.
    assert hamming(pdq_image(image).value, PICTURE_PDQ.value) <= 12


@pytest.mark.parametrize("fmt", sorted(SAVE_AS))
def test_content_decides_the_format_not_the_name(tmp_path: Path, fmt: str) -> None:
    _, params = SAVE_AS[fmt]
    wrong = ".png" if fmt != "png" else ".jpg"
    for path in (tmp_path / f"renamed{wrong}", tmp_path / "carved.dat", tmp_path / "noext"):
        _save(PICTURE, path, **params)
        loaded = read_image(path)
        assert loaded.ok and loaded.format == fmt
        assert len(loaded.warnings) == 1 and f"content is {fmt.upper()}" in loaded.warnings[0]


def test_sniff_rejects_weak_or_unknown_signatures() -> None:
    assert sniff_image(b"BM" + bytes(30)) is None  # "BM" without a DIB header size
    assert sniff_image(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None
    assert sniff_image(b"") is None
    assert sniff_image(b"%PDF-1.7\n") is None


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    # Orientation 6: the stored pixels must be turned 90° clockwise to be shown upright.
    stored = PICTURE.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = _save(stored, tmp_path / "phone.jpg", format="JPEG", quality=92, exif=exif)
    loaded = read_image(path)
    assert loaded.image is not None and loaded.size == PICTURE.size
    assert hamming(pdq_image(loaded.image).value, PICTURE_PDQ.value) <= 8
    assert hamming(pdq_image(stored).value, PICTURE_PDQ.value) > 31  # the test can fail


def test_cmyk_jpeg_is_converted(tmp_path: Path) -> None:
    path = _save(PICTURE.convert("CMYK"), tmp_path / "print.jpg", format="JPEG", quality=92)
    with Image.open(path) as raw:
        assert raw.mode == "CMYK"
    image = load_image(path)
    assert image.mode == "RGB"
    assert hamming(pdq_image(image).value, PICTURE_PDQ.value) <= 8


def test_palette_png_is_converted(tmp_path: Path) -> None:
    palette = PICTURE.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    image = load_image(_save(palette, tmp_path / "palette.png"))
    assert image.mode == "RGB"
    assert hamming(pdq_image(image).value, PICTURE_PDQ.value) <= 12


def _cut_out(picture: Image.Image) -> Image.Image:
    """``picture`` with a transparent frame whose hidden pixels are black."""
    rgba = picture.convert("RGBA")
    alpha = np.zeros((picture.height, picture.width), dtype=np.uint8)
    alpha[60:240, 80:320] = 255
    pixels = np.asarray(rgba).copy()
    pixels[..., 3] = alpha
    pixels[alpha == 0, :3] = 0
    return Image.fromarray(pixels, "RGBA")


def test_transparency_is_shown_on_white(tmp_path: Path) -> None:
    cut = _cut_out(PICTURE)
    image = load_image(_save(cut, tmp_path / "cut.png"))
    pixels = np.asarray(image)
    assert (pixels[:60] == 255).all() and (
        pixels[60:240, 80:320] == np.asarray(PICTURE)[60:240, 80:320]
    ).all()
    on_white = pdq_image(image)
    assert on_white == pdq_image(cut)  # pdq_image composites the same way
    assert hamming(on_white.value, pdq_image(cut.convert("RGB")).value) > 31  # black ≠ white


def test_gif_transparency_and_first_frame(tmp_path: Path) -> None:
    first, second = synthetic_image(1, (200, 150)), synthetic_image(2, (200, 150))
    path = tmp_path / "anim.gif"
    first.save(path, save_all=True, append_images=[second], duration=100, loop=0)
    loaded = read_image(path)
    assert loaded.image is not None and loaded.warnings == ("2 frames: the first is used",)
    got = pdq_image(loaded.image).value
    assert hamming(got, pdq_image(first).value) <= 12
    assert hamming(got, pdq_image(second).value) > 31


def test_sixteen_bit_grey_is_scaled(tmp_path: Path) -> None:
    grey = np.asarray(PICTURE.convert("L"), dtype=np.uint16) * 257
    path = tmp_path / "deep.png"
    Image.fromarray(grey).save(path)
    image = load_image(path)
    assert np.abs(np.asarray(image.convert("L"), dtype=int) - grey // 257).max() <= 1
    assert to_rgb(Image.fromarray(grey)).getpixel((0, 0)) == (grey[0, 0] // 257,) * 3


def _truncated_jpeg(tmp_path: Path) -> Path:
    data = io.BytesIO()
    PICTURE.save(data, format="JPEG", quality=90)
    path = tmp_path / "cut.jpg"
    path.write_bytes(data.getvalue()[: len(data.getvalue()) // 2])
    return path


def test_truncated_jpeg_gives_an_error_result(tmp_path: Path) -> None:
    path = _truncated_jpeg(tmp_path)
    loaded = read_image(path)
    assert loaded.image is None and loaded.error is not None
    assert str(path) in loaded.error and "truncated" in loaded.error
    with pytest.raises(CorruptInputError, match="truncated"):
        load_image(path)


def test_random_bytes_named_jpg_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "noise.jpg"
    path.write_bytes(np.random.default_rng(0).bytes(5000))
    loaded = read_image(path)
    assert loaded.image is None and loaded.error is not None and "not a picture" in loaded.error
    with pytest.raises(FormatMismatchError):
        load_image(path)


def test_jpeg_header_with_garbage_body_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "garbage.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + np.random.default_rng(1).bytes(5000))
    loaded = read_image(path)
    assert loaded.image is None and loaded.error is not None and "JPEG" in loaded.error
    with pytest.raises(CorruptInputError):
        load_image(path)


def _png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(100)))
        + chunk(b"IEND", b"")
    )


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_claiming(100_000, 100_000))
    loaded = read_image(bomb)
    assert (
        loaded.image is None and loaded.error is not None and "decompression bomb" in loaded.error
    )
    normal = _save(PICTURE, tmp_path / "normal.png")
    limited = read_image(normal, max_pixels=1000)
    assert limited.error is not None and "exceeds the limit of 1000 pixels" in limited.error
    with pytest.raises(InputError, match="decompression-bomb"):
        load_image(normal, max_pixels=1000)


def test_missing_file_and_directory_give_errors(tmp_path: Path) -> None:
    for path in (tmp_path / "absent.jpg", tmp_path):
        loaded = read_image(path)
        assert loaded.image is None and loaded.error is not None and str(path) in loaded.error
        with pytest.raises(InputError):
            load_image(path)
    assert image_format_of(tmp_path / "absent.jpg") is None


def test_reduction_keeps_aspect_and_a_minimum_side(tmp_path: Path) -> None:
    assert fit_within(Image.new("RGB", (1600, 1004)), 512).size == (512, 321)
    assert fit_within(Image.new("RGB", (4000, 20)), 512).size == (512, 5)
    small = Image.new("RGB", (300, 200))
    assert fit_within(small, 512) is small
    big = _save(synthetic_image(3, (2400, 1800)), tmp_path / "big.jpg", format="JPEG")
    loaded = read_image(big, max_side=512)
    assert loaded.image is not None and loaded.image.size == (512, 384)
    assert loaded.size == (2400, 1800)


def test_damaged_files_never_raise(tmp_path: Path) -> None:
    # Seized media is full of partly overwritten files: every kind of damage gives an outcome.
    small = PICTURE.resize((120, 90))
    originals = []
    for _name, params in SAVE_AS.values():
        data = io.BytesIO()
        small.save(data, **params)
        originals.append(data.getvalue())
    rng = random.Random(2024)
    path = tmp_path / "damaged.bin"
    outcomes = {True: 0, False: 0}
    for _ in range(300):
        damaged = bytearray(rng.choice(originals))
        where = rng.randrange(len(damaged))
        match rng.randrange(3):
            case 0:
                for _ in range(rng.randint(1, 20)):
                    damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            case 1:
                del damaged[max(where, 1) :]
            case _:
                damaged[where:where] = rng.randbytes(rng.randint(1, 50))
        path.write_bytes(bytes(damaged))
        loaded = read_image(path, max_side=64)
        assert loaded.ok == (loaded.error is None)
        outcomes[loaded.ok] += 1
    assert outcomes[True] > 0 and outcomes[False] > 0  # both paths were exercised


def test_threads_get_the_same_results_and_leave_warning_filters_alone(tmp_path: Path) -> None:
    paths = [_save(synthetic_image(s, (300, 200)), tmp_path / f"{s}.png") for s in range(12)]
    paths.append(_truncated_jpeg(tmp_path))
    paths.append(tmp_path / "absent.gif")
    serial = [read_image(p, max_side=128) for p in paths]
    filters = list(warnings.filters)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda p: read_image(p, max_side=128), paths * 4))
    assert warnings.filters == filters
    for got, expected in zip(threaded, serial * 4, strict=True):
        assert (got.error, got.warnings, got.size) == (
            expected.error,
            expected.warnings,
            expected.size,
        )
        if expected.image is not None:
            assert got.image is not None and got.image.tobytes() == expected.image.tobytes()
