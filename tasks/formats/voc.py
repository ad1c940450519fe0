"""Pascal VOC detection (a zip): `JPEGImages/<file>`, `Annotations/<stem>.xml`, `ImageSets/Main/default.txt`
(the stems, in task order), `labelmap.txt` and `dataset_card.json`.

- An object's `<name>` is its label id, not its display name: ids are unique across the taxonomy and stay the
  same when a label is renamed, names are neither. The display name rides along in a `<label_name>` element
  (readers of VOC ignore elements they do not know), and labelmap.txt lists the ids in the taxonomy's order in
  the CVAT/Datumaro layout `name:color_rgb:parts:actions` (colour, parts and actions left empty). That layout
  splits on ":", so an id holding one does not survive a CVAT import of labelmap.txt (the XML keeps it whole).
- `<bndbox>` uses VOC's convention of 1-based, inclusive pixel indices: our pixel box [x, y, w, h] (edges of
  pixels, 0-based) becomes xmin = round(x) + 1, ymin = round(y) + 1, xmax = round(x + w), ymax = round(y + h),
  rounding half up, kept inside 1..width and 1..height and at least one pixel wide and high. A box covering the
  whole W x H image is (1, 1, W, H); readers that follow the devkit (detectron2: xmin - 1) get the edges back.
- Boxes only, from the consensus (include=all too: VOC has no notion of annotators); polygons and keypoints
  are left out. Each object has pose Unspecified, truncated 0, difficult 0, and its attributes (if any) as
  CVAT writes them: `<attributes><attribute><name/><value/></attribute></attributes>`. `<depth>` is 3 and
  images keep their own format and extension (they are not converted to JPEG).
- As in YOLO, an image is exported only with a consensus about objects; an empty object list gives an XML
  with no `<object>`, a negative.
"""
from __future__ import annotations

import math
import re
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from typing import Any, BinaryIO

import orjson

from tasks.formats.base import ExportContext, ExportTask, card_bytes
from tasks.formats.yolo import add_file, add_media, add_text, clipped, consensus_boxes, stem

# Characters XML 1.0 cannot hold at all (ElementTree escapes <, & and > but writes these as they are).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif not isinstance(value, str):
        value = orjson.dumps(value).decode()
    return _NOT_XML.sub("\ufffd", value)


def _child(parent: ET.Element, tag: str, value: Any = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if value is not None:
        element.text = _text(value)
    return element


def _half_up(value: float) -> int:
    return math.floor(value + 0.5)


def voc_box(box: list[float], width: int, height: int) -> tuple[int, int, int, int] | None:
    """(xmin, ymin, xmax, ymax) in VOC's 1-based inclusive pixel indices, or None for a box outside the image."""
    edges = clipped(box, width, height)
    if edges is None:
        return None
    x0, y0, x1, y1 = edges
    xmin, ymin = min(max(_half_up(x0) + 1, 1), width), min(max(_half_up(y0) + 1, 1), height)
    return xmin, ymin, max(min(_half_up(x1), width), xmin), max(min(_half_up(y1), height), ymin)


class VocWriter:
    extension = ".zip"
    content_type = "application/zip"
    archive = True

    def __init__(self, out: BinaryIO, context: ExportContext) -> None:
        self.out, self.context = out, context
        self.zip = zipfile.ZipFile(out, "w")
        self.stems = tempfile.TemporaryFile()

    def write(self, task: ExportTask) -> int:
        boxes = consensus_boxes(task)
        if boxes is None:
            return 0
        media = task.media
        assert media is not None
        root = ET.Element("annotation")
        _child(root, "folder", "JPEGImages")
        _child(root, "filename", media.filename)
        size = _child(root, "size")
        _child(size, "width", media.width)
        _child(size, "height", media.height)
        _child(size, "depth", 3)
        _child(root, "segmented", 0)
        written = 0
        for box in boxes:
            label = self.context.label(box.get("label"))
            corners = voc_box(box["bbox"], media.width, media.height) if label is not None else None
            if corners is None:
                continue
            obj = _child(root, "object")
            _child(obj, "name", label.id)
            _child(obj, "label_name", label.name)
            _child(obj, "pose", "Unspecified")
            _child(obj, "truncated", 0)
            _child(obj, "difficult", 0)
            bndbox = _child(obj, "bndbox")
            for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), corners):
                _child(bndbox, tag, value)
            if box.get("attributes"):
                attributes = _child(obj, "attributes")
                for name, value in sorted(box["attributes"].items()):
                    attribute = _child(attributes, "attribute")
                    _child(attribute, "name", name)
                    _child(attribute, "value", value)
            written += 1
        ET.indent(root, "  ")
        add_media(self.zip, f"JPEGImages/{media.filename}", self.context, media)
        add_text(self.zip, f"Annotations/{stem(media.filename)}.xml",
                 ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n")
        self.stems.write(stem(media.filename).encode() + b"\n")
        return written

    def close(self, card: dict[str, Any]) -> None:
        add_file(self.zip, "ImageSets/Main/default.txt", self.stems)
        self.stems.close()
        labelmap = "# label:color_rgb:parts:actions\n" + "".join(f"{label.id}:::\n" for label in self.context.labels)
        add_text(self.zip, "labelmap.txt", labelmap.encode())
        add_text(self.zip, "dataset_card.json", card_bytes(card))
        self.zip.close()
