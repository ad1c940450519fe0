"""A task's item in a few words, for lists that name tasks (the wallet's lines): an image's file name, the
first words of a text. Pure: reads only the task's `data`."""
from __future__ import annotations

import posixpath
from typing import Any
from urllib.parse import urlsplit

PREVIEW_CHARS = 60  # about eight English words, or a short Chinese sentence


def preview(data: Any, limit: int = PREVIEW_CHARS) -> str:
    """The item in at most `limit` characters: an image's `name` (else the last part of its URL, unless that is
    only a content hash under /media/), the first words of its `text` ("…" when cut); "" when there is neither."""
    if not isinstance(data, dict):
        return ""
    if isinstance(data.get("image"), str):
        name = data.get("name") if isinstance(data.get("name"), str) else _file_of(data["image"])
        return _cut(posixpath.basename(name.replace("\\", "/")), limit)
    if isinstance(data.get("text"), str):
        return _cut(data["text"], limit)
    return ""


def _file_of(url: str) -> str:
    path = urlsplit(url).path
    return "" if path.startswith("/media/") else posixpath.basename(path)


def _cut(text: str, limit: int) -> str:
    """`text` on one line, cut at a word's end when it is longer than `limit` (mid-word when a word is that long,
    as Chinese text has no spaces)."""
    words = " ".join(text.split())
    if len(words) <= limit:
        return words
    cut = words[:limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,.;:") + "…"
