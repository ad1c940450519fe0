"""Image uploads: format by content, pixel caps, truncation, orientation, metadata stripping, thumbnails, dHash.

Every fixture is drawn here with Pillow; no binary files live in the repository.
"""
from __future__ import annotations

import hashlib
import struct
import time
import zlib
from io import BytesIO

import imagehash
import numpy as np
import pytest
from PIL import ExifTags, Image, ImageDraw, ImageFile, ImageOps, JpegImagePlugin
from PIL.PngImagePlugin import PngImageFile, PngInfo

from tasks import media
from tasks.media import ACCEPTED_FORMATS, MediaRejected, dhash, hamming, near_duplicates, process_image

SECRET = b"SECRET-MARKER-7f3a"


def photo(width: int = 320, height: int = 240, seed: int = 0, mode: str = "RGB") -> Image.Image:
    """A smooth, photo-like picture (gradients plus a few blobs), so JPEG and hashing behave realistically."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    channels = []
    for _ in range(3):
        fx, fy, phase = rng.uniform(0.005, 0.04, 2).tolist() + [rng.uniform(0, 6.28)]
        channels.append(127 + 100 * np.sin(x * fx + phase) * np.cos(y * fy))
    for _ in range(4):
        cx, cy, radius = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(10, 60)
        blob = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * radius**2))
        channels = [channel + rng.uniform(-90, 90) * blob for channel in channels]
    array = np.clip(np.stack(channels, axis=-1), 0, 255).astype(np.uint8)
    image = Image.fromarray(array).convert(mode)
    if "A" in mode:  # a real alpha channel, so encoders cannot drop it as fully opaque
        image.putalpha(Image.fromarray((x * 255 / max(width - 1, 1)).astype(np.uint8)))
    return image


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    out = BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def decoded(data: bytes) -> Image.Image:
    image = Image.open(BytesIO(data))
    image.load()
    return image


def oracle(image: Image.Image) -> int:
    return int(str(imagehash.dhash(image)), 16)


def png_with_header(width: int, height: int) -> bytes:
    """A valid PNG header declaring width x height greyscale pixels, followed by a tiny IDAT."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


def exif_with_gps(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyCam"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 31.0, 12.5)
    gps[ExifTags.GPS.GPSMapDatum] = SECRET.decode()
    return exif


# --- formats ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ACCEPTED_FORMATS)
def test_each_accepted_format_round_trips_with_its_dimensions(fmt):
    data = encode(photo(321, 123), fmt)
    result = process_image(data)
    assert (result.width, result.height, result.source_format) == (321, 123, fmt)
    assert result.content_type == ("image/jpeg" if fmt == "JPEG" else "image/png")
    assert result.sha256 == hashlib.sha256(result.data).hexdigest()
    stored = decoded(result.data)
    assert stored.format == ("JPEG" if fmt == "JPEG" else "PNG") and stored.size == (321, 123)
    if fmt in ("PNG", "TIFF", "BMP", "WEBP"):  # lossless sources (WebP here: Pillow's default is lossy, so
        reference = np.asarray(decoded(data).convert("RGB"))  # compare with what the WebP decodes to)
        assert np.array_equal(np.asarray(stored.convert("RGB")), reference)


@pytest.mark.parametrize("data", [
    b"",
    b"<!doctype html><html><body>not a photo</body></html>",
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>',
    b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
    bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8)),
], ids=["empty", "html", "svg", "pdf", "random"])
def test_anything_that_is_not_an_accepted_image_is_refused_in_plain_words(data):
    with pytest.raises(MediaRejected) as refused:
        process_image(data)
    assert refused.value.reason == str(refused.value)
    assert "not an image in a format we accept" in refused.value.reason


def test_other_real_image_formats_are_refused_too():
    with pytest.raises(MediaRejected, match="not an image"):
        process_image(encode(photo(32, 32), "ICO"))


# --- size limits and corrupt files ------------------------------------------------------------------------------

def test_a_400_megapixel_header_is_refused_before_any_pixels_exist():
    started = time.perf_counter()
    with pytest.raises(MediaRejected, match=r"400\.0 MP; the limit is 40 MP"):
        process_image(png_with_header(20_000, 20_000))
    assert time.perf_counter() - started < 1.0


def test_pillows_bomb_warning_is_a_refusal_even_under_a_higher_limit_of_ours(recwarn):
    with pytest.raises(MediaRejected, match=r"90\.0 MP; the limit is 89\.\d+ MP"):
        process_image(png_with_header(10_000, 9_000), max_pixels=100_000_000)
    assert not [w for w in recwarn.list if issubclass(w.category, Image.DecompressionBombWarning)]


def test_our_own_pixel_cap_is_checked_from_the_header_without_decoding(monkeypatch):
    def must_not_decode(self):
        raise AssertionError("decoded a file that the header already rules out")
    monkeypatch.setattr(PngImageFile, "load", must_not_decode)
    with pytest.raises(MediaRejected, match=r"50\.0 MP; the limit is 40 MP"):
        process_image(png_with_header(10_000, 5_000))


def test_the_pixel_cap_is_configurable():
    data = encode(photo(200, 100), "PNG")
    with pytest.raises(MediaRejected, match=r"has 0\.02 MP; the limit is 0\.01 MP"):
        process_image(data, max_pixels=10_000)
    assert process_image(data, max_pixels=20_000).width == 200


def test_the_warning_filter_and_pillow_globals_are_left_as_they_were(recwarn):
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(MediaRejected):
        process_image(png_with_header(10_000, 9_000))
    assert Image.MAX_IMAGE_PIXELS == before and ImageFile.LOAD_TRUNCATED_IMAGES is False
    Image.open(BytesIO(png_with_header(10_000, 9_000)))  # outside process_image it is a warning again
    assert any(issubclass(w.category, Image.DecompressionBombWarning) for w in recwarn.list)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_file_cut_in_half_is_refused_as_truncated(fmt):
    data = encode(photo(), fmt)
    with pytest.raises(MediaRejected, match="truncated or corrupt"):
        process_image(data[: len(data) // 2])


def test_a_300_frame_gif_is_accepted_quickly_as_its_first_frame_stored_as_png():
    frames = [Image.new("P", (64, 48), index % 256) for index in range(300)]
    for index, frame in enumerate(frames):
        frame.putpalette([channel for value in range(256) for channel in (value, 255 - value, index % 256)])
    frames[0].paste(7, (0, 0, 32, 24))
    first = frames[0].convert("RGB")
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=40, loop=0)
    started = time.perf_counter()
    result = process_image(data)
    assert time.perf_counter() - started < 1.0
    assert (result.source_format, result.content_type, result.width, result.height) == ("GIF", "image/png", 64, 48)
    stored = decoded(result.data)
    assert getattr(stored, "n_frames", 1) == 1
    assert np.array_equal(np.asarray(stored.convert("RGB")), np.asarray(first))


# --- orientation and metadata ----------------------------------------------------------------------------------

def test_an_orientation_6_jpeg_comes_out_upright_with_swapped_dimensions_and_no_exif():
    stored_way = Image.new("RGB", (80, 40), "red")
    stored_way.paste((0, 0, 255), (40, 0, 80, 40))  # left half red, right half blue, as the camera wrote it
    data = encode(stored_way, "JPEG", quality=95, exif=exif_with_gps(orientation=6), comment=b"COM-" + SECRET)
    result = process_image(data)
    assert (result.width, result.height) == (40, 80)
    upright = decoded(result.data)
    assert upright.size == (40, 80) and not upright.getexif()
    # Orientation 6 means "turn 90 degrees clockwise to view": the left (red) half becomes the top.
    assert upright.getpixel((20, 10))[0] > 200 and upright.getpixel((20, 70))[2] > 200
    assert hamming(result.phash, oracle(ImageOps.exif_transpose(decoded(data)))) <= 2
    assert SECRET not in result.data


def test_gps_exif_xmp_and_comments_are_stripped_from_an_upright_jpeg():
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>' + SECRET + b"</rdf:RDF></x:xmpmeta>"
    data = encode(photo(), "JPEG", exif=exif_with_gps(orientation=1), comment=SECRET + b"-comment", xmp=xmp,
                  icc_profile=b"\x00" * 128 + SECRET)
    assert data.count(SECRET) == 4  # the fixture really carries it in EXIF GPS, COM, XMP and ICC
    result = process_image(data)
    stored = decoded(result.data)
    assert not stored.getexif() and not stored.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert SECRET not in result.data and b"SpyCam" not in result.data
    assert not {"exif", "comment", "xmp", "icc_profile"} & stored.info.keys()


def test_metadata_is_stripped_from_pngs_too():
    info = PngInfo()
    info.add_text("Comment", SECRET.decode())
    info.add_itxt("XML:com.adobe.xmp", SECRET.decode())
    data = encode(photo(), "PNG", pnginfo=info, exif=exif_with_gps(), icc_profile=b"\x00" * 128 + SECRET)
    result = process_image(data)
    assert SECRET not in result.data and b"SpyCam" not in result.data
    stored = decoded(result.data)
    assert not stored.getexif() and not stored.text  # iCCP is compressed, so look at what Pillow reads back
    assert not {"icc_profile", "exif", "Comment", "XML:com.adobe.xmp"} & stored.info.keys()


def test_an_upright_jpeg_keeps_its_exact_pixels_without_re_encoding():
    for options in ({"quality": 80}, {"quality": 90, "progressive": True}, {"restart_marker_blocks": 2},
                    {"quality": 75, "subsampling": 0}):
        data = encode(photo(301, 199, seed=3), "JPEG", exif=exif_with_gps(), comment=SECRET, **options)
        result = process_image(data)
        assert result.data != data and len(result.data) < len(data) and SECRET not in result.data
        assert np.array_equal(np.asarray(decoded(result.data)), np.asarray(decoded(data))), options
        assert hamming(result.phash, oracle(decoded(data))) <= 2


def test_the_jfif_header_is_kept_but_its_embedded_thumbnail_is_not():
    jfif = b"JFIF\x00\x01\x02\x01\x00\x48\x00\x48\x02\x01" + SECRET[:6]  # declares a 2x1 RGB thumbnail
    data = encode(photo(), "JPEG")
    assert data[2:4] == b"\xff\xe0"
    app0_length = int.from_bytes(data[4:6], "big")
    data = data[:4] + (len(jfif) + 2).to_bytes(2, "big") + jfif + data[4 + app0_length:]
    result = process_image(data)
    assert result.data[:4] == b"\xff\xd8\xff\xe0" and result.data[6:11] == b"JFIF\x00"
    assert SECRET[:6] not in result.data and result.data[18:20] == b"\x00\x00"
    assert np.array_equal(np.asarray(decoded(result.data)), np.asarray(decoded(data)))


def test_a_multi_picture_jpeg_keeps_only_the_first_picture():
    second = photo(seed=9)
    data = encode(photo(seed=8), "MPO", save_all=True, append_images=[second], exif=exif_with_gps())
    result = process_image(data)
    assert result.source_format == "MPO" and result.content_type == "image/jpeg"
    assert result.data.count(b"\xff\xd8") == 1 and result.data.endswith(b"\xff\xd9")
    assert len(result.data) < len(data) / 1.5 and SECRET not in result.data
    assert np.array_equal(np.asarray(decoded(result.data)), np.asarray(decoded(data)))


# --- colour modes ----------------------------------------------------------------------------------------------

def test_a_cmyk_jpeg_is_stored_as_is_with_an_rgb_thumbnail():
    data = encode(photo(mode="CMYK"), "JPEG", quality=90)
    result = process_image(data)
    stored = decoded(result.data)
    assert (result.content_type, stored.mode, stored.size) == ("image/jpeg", "CMYK", (320, 240))
    assert np.array_equal(np.asarray(stored), np.asarray(decoded(data)))
    assert decoded(result.thumbnail).mode == "RGB"


def test_a_turned_cmyk_jpeg_is_re_encoded_as_rgb():
    data = encode(photo(mode="CMYK"), "JPEG", exif=exif_with_gps(orientation=8))
    result = process_image(data)
    assert (decoded(result.data).mode, result.width, result.height) == ("RGB", 240, 320)


def test_a_palette_png_with_transparency_becomes_rgba_and_keeps_its_alpha():
    image = Image.new("P", (40, 30), 1)
    image.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * 759)
    image.paste(2, (0, 0, 20, 30))
    result = process_image(encode(image, "PNG", transparency=1))
    stored = decoded(result.data)
    assert stored.mode == "RGBA"
    assert stored.getpixel((5, 5)) == (0, 255, 0, 255) and stored.getpixel((30, 5))[3] == 0
    assert decoded(result.thumbnail).getpixel((30, 5)) >= (250, 250, 250)  # transparent becomes white


@pytest.mark.parametrize("mode, fmt", [("CMYK", "TIFF"), ("YCbCr", "TIFF"), ("RGBA", "WEBP"), ("LA", "PNG"),
                                       ("L", "BMP"), ("1", "PNG"), ("P", "GIF")])
def test_other_colour_modes_are_stored_in_a_mode_png_keeps(mode, fmt):
    options = {"lossless": True} if fmt == "WEBP" else {}
    result = process_image(encode(photo(mode=mode), fmt, **options))
    stored = decoded(result.data)
    assert stored.format == "PNG" and stored.size == (320, 240)
    assert stored.mode in ("1", "L", "LA", "P", "RGB", "RGBA")
    assert ("A" in stored.mode) == ("A" in mode)


def test_16_bit_and_float_greys_are_stretched_to_8_bits_rather_than_clipped():
    ramp = np.tile(np.arange(0, 4096, 16, dtype=np.uint16), (8, 1))  # a 12-bit camera's range
    result = process_image(encode(Image.fromarray(ramp), "PNG"))
    stored = np.asarray(decoded(result.data))
    assert stored.dtype == np.uint8 and stored.min() == 0 and stored.max() == 255
    assert np.all(np.diff(stored[0].astype(int)) >= 0) and len(np.unique(stored)) > 200
    unit = Image.fromarray(np.linspace(0, 1, 256 * 4, dtype=np.float32).reshape(4, 256), "F")
    floats = np.asarray(decoded(process_image(encode(unit, "TIFF")).data))
    assert floats.min() == 0 and floats.max() == 255


# --- thumbnails ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_thumbnails_are_jpegs_whose_longest_side_fits(fmt):
    data = encode(photo(1000, 400), fmt)
    default = decoded(process_image(data).thumbnail)
    assert default.format == "JPEG" and default.mode == "RGB" and default.size == (256, 102)
    assert decoded(process_image(data, thumbnail_size=64).thumbnail).size == (64, 26)
    tall = decoded(process_image(encode(photo(90, 700), fmt), thumbnail_size=100).thumbnail)
    assert max(tall.size) == 100 and tall.height == 100


def test_small_images_are_not_enlarged_for_their_thumbnail():
    assert decoded(process_image(encode(photo(50, 20), "PNG")).thumbnail).size == (50, 20)


def test_jpeg_thumbnails_are_decoded_with_a_draft(monkeypatch):
    """The thumbnail of a big JPEG comes from a 1/8-scale decode, not from the full-size pixels."""
    drafted = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        answer = original(self, mode, size)
        drafted.append((mode, size, self.size))
        return answer
    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    process_image(encode(photo(2048, 1024), "JPEG"), thumbnail_size=128)
    assert ("RGB", (128, 128), (256, 128)) in drafted


# --- perceptual hashes -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("image", [
    photo(seed=1), photo(640, 480, seed=2), photo(37, 11, seed=3), photo(seed=4, mode="L"),
    photo(seed=5, mode="RGBA"), photo(seed=6).convert("P"), Image.new("RGB", (30, 30), "gray"),
    Image.fromarray(np.random.default_rng(7).integers(0, 256, (64, 64, 3), dtype=np.uint8)),
], ids=["photo", "large", "tiny", "grey", "rgba", "palette", "flat", "noise"])
def test_dhash_equals_the_imagehash_oracle(image):
    assert dhash(image) == oracle(image)
    assert 0 <= dhash(image) < 2**64


def test_process_image_hashes_the_upright_image_it_stores():
    for fmt in ("PNG", "JPEG", "GIF"):
        result = process_image(encode(photo(seed=11), fmt))
        assert hamming(result.phash, oracle(decoded(result.data))) <= 2


def test_hamming_counts_differing_bits():
    assert hamming(0, 0) == 0 and hamming(0b1011, 0b0001) == 2 and hamming(0, 2**64 - 1) == 64


def test_near_duplicates_finds_a_brightened_copy_and_not_an_unrelated_image():
    original = photo(seed=21)
    brighter = Image.fromarray(np.clip(np.asarray(original, dtype=np.int16) + 12, 0, 255).astype(np.uint8))
    hashes = {name: process_image(encode(image, "JPEG")).phash
              for name, image in {"a" * 64: original, "b" * 64: brighter, "c" * 64: photo(seed=22)}.items()}
    assert hamming(hashes["a" * 64], hashes["c" * 64]) > 6
    found = near_duplicates({"b" * 64: hashes["b" * 64]}, {"a" * 64: hashes["a" * 64], "c" * 64: hashes["c" * 64]})
    assert found == [("b" * 64, "a" * 64, hamming(hashes["a" * 64], hashes["b" * 64]))]


def test_near_duplicates_pairs_within_a_batch_once_and_never_an_image_with_itself():
    new = {"n1": 0b0000, "n2": 0b0011, "n3": 2**64 - 1, "n4": 0b0111}
    existing = {"n1": 0b0000, "e1": 0b1111, "e2": 2**63}
    assert near_duplicates(new, existing, max_distance=3) == [
        ("n1", "e2", 1), ("n1", "n2", 2), ("n1", "n4", 3), ("n2", "e1", 2), ("n2", "e2", 3), ("n2", "n4", 1),
        ("n4", "e1", 1)]
    assert near_duplicates({}, existing) == [] and near_duplicates(new, {}, 0) == []
    assert near_duplicates({"x": 5}, {"x": 5}) == []


def test_near_duplicates_without_numpy_bitwise_count_gives_the_same_answer(monkeypatch):
    rng = np.random.default_rng(5)
    new = {f"n{index}": int(value) for index, value in enumerate(rng.integers(0, 2**63, 40, dtype=np.uint64))}
    existing = {f"e{index}": int(value) ^ 1 for index, value in enumerate(new.values())}
    expected = sorted((a, b, hamming(x, y)) for a, x in new.items() for b, y in {**new, **existing}.items()
                      if hamming(x, y) <= 20 and (b.startswith("e") or a < b))
    assert near_duplicates(new, existing, max_distance=20) == expected
    monkeypatch.delattr(np, "bitwise_count")
    assert near_duplicates(new, existing, max_distance=20) == expected


def test_near_duplicates_works_through_a_library_larger_than_one_chunk(monkeypatch):
    monkeypatch.setattr(media, "_PAIR_BLOCK", 8)
    existing = {f"e{index:03}": index for index in range(100)}
    assert near_duplicates({"new": 0}, existing, max_distance=1) == [
        ("new", "e000", 0), ("new", "e001", 1), ("new", "e002", 1), ("new", "e004", 1), ("new", "e008", 1),
        ("new", "e016", 1), ("new", "e032", 1), ("new", "e064", 1)]


def test_near_duplicates_refuses_hashes_that_are_not_64_bit():
    with pytest.raises(ValueError):
        near_duplicates({"a": 2**64}, {})
    with pytest.raises(ValueError):
        near_duplicates({"a": 1}, {"b": -1})


def test_the_stored_hash_is_dhash_of_a_reduced_copy_close_to_the_full_image_hash():
    from tasks.media import perceptual_hash

    image = Image.new("RGB", (4000, 3000), (30, 90, 160))
    draw = ImageDraw.Draw(image)
    for n in range(12):
        draw.ellipse([n * 300, n * 200, n * 300 + 900, n * 200 + 500], fill=(25 * n, 255 - 20 * n, 60))
    assert perceptual_hash(image) == oracle(image.reduce(11))
    assert hamming(perceptual_hash(image), oracle(image)) <= 2
    small = Image.new("RGB", (300, 200), (10, 10, 10))
    assert perceptual_hash(small) == oracle(small)  # small images are hashed whole
