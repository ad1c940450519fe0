"""YOLO detection (a zip): `images/<file>`, `labels/<stem>.txt`, `data.yaml` and `dataset_card.json`.

A label file has one line per consensus box, `class x_center y_center width height`, normalised to 0..1 by
the image's size with 6 decimals (so within 5e-7 of the image's side of the pixel box); class is the label's
0-based index in the taxonomy (every label, parents too, in the schema's order), the order of `names` in
data.yaml. Boxes only: polygons and keypoints are left out rather than mixed in as segmentation or pose
lines (a YOLO file holds one kind), and data.yaml says so. Boxes are clipped to the image first (YOLO
loaders drop a whole image whose coordinates fall outside 0..1).

YOLO has no annotators, so include=all exports the consensus too. An image is exported only with a consensus
that speaks about objects (`"objects": []` gives an empty label file: agreed, nothing there, a negative);
an image nobody answered is left out, because an image without labels reads as "no objects" to YOLO.

The archive helpers here (fixed dates and modes, images copied in chunks) are shared with the VOC writer.
"""
from __future__ import annotations

import posixpath
import shutil
import zipfile
from typing import IO, Any, BinaryIO

from tasks.formats.base import ExportContext, ExportTask, Media, card_bytes

CHUNK = 1 << 20
DATE = (1980, 1, 1, 0, 0, 0)  # the zip epoch: no clocks in the archive


def entry(name: str, compression: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
    """A zip entry that says nothing about when or where it was written (deflate at zlib's default level)."""
    info = zipfile.ZipInfo(name, date_time=DATE)
    info.compress_type = compression
    info.create_system = 3  # Unix, whatever the platform writing it
    info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
    return info


def add_text(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    archive.writestr(entry(name), data)


def add_file(archive: zipfile.ZipFile, name: str, source: IO[bytes]) -> None:
    """A (large) spooled text file, deflated, copied in chunks from the start."""
    source.seek(0)
    with archive.open(entry(name), "w") as target:
        shutil.copyfileobj(source, target, CHUNK)


def add_media(archive: zipfile.ZipFile, name: str, context: ExportContext, media: Media) -> None:
    """The image's bytes from storage, stored as they are (they are compressed already), a chunk at a time."""
    source = context.open_media(media.sha256)
    try:
        with archive.open(entry(name, zipfile.ZIP_STORED), "w") as target:
            shutil.copyfileobj(source, target, CHUNK)
    finally:
        source.close()


def stem(filename: str) -> str:
    return posixpath.splitext(filename)[0]


def consensus_boxes(task: ExportTask) -> list[dict[str, Any]] | None:
    """The consensus boxes of the task's image, or None when there is no image or no consensus about objects."""
    if task.media is None:
        return None
    objects = ((task.consensus or {}).get("result") or {}).get("objects")
    if objects is None:
        return None
    return [o for o in objects if o.get("tool") == "bbox"]


def clipped(box: list[float], width: int, height: int) -> tuple[float, float, float, float] | None:
    """The box as (x0, y0, x1, y1) inside the image, or None if nothing of it is."""
    x, y, w, h = box
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def yaml_string(text: str) -> str:
    """`text` as a YAML double-quoted scalar that any YAML 1.1 or 1.2 reader gives back exactly."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif (0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code >= 0x10000) \
                and ch not in "\u2028\u2029\ufeff":
            out.append(ch)
        else:  # controls, line and paragraph separators, NEL, BOM, lone surrogates, U+FFFE/FFFF
            out.append(f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}")
    out.append('"')
    return "".join(out)


def data_yaml(context: ExportContext) -> bytes:
    lines = [
        "# YOLO detection dataset: labels/<stem>.txt has one line per box,",
        "# class x_center y_center width height (0..1 of the image). Boxes only: polygons and keypoints",
        "# are not exported in this format (use COCO). Every image is in both train and val: split it yourself.",
        "path: .",
        "train: images",
        "val: images",
        f"nc: {len(context.labels)}",
        "names:" if context.labels else "names: []",
    ]
    for index, label in enumerate(context.labels):
        lines.append(f"  - {yaml_string(label.name)}  # {index}: label id {yaml_string(label.id)}")
    return ("\n".join(lines) + "\n").encode()


class YoloWriter:
    extension = ".zip"
    content_type = "application/zip"
    archive = True

    def __init__(self, out: BinaryIO, context: ExportContext) -> None:
        self.out, self.context = out, context
        self.index = {label.id: number for number, label in enumerate(context.labels)}
        self.zip = zipfile.ZipFile(out, "w")

    def write(self, task: ExportTask) -> int:
        boxes = consensus_boxes(task)
        if boxes is None:
            return 0
        media = task.media
        assert media is not None
        lines = []
        for box in boxes:
            number = self.index.get(box.get("label"))
            edges = clipped(box["bbox"], media.width, media.height) if number is not None else None
            if edges is None:
                continue
            x0, y0, x1, y1 = edges
            lines.append(f"{number} {(x0 + x1) / 2 / media.width:.6f} {(y0 + y1) / 2 / media.height:.6f} "
                         f"{(x1 - x0) / media.width:.6f} {(y1 - y0) / media.height:.6f}\n")
        add_media(self.zip, f"images/{media.filename}", self.context, media)
        add_text(self.zip, f"labels/{stem(media.filename)}.txt", "".join(lines).encode())
        return len(lines)

    def close(self, card: dict[str, Any]) -> None:
        add_text(self.zip, "data.yaml", data_yaml(self.context))
        add_text(self.zip, "dataset_card.json", card_bytes(card))
        self.zip.close()
