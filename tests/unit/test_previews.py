"""A task's item in a few words: an image's file name, a text's first words."""
from __future__ import annotations

import pytest

from tasks.previews import preview


@pytest.mark.parametrize("data, shown", [
    ({"image": "/media/" + "a" * 64, "name": "street-3.jpg"}, "street-3.jpg"),
    ({"image": "/media/" + "a" * 64, "name": "C:\\photos\\heron.png"}, "heron.png"),
    ({"image": "https://example.org/birds/egret.jpg?size=large"}, "egret.jpg"),
    ({"image": "/media/" + "a" * 64}, ""),  # only a content hash: nothing worth showing
    ({"text": "  A   short\nnote  "}, "A short note"),
    ({"text": "word " * 30}, "word word word word word word word word word word word…"),
    ({"text": "黄林莺" * 30}, "黄林莺" * 19 + "黄林…"),  # no spaces: cut mid-word
    ({"text": "supercalifragilistic " + "x" * 80}, "supercalifragilistic " + "x" * 38 + "…"),
    ({"source": "web"}, ""), ("not a dict", ""), ({"image": 3, "text": "fallback"}, "fallback"),
])
def test_a_preview_names_the_item_in_a_few_words(data, shown):
    assert preview(data) == shown
    assert len(preview(data)) <= 60
