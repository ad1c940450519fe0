"""Image uploads, bytes in and bytes out: validate, make upright, strip metadata, thumbnail and fingerprint.

Pure domain code: Pillow, numpy and the stdlib only, so the web layer and the job workers can both call it.
Every upload is treated as hostile: the format is taken from the decoded content (never the file name), the
pixel count is checked from the header before any pixels are allocated, and the whole file is decoded once so
truncated or corrupt files are refused at upload time instead of breaking a worker's page later.
"""
from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO

import numpy as np
from PIL import ExifTags, Image, ImageFile, ImageOps

ACCEPTED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP")
DEFAULT_MAX_PIXELS = 40_000_000

# Pillow's JPEG opener returns an "MPO" image for multi-picture JPEGs (most phone cameras); it is a JPEG file.
_JPEG_FORMATS = frozenset({"JPEG", "MPO"})
_NOT_AN_IMAGE = "not an image in a format we accept (JPEG, PNG, WebP, GIF, TIFF, BMP)"
_CORRUPT = "the file is truncated or corrupt"
# Modes PNG stores as they are (when no separate transparency key needs folding into an alpha channel).
_PNG_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA"})
_ALPHA_MODES = frozenset({"LA", "PA", "La", "RGBA", "RGBa"})
_HIGH_DEPTH_MODES = frozenset({"I", "F", "I;16", "I;16L", "I;16B", "I;16N"})
_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")


class MediaRejected(Exception):
    """An upload we refuse; `reason` is a plain sentence shown to the owner."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ProcessedImage:
    data: bytes  # the bytes we store: metadata stripped, upright
    content_type: str  # "image/jpeg" or "image/png"
    width: int  # upright width in pixels
    height: int
    sha256: str  # hex sha256 of `data` (content address)
    thumbnail: bytes  # JPEG, longest side <= thumbnail_size
    phash: int  # 64-bit difference hash (dHash) as unsigned int 0..2**64-1
    source_format: str  # Pillow format name of the upload, e.g. "GIF"


def process_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS,
                  thumbnail_size: int = 256) -> ProcessedImage:
    """Validate an upload and turn it into the bytes we store, plus thumbnail and perceptual hash.

    Raises MediaRejected with a sentence for the uploader when the bytes are not an acceptable image.
    """
    if max_pixels < 1 or thumbnail_size < 1:
        raise ValueError("max_pixels and thumbnail_size must be positive")
    image = _decode(data, max_pixels)
    source_format = image.format or ""
    orientation = _orientation(image)
    if source_format in _JPEG_FORMATS:
        stored, content_type, width, height, phash = _store_jpeg(image, data, orientation)
        thumbnail = _jpeg_thumbnail(stored, thumbnail_size)
    else:
        stored, content_type, width, height, phash, thumbnail = _store_png(image, orientation, thumbnail_size)
    return ProcessedImage(data=stored, content_type=content_type, width=width, height=height,
                          sha256=hashlib.sha256(stored).hexdigest(), thumbnail=thumbnail, phash=phash,
                          source_format=source_format)


def dhash(image: Image.Image) -> int:
    """Difference hash: 8x9 greyscale, one bit per "right neighbour is brighter".

    Bits are read row-major with the first comparison as the most significant bit, which is exactly
    `int(str(imagehash.dhash(image)), 16)`, so hashes stay comparable with tools built on ImageHash.
    """
    with image.convert("L") as grey, grey.resize((9, 8), Image.Resampling.LANCZOS) as small:
        pixels = np.asarray(small, dtype=np.int16)
    bits = (pixels[:, 1:] > pixels[:, :-1]).ravel()
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def perceptual_hash(image: Image.Image) -> int:
    """dHash of a box-reduced copy (shorter side >= 256 px).

    The 9x8 hash barely notices the reduction (within 2 of 64 bits of `dhash` on the full image in our
    tests, mostly 0), and reducing first makes it 4x cheaper, so importing stays bound by decoding.
    """
    factor = max(1, min(image.size) // 256)
    if factor == 1:
        return dhash(image)
    try:
        with image.reduce(factor) as small:
            return dhash(small)
    except ValueError:  # a mode `reduce` does not handle
        return dhash(image)


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two hashes."""
    return (a ^ b).bit_count()


def near_duplicates(new: dict[str, int], existing: dict[str, int],
                    max_distance: int = 6) -> list[tuple[str, str, int]]:
    """Pairs (new_sha, other_sha, distance) whose hashes differ in at most `max_distance` bits, sorted.

    Pairs inside `new` appear once, as (smaller_sha, larger_sha). A key present in both dicts is the same
    content, so it is compared only as part of the batch (never with itself, never twice).
    """
    new_keys = sorted(new)
    if not new_keys:
        return []
    new_hashes = _as_uint64([new[key] for key in new_keys])
    old_keys = sorted(key for key in existing if key not in new)
    old_hashes = _as_uint64([existing[key] for key in old_keys])
    found: list[tuple[str, str, int]] = []
    for row, column, distance in _close_pairs(new_hashes, new_hashes, max_distance):
        if row < column:  # upper triangle: each unordered pair once, never an image with itself
            found.append((new_keys[row], new_keys[column], distance))
    for row, column, distance in _close_pairs(new_hashes, old_hashes, max_distance):
        found.append((new_keys[row], old_keys[column], distance))
    return sorted(found)


# --- decoding -------------------------------------------------------------------------------------------------

def _decode(data: bytes, max_pixels: int) -> Image.Image:
    """Open by content, check the header's pixel count, then decode the first frame fully."""
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError("ImageFile.LOAD_TRUNCATED_IMAGES is on; truncated uploads would be accepted")
    with warnings.catch_warnings():
        # Local to this call: Pillow's bomb warning becomes an error we turn into a refusal.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(BytesIO(data), formats=ACCEPTED_FORMATS)
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise MediaRejected(_bomb_reason(exc, max_pixels)) from exc
        except Exception as exc:  # Pillow raises many types on hostile input; all mean "not an image"
            raise MediaRejected(_NOT_AN_IMAGE) from exc
        width, height = image.size
        if width * height > max_pixels:
            image.close()
            raise MediaRejected(_too_many_pixels(width * height, max_pixels))
        try:
            image.load()  # first frame only; GIF/WebP/TIFF frames after it are never touched
        except Exception as exc:
            image.close()
            raise MediaRejected(_CORRUPT) from exc
    return image


def _too_many_pixels(pixels: int, max_pixels: int) -> str:
    megapixels = f"{pixels / 1e6:.1f}" if pixels >= 100_000 else f"{pixels / 1e6:.2g}"  # never "0.0 MP"
    return f"the image has {megapixels} MP; the limit is {max_pixels / 1e6:g} MP"


def _bomb_reason(exc: Exception, max_pixels: int) -> str:
    """Pillow's own (process-wide) bomb limit can be lower than ours; name whichever limit actually applied."""
    limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
    match = _BOMB_PIXELS.search(str(exc))
    if match:
        return _too_many_pixels(int(match.group(1)), limit)
    return f"the image is too large to process safely; the limit is {limit / 1e6:g} MP"


def _orientation(image: Image.Image) -> int:
    """EXIF (or XMP) orientation; unreadable metadata counts as upright since we drop it anyway."""
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _upright(image: Image.Image, orientation: int) -> Image.Image:
    """Apply the orientation, closing the original so only one full copy stays alive."""
    if orientation == 1:
        return image
    turned = ImageOps.exif_transpose(image)
    image.close()
    return turned


# --- storage formats ------------------------------------------------------------------------------------------

def _store_jpeg(image: Image.Image, data: bytes, orientation: int) -> tuple[bytes, str, int, int, int]:
    """Upright JPEGs keep their exact compressed pixels; only turned ones are re-encoded."""
    stripped = _strip_jpeg(data) if orientation == 1 else None
    if stripped is not None and not _same_jpeg(stripped, image):
        stripped = None
    if stripped is None:
        image = _upright(image, orientation)
        if image.mode not in ("L", "RGB"):
            image = _replace(image, image.convert("RGB"))
        image.info.clear()  # Pillow would otherwise copy the source's COM comment into the output
        out = BytesIO()
        image.save(out, "JPEG", quality=95)
        stripped = out.getvalue()
    with image:
        return stripped, "image/jpeg", image.width, image.height, perceptual_hash(image)


def _same_jpeg(candidate: bytes, original: Image.Image) -> bool:
    """The rewritten stream must still be a JPEG Pillow reads with the same geometry and colour mode."""
    try:
        with Image.open(BytesIO(candidate), formats=("JPEG",)) as check:
            return check.size == original.size and check.mode == original.mode
    except Exception:
        return False


def _store_png(image: Image.Image, orientation: int,
               thumbnail_size: int) -> tuple[bytes, str, int, int, int, bytes]:
    """Everything that is not a JPEG is stored losslessly as PNG; the thumbnail is cut from the same copy."""
    image = _png_mode(_upright(image, orientation))
    with image:
        image.info.clear()  # no ICC, text chunks, EXIF or transparency keys leak into the PNG
        out = BytesIO()
        image.save(out, "PNG")
        width, height = image.size
        phash = perceptual_hash(image)
        image.thumbnail((thumbnail_size, thumbnail_size))  # in place: no second full-size copy
        return out.getvalue(), "image/png", width, height, phash, _thumbnail_jpeg(image)


def _png_mode(image: Image.Image) -> Image.Image:
    """Convert to a mode PNG stores and browsers show, keeping transparency as an alpha channel."""
    if image.mode in _HIGH_DEPTH_MODES:
        return _replace(image, _to_8bit(image))
    if image.mode in ("LA", "RGBA"):
        return image
    has_alpha = image.mode in _ALPHA_MODES or image.has_transparency_data
    if image.mode in _PNG_MODES and not has_alpha:
        return image
    try:
        converted = image.convert("RGBA" if has_alpha else "RGB")
    except ValueError as exc:
        image.close()
        raise MediaRejected(f"images in the {image.mode} colour mode are not supported") from exc
    return _replace(image, converted)


def _to_8bit(image: Image.Image) -> Image.Image:
    """16-bit and float greys: keep 8-bit values as they are, otherwise stretch the range linearly.

    Pillow's own conversion clips everything above 255 to white, which makes most 16-bit scans unreadable.
    """
    values = np.asarray(image, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    if image.mode == "F" and low >= 0.0 and high <= 1.0:
        values = values * 255.0
    elif low < 0.0 or high > 255.0:
        values = (values - low) * (255.0 / (high - low))
    return Image.fromarray(np.rint(values).astype(np.uint8))


def _replace(old: Image.Image, new: Image.Image) -> Image.Image:
    if new is not old:
        old.close()
    return new


# --- thumbnails -----------------------------------------------------------------------------------------------

def _jpeg_thumbnail(stored: bytes, size: int) -> bytes:
    """Let libjpeg decode at 1/2, 1/4 or 1/8 scale first, which is far cheaper than a full decode."""
    with Image.open(BytesIO(stored), formats=("JPEG",)) as image:
        image.draft("RGB", (size, size))
        image.thumbnail((size, size))
        return _thumbnail_jpeg(image)


def _thumbnail_jpeg(image: Image.Image) -> bytes:
    """A small RGB JPEG; transparent areas become white rather than JPEG's arbitrary black."""
    if image.mode in _ALPHA_MODES or image.has_transparency_data:
        with image.convert("RGBA") as rgba:
            flat = Image.new("RGB", rgba.size, "white")
            flat.paste(rgba, mask=rgba.getchannel("A"))
    else:
        flat = image.convert("RGB")
    with flat:
        out = BytesIO()
        flat.save(out, "JPEG", quality=85)
        return out.getvalue()


# --- lossless JPEG metadata stripping -------------------------------------------------------------------------

_SOI, _EOI, _SOS, _APP0, _APP14, _COM = 0xD8, 0xD9, 0xDA, 0xE0, 0xEE, 0xFE
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RSTn carry no length field


def _strip_jpeg(data: bytes) -> bytes | None:
    """Rewrite a JPEG keeping only decoding segments, JFIF (APP0) and Adobe (APP14, selects the colour
    transform); every other APPn (EXIF, GPS, XMP, ICC, IPTC, MPF) and COM is dropped. Entropy-coded scans
    are copied byte for byte, and everything after the first EOI (MPO secondary images, appended data) is cut.
    Returns None when the stream is not one we understand; the caller then re-encodes instead.
    """
    if data[:2] != b"\xff\xd8":
        return None
    out = [b"\xff\xd8"]
    try:
        for marker, payload, scan in _jpeg_segments(data):
            if marker == _EOI:
                out.append(b"\xff\xd9")
                return b"".join(out)
            if payload is None:  # TEM or RSTn outside a scan: harmless, keep as they were
                out.append(bytes((0xFF, marker)))
                continue
            kept = _keep_segment(marker, payload)
            if kept is not None:
                out.append(bytes((0xFF, marker)) + (len(kept) + 2).to_bytes(2, "big") + kept)
            out.append(scan)
    except ValueError:
        return None
    return None  # no EOI: truncated in a way the decoder tolerated; re-encode rather than guess


def _jpeg_segments(data: bytes) -> Iterator[tuple[int, bytes | None, bytes]]:
    """Yield (marker, payload or None for standalone markers, entropy-coded bytes following an SOS)."""
    pos, end = 2, len(data)
    while True:
        if pos >= end or data[pos] != 0xFF:
            raise ValueError("expected a marker")
        while pos < end and data[pos] == 0xFF:  # fill bytes may pad any marker
            pos += 1
        if pos >= end:
            raise ValueError("stream ends inside a marker")
        marker, pos = data[pos], pos + 1
        if marker == _EOI or marker in _STANDALONE:
            yield marker, None, b""
            continue
        if marker == _SOI or pos + 2 > end:
            raise ValueError("unexpected marker")
        length = int.from_bytes(data[pos:pos + 2], "big")
        if length < 2 or pos + length > end:
            raise ValueError("segment overruns the file")
        payload, pos = data[pos + 2:pos + length], pos + length
        scan_end = _scan_end(data, pos) if marker == _SOS else pos
        yield marker, payload, data[pos:scan_end]
        pos = scan_end


def _scan_end(data: bytes, pos: int) -> int:
    """Index of the first real marker after entropy-coded data (FF00 is a stuffed byte, FFD0-D7 restarts)."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            raise ValueError("scan is not terminated")
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            pos += 2
        elif following == 0xFF:
            pos += 1
        else:
            return pos


def _keep_segment(marker: int, payload: bytes) -> bytes | None:
    """The payload to write for a segment, or None to drop it."""
    if marker == _COM or (0xE1 <= marker <= 0xEF and marker != _APP14):
        return None
    if marker == _APP0:
        # JFIF only, and without its optional embedded thumbnail (which could show what was cropped away).
        return payload[:12] + b"\x00\x00" if payload.startswith(b"JFIF\x00") and len(payload) >= 14 else None
    if marker == _APP14:
        return payload if payload.startswith(b"Adobe") else None
    return payload


# --- near-duplicate search ------------------------------------------------------------------------------------

_PAIR_BLOCK = 1 << 22  # XOR matrix cells per chunk (32 MiB of uint64) so a large library never blows memory
_BYTE_POPCOUNT = np.array([bin(value).count("1") for value in range(256)], dtype=np.uint8)


def _as_uint64(hashes: list[int]) -> np.ndarray:
    if any(not 0 <= value < 1 << 64 for value in hashes):
        raise ValueError("hashes must be unsigned 64-bit integers")
    return np.array(hashes, dtype=np.uint64)


def _popcount(values: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(values)
    return _BYTE_POPCOUNT[values.view(np.uint8)].reshape(*values.shape, 8).sum(axis=-1)


def _close_pairs(left: np.ndarray, right: np.ndarray, max_distance: int) -> Iterator[tuple[int, int, int]]:
    """(row, column, distance) for every left x right pair within `max_distance` bits, in chunks of rows."""
    if not len(left) or not len(right):
        return
    rows_per_chunk = max(1, _PAIR_BLOCK // len(right))
    for start in range(0, len(left), rows_per_chunk):
        distances = _popcount(left[start:start + rows_per_chunk, None] ^ right[None, :])
        rows, columns = np.nonzero(distances <= max_distance)
        for row, column in zip(rows.tolist(), columns.tolist()):
            yield start + row, column, int(distances[row, column])
