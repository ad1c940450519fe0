"""Annotation results checked against a label schema: every tool's shape, each bad case under its dotted path."""
from __future__ import annotations

import copy
import math
import time

import numpy as np
import pytest

from annotator.errors import InvalidInput
from tasks.results import TaskContext, validate_result
from tasks.schema import GEOMETRY_TOOLS, LabelSchema, parse_label_schema
from tests.factories import SCHEMA_BIRDS, messages, schema_with

IMAGE = TaskContext("image", width=640, height=480)


def result_errors(schema: LabelSchema, result: object, context: TaskContext) -> dict[str, list[str]]:
    with pytest.raises(InvalidInput) as caught:
        validate_result(schema, result, context)
    return caught.value.fields


# ------------------------------------------------------------------------------------------------------
# validate_result: fixtures
# ------------------------------------------------------------------------------------------------------

def image_schema(*, multi_label: bool = False, tools: tuple[str, ...] = ("classify", *GEOMETRY_TOOLS),
                 attributes: list | None = None) -> LabelSchema:
    return parse_label_schema({**copy.deepcopy(SCHEMA_BIRDS), "tools": list(tools), "multi_label": multi_label,
                               "attributes": attributes if attributes is not None else SCHEMA_BIRDS["attributes"]})


def text_schema(**kwargs) -> LabelSchema:
    return image_schema(tools=("classify", "span"), **kwargs)


def box(bbox: list, **extra) -> dict:
    return {"tool": "bbox", "label": "bird", "bbox": bbox, **extra}


def polygon(points: list) -> dict:
    return {"tool": "polygon", "label": "warbler", "points": points}


def object_errors(item: dict, context: TaskContext = IMAGE) -> dict[str, list[str]]:
    return result_errors(image_schema(), {"objects": [item]}, context)


# ------------------------------------------------------------------------------------------------------
# validate_result: the result object
# ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("result", [{}, None, [], "bird"])
def test_an_empty_or_non_object_result_is_refused(result):
    assert list(result_errors(image_schema(), result, IMAGE)) == ["result"]


def test_unknown_result_keys_are_refused():
    fields = result_errors(image_schema(), {"labels": ["bird"], "comment": "hi"}, IMAGE)
    assert list(fields) == ["result.comment"]


def test_an_unknown_key_alone_is_reported_and_so_is_the_missing_content():
    assert set(result_errors(image_schema(), {"comment": "hi"}, IMAGE)) == {"result", "result.comment"}


def test_a_part_whose_tool_is_not_enabled_is_refused():
    bbox_only = image_schema(tools=("bbox",))
    assert "classify" in messages(result_errors(bbox_only, {"labels": ["bird"]}, IMAGE), "result.labels")
    fields = result_errors(image_schema(), {"labels": ["bird"], "spans": []}, IMAGE)
    assert list(fields) == ["result.spans"]
    classify_only = image_schema(tools=("classify",))
    assert list(result_errors(classify_only, {"objects": [], "labels": ["bird"]}, IMAGE)) == ["result.objects"]


def test_task_context_refuses_an_unknown_media_type():
    with pytest.raises(ValueError):
        TaskContext("video")


# ------------------------------------------------------------------------------------------------------
# validate_result: classification labels
# ------------------------------------------------------------------------------------------------------

def test_one_label_is_accepted_at_any_level_of_the_tree():
    for label in ("bird", "warbler", "yellow_warbler"):
        assert validate_result(image_schema(), {"labels": [label]}, IMAGE) == {"labels": [label]}


def test_an_unknown_label_is_refused_at_its_index():
    fields = result_errors(image_schema(multi_label=True), {"labels": ["bird", "owl", 3]}, IMAGE)
    assert set(fields) == {"result.labels.1", "result.labels.2"}
    assert "owl" in messages(fields, "result.labels.1")


def test_without_multi_label_exactly_one_label_is_needed():
    assert "result.labels" in result_errors(image_schema(), {"labels": ["bird", "warbler"]}, IMAGE)
    assert "result.labels" in result_errors(image_schema(), {"labels": []}, IMAGE)


def test_with_multi_label_at_least_one_unique_label_is_needed():
    schema = image_schema(multi_label=True)
    assert validate_result(schema, {"labels": ["bird", "warbler"]}, IMAGE) == {"labels": ["bird", "warbler"]}
    assert list(result_errors(schema, {"labels": []}, IMAGE)) == ["result.labels"]
    assert list(result_errors(schema, {"labels": ["bird", "bird"]}, IMAGE)) == ["result.labels.1"]


@pytest.mark.parametrize("labels", ["bird", {"bird": True}, None])
def test_labels_must_be_a_list(labels):
    assert "result.labels" in result_errors(image_schema(), {"labels": labels}, IMAGE)


# ------------------------------------------------------------------------------------------------------
# validate_result: objects
# ------------------------------------------------------------------------------------------------------

def test_every_valid_object_shape_is_accepted_and_normalised():
    result = {"labels": ["bird"], "objects": [
        box([0, 0, 640, 480], attributes={"occluded": True, "pose": "perched"}),
        box([10.5, 20.25, 100, 50.5]),
        polygon([[0, 0], [640, 0], [640, 480]]),
        {"tool": "keypoint", "label": "yellow_warbler", "point": [640, 480]},
        {"tool": "keypoint", "label": "yellow_warbler", "point": [0, 0], "attributes": {}},
    ]}
    original = copy.deepcopy(result)
    normalised = validate_result(image_schema(), result, IMAGE)
    assert result == original
    assert normalised == {"labels": ["bird"], "objects": [
        {"tool": "bbox", "label": "bird", "bbox": [0, 0, 640, 480],
         "attributes": {"occluded": True, "pose": "perched"}},
        {"tool": "bbox", "label": "bird", "bbox": [10.5, 20.25, 100, 50.5], "attributes": {}},
        {"tool": "polygon", "label": "warbler", "points": [[0, 0], [640, 0], [640, 480]], "attributes": {}},
        {"tool": "keypoint", "label": "yellow_warbler", "point": [640, 480], "attributes": {}},
        {"tool": "keypoint", "label": "yellow_warbler", "point": [0, 0], "attributes": {}},
    ]}
    assert normalised["objects"][0]["bbox"] is not result["objects"][0]["bbox"]


def test_an_empty_object_list_is_a_valid_answer():
    assert validate_result(image_schema(), {"objects": []}, IMAGE) == {"objects": []}


@pytest.mark.parametrize("objects", [None, {"tool": "bbox"}, [{}] * 10_001])
def test_objects_must_be_a_list_of_at_most_10000(objects):
    assert list(result_errors(image_schema(), {"objects": objects}, IMAGE)) == ["result.objects"]


def test_objects_are_refused_on_a_text_task():
    schema = image_schema(tools=("bbox", "span"))
    fields = result_errors(schema, {"objects": [box([0, 0, 1, 1])]}, TaskContext("text", text_length=10))
    assert list(fields) == ["result.objects"]
    assert "image" in messages(fields, "result.objects")


def test_objects_need_the_image_size():
    assert list(object_errors(box([0, 0, 1, 1]), TaskContext("image"))) == ["result.objects"]


def test_an_object_must_be_an_object():
    assert list(result_errors(image_schema(), {"objects": [[0, 0, 1, 1]]}, IMAGE)) == ["result.objects.0"]


def test_the_tool_must_be_given_and_enabled():
    bbox_only = image_schema(tools=("bbox",))
    fields = result_errors(bbox_only, {"objects": [polygon([[0, 0], [5, 0], [0, 5]])]}, IMAGE)
    assert list(fields) == ["result.objects.0.tool"]
    assert "bbox" in messages(fields, "result.objects.0.tool")
    missing = result_errors(image_schema(), {"objects": [{"label": "bird", "bbox": [0, 0, 1, 1]}]}, IMAGE)
    assert list(missing) == ["result.objects.0.tool"]
    assert "result.objects.0.tool" in object_errors(box([0, 0, 1, 1], tool="classify"))


def test_the_label_must_be_given_and_known():
    assert list(object_errors({"tool": "bbox", "bbox": [0, 0, 1, 1]})) == ["result.objects.0.label"]
    assert list(object_errors(box([0, 0, 1, 1], label="owl"))) == ["result.objects.0.label"]


def test_the_shape_key_must_match_the_tool():
    assert list(object_errors({"tool": "bbox", "label": "bird"})) == ["result.objects.0.bbox"]
    fields = object_errors(box([0, 0, 1, 1], points=[[0, 0], [1, 0], [0, 1]]))
    assert list(fields) == ["result.objects.0.points"]
    assert list(object_errors(box([0, 0, 1, 1], score=0.9))) == ["result.objects.0.score"]
    keypoint = {"tool": "keypoint", "label": "bird", "point": [1, 1], "bbox": [0, 0, 1, 1]}
    assert list(object_errors(keypoint)) == ["result.objects.0.bbox"]


@pytest.mark.parametrize("bbox", [[600, 0, 41, 10], [0, 470, 10, 11], [-1, 0, 10, 10], [0, -0.5, 10, 10],
                                  [700, 500, 1, 1]])
def test_a_bbox_outside_the_image_is_refused(bbox):
    fields = object_errors(box(bbox))
    assert list(fields) == ["result.objects.0.bbox"]


@pytest.mark.parametrize("bbox", [[10, 10, 0, 5], [10, 10, 5, 0], [10, 10, -5, 5]])
def test_a_zero_or_negative_size_bbox_is_refused(bbox):
    assert "greater than 0" in messages(object_errors(box(bbox)), "result.objects.0.bbox")


@pytest.mark.parametrize("bbox", [[0, 0, 10], [0, 0, 10, 10, 1], [True, 0, 10, 10], [0, 0, "10", 10],
                                  [0, 0, math.nan, 10], [0, 0, math.inf, 10], None, {"x": 0}])
def test_a_bbox_is_four_finite_numbers_and_never_bools(bbox):
    assert list(object_errors(box(bbox))) == ["result.objects.0.bbox"]


def test_a_polygon_needs_at_least_three_points():
    fields = object_errors(polygon([[0, 0], [10, 10]]))
    assert list(fields) == ["result.objects.0.points"]
    assert "3" in messages(fields, "result.objects.0.points")


def test_a_polygon_has_at_most_2000_points():
    assert "result.objects.0.points" in object_errors(polygon([[0, 0]] * 2_001))


def test_all_polygons_of_a_result_have_at_most_20000_points_in_all():
    ring = [[50 + 40 * math.cos(2 * math.pi * k / 2000), 50 + 40 * math.sin(2 * math.pi * k / 2000)] for k in range(2000)]
    assert len(validate_result(image_schema(), {"objects": [polygon(ring)] * 10}, IMAGE)["objects"]) == 10
    assert "result.objects" in result_errors(image_schema(), {"objects": [polygon(ring)] * 11}, IMAGE)


def test_a_self_crossing_bow_tie_polygon_is_refused_naming_the_edges():
    fields = object_errors(polygon([[0, 0], [100, 100], [100, 0], [0, 100]]))
    assert list(fields) == ["result.objects.0.points"]
    text = messages(fields, "result.objects.0.points")
    assert "edges 0 and 2" in text and "cross" in text


def test_a_valid_concave_polygon_is_accepted():
    # A "C" shape: several reflex corners, no crossings.
    shape = [[10, 10], [100, 10], [100, 30], [30, 30], [30, 70], [100, 70], [100, 90], [10, 90]]
    assert validate_result(image_schema(), {"objects": [polygon(shape)]}, IMAGE)["objects"][0]["points"] == shape


def test_non_adjacent_edges_that_only_touch_are_refused():
    # Vertex 3 lies on edge 0 (from point 0 to point 1).
    fields = object_errors(polygon([[0, 0], [100, 0], [100, 100], [50, 0], [0, 100]]))
    assert "edges 0 and 2" in messages(fields, "result.objects.0.points")


@pytest.mark.parametrize("rotation, edges", [(0, "0 and 2"), (1, "1 and 4"), (2, "0 and 3"), (3, "0 and 2"),
                                             (4, "1 and 3")])
def test_a_touch_is_found_whichever_endpoint_lies_on_the_other_edge(rotation, edges):
    # Point (50, 0) lies on the edge from (0, 0) to (100, 0); rotating the start point makes the touching
    # endpoint the start or the end of the earlier or the later edge of the first pair found.
    outline = [[0, 0], [100, 0], [100, 100], [50, 0], [0, 100]]
    rotated = outline[rotation:] + outline[:rotation]
    assert f"edges {edges} cross or touch" in messages(object_errors(polygon(rotated)), "result.objects.0.points")


def test_a_polygon_that_visits_a_point_twice_is_refused():
    figure_eight = [[0, 0], [50, 50], [100, 0], [100, 100], [50, 50], [0, 100]]
    assert "result.objects.0.points" in object_errors(polygon(figure_eight))


def test_a_polygon_that_folds_back_on_itself_is_refused():
    spike = [[0, 0], [100, 0], [100, 100], [100, 50], [0, 100]]
    assert "fold back" in messages(object_errors(polygon(spike)), "result.objects.0.points")


def test_repeating_the_first_point_at_the_end_is_refused():
    closed = [[0, 0], [100, 0], [100, 100], [0, 0]]
    assert "same" in messages(object_errors(polygon(closed)), "result.objects.0.points")


def test_a_polygon_with_zero_area_is_refused():
    assert "result.objects.0.points" in object_errors(polygon([[0, 0], [50, 0], [100, 0]]))


def test_collinear_points_along_a_straight_edge_are_allowed():
    square_with_midpoint = [[0, 0], [50, 0], [100, 0], [100, 100], [0, 100]]
    assert validate_result(image_schema(), {"objects": [polygon(square_with_midpoint)]}, IMAGE)


def test_polygon_points_outside_the_image_or_not_numbers_are_refused_each_at_its_index():
    fields = object_errors(polygon([[0, 0], [641, 0], [10, 10], [True, 5], [5], [0, -1]]))
    assert set(fields) == {f"result.objects.0.points.{i}" for i in (1, 3, 4, 5)}


def circle(count: int, radius: float = 200.0) -> np.ndarray:
    angles = np.linspace(0, 2 * np.pi, count, endpoint=False)
    return np.column_stack([320 + radius * np.cos(angles), 240 + radius * np.sin(angles)])


def test_a_1000_point_polygon_is_checked_quickly():
    points = circle(1000).tolist()
    started = time.perf_counter()
    assert validate_result(image_schema(), {"objects": [polygon(points)]}, IMAGE)
    assert time.perf_counter() - started < 0.5


def test_a_crossing_deep_inside_a_1000_point_polygon_is_found():
    points = circle(1000).tolist()
    points[500], points[501] = points[501], points[500]  # swapping two neighbours ties a small knot
    started = time.perf_counter()
    text = messages(object_errors(polygon(points)), "result.objects.0.points")
    assert time.perf_counter() - started < 0.5
    assert "edges 499 and 501" in text


def star(count: int) -> list[list[float]]:
    """Long thin spikes around a tiny hub: the bounding boxes of many edge pairs overlap near the centre."""
    radii = np.where(np.arange(count) % 2 == 1, 235.0, 3.0)
    angles = np.linspace(0, 2 * np.pi, count, endpoint=False)
    return np.column_stack([320 + radii * np.cos(angles), 240 + radii * np.sin(angles)]).tolist()


def test_a_1000_point_star_is_checked_quickly_and_a_crossing_in_it_found():
    points = star(1000)
    started = time.perf_counter()
    assert validate_result(image_schema(), {"objects": [polygon(points)]}, IMAGE)
    assert time.perf_counter() - started < 0.5
    points[1], points[501] = points[501], points[1]  # two opposite spike tips swap: spikes now cross the hub
    assert "cross" in messages(object_errors(polygon(points)), "result.objects.0.points")


def test_keypoints_inside_are_accepted_and_outside_refused():
    point = {"tool": "keypoint", "label": "bird"}
    assert validate_result(image_schema(), {"objects": [{**point, "point": [320.5, 0]}]}, IMAGE)
    for bad in ([641, 10], [10, 480.01], [-1, 0], [0, True], [1, 2, 3], "1,2"):
        assert list(object_errors({**point, "point": bad})) == ["result.objects.0.point"], bad


# ------------------------------------------------------------------------------------------------------
# validate_result: attributes on objects and spans
# ------------------------------------------------------------------------------------------------------

ATTRIBUTES = [
    {"name": "occluded", "type": "boolean", "required": True},
    {"name": "pose", "type": "choice", "options": ["perched", "flying"]},
    {"name": "note", "type": "text", "max_length": 10},
    {"name": "count", "type": "number", "min": 1, "max": 5},
]


def attribute_value_errors(attributes: object) -> dict[str, list[str]]:
    schema = image_schema(attributes=ATTRIBUTES)
    return result_errors(schema, {"objects": [box([0, 0, 1, 1], attributes=attributes)]}, IMAGE)


def test_valid_attributes_are_kept():
    schema = image_schema(attributes=ATTRIBUTES)
    values = {"occluded": False, "pose": "flying", "note": "two\tbirds\n", "count": 2.5}
    result = validate_result(schema, {"objects": [box([0, 0, 1, 1], attributes=values)]}, IMAGE)
    assert result["objects"][0]["attributes"] == values
    empty_note = {"occluded": True, "note": "", "count": 5}
    assert validate_result(schema, {"objects": [box([0, 0, 1, 1], attributes=empty_note)]}, IMAGE)


def test_an_unknown_attribute_is_refused():
    fields = attribute_value_errors({"occluded": True, "colour": "red"})
    assert list(fields) == ["result.objects.0.attributes.colour"]


def test_a_missing_required_attribute_is_refused():
    assert list(attribute_value_errors({})) == ["result.objects.0.attributes.occluded"]
    schema = image_schema(attributes=ATTRIBUTES)
    fields = result_errors(schema, {"objects": [box([0, 0, 1, 1])]}, IMAGE)
    assert list(fields) == ["result.objects.0.attributes.occluded"]


@pytest.mark.parametrize("values, bad", [
    ({"occluded": 1}, "occluded"),
    ({"occluded": "true"}, "occluded"),
    ({"occluded": True, "pose": "swimming"}, "pose"),
    ({"occluded": True, "pose": ["perched"]}, "pose"),
    ({"occluded": True, "note": "x" * 11}, "note"),
    ({"occluded": True, "note": 5}, "note"),
    ({"occluded": True, "note": "bell\x07"}, "note"),
    ({"occluded": True, "note": "abc\u202e"}, "note"),
    ({"occluded": True, "count": True}, "count"),
    ({"occluded": True, "count": "3"}, "count"),
    ({"occluded": True, "count": 0}, "count"),
    ({"occluded": True, "count": 5.01}, "count"),
    ({"occluded": True, "count": math.nan}, "count"),
])
def test_attribute_values_must_match_their_type(values, bad):
    assert list(attribute_value_errors(values)) == [f"result.objects.0.attributes.{bad}"]


def test_choice_outside_options_names_the_options():
    fields = attribute_value_errors({"occluded": True, "pose": "swimming"})
    text = messages(fields, "result.objects.0.attributes.pose")
    assert "perched" in text and "flying" in text


@pytest.mark.parametrize("attributes", [None, ["occluded"], "occluded"])
def test_attributes_must_be_an_object(attributes):
    assert "result.objects.0.attributes" in attribute_value_errors(attributes)


# ------------------------------------------------------------------------------------------------------
# validate_result: spans
# ------------------------------------------------------------------------------------------------------

TEXT = "黄林莺🐦 sings at dawn 🌅"
TEXT_TASK = TaskContext("text", text_length=len(TEXT))


def span(start: object, end: object, label: object = "yellow_warbler", **extra) -> dict:
    return {"start": start, "end": end, "label": label, **extra}


def span_errors(*spans: dict) -> dict[str, list[str]]:
    return result_errors(text_schema(), {"spans": list(spans)}, TEXT_TASK)


def test_valid_spans_are_accepted_and_normalised():
    whole = span(0, len(TEXT), "bird", attributes={"pose": "perched"})
    result = validate_result(text_schema(), {"spans": [span(0, 3), whole], "labels": ["bird"]}, TEXT_TASK)
    assert result == {"labels": ["bird"], "spans": [
        {"start": 0, "end": 3, "label": "yellow_warbler", "attributes": {}},
        {"start": 0, "end": len(TEXT), "label": "bird", "attributes": {"pose": "perched"}}]}
    assert TEXT[0:3] == "黄林莺"


def test_span_offsets_are_code_points_not_utf16_units():
    utf16_length = len(TEXT.encode("utf-16-le")) // 2
    assert utf16_length == len(TEXT) + 2  # each emoji is two UTF-16 units but one code point
    fields = span_errors(span(5, utf16_length))
    assert list(fields) == ["result.spans.0.end"]
    assert str(len(TEXT)) in messages(fields, "result.spans.0.end")
    assert list(span_errors(span(0, len(TEXT) + 1))) == ["result.spans.0.end"]


def test_an_inverted_or_empty_span_is_refused():
    assert list(span_errors(span(5, 2))) == ["result.spans.0.end"]
    assert list(span_errors(span(4, 4))) == ["result.spans.0.end"]


@pytest.mark.parametrize("start, end, bad", [
    (-1, 3, "start"), (0.0, 3, "start"), (True, 3, "start"), ("0", 3, "start"),
    (0, 3.0, "end"), (0, False, "end"), (0, None, "end"),
])
def test_span_offsets_are_non_negative_integers(start, end, bad):
    assert list(span_errors(span(start, end))) == [f"result.spans.0.{bad}"]


def test_span_fields_are_checked():
    fields = span_errors({"start": 0, "end": 2, "label": "owl", "text": "黄林"}, {"end": 2, "label": "bird"},
                         "0-2")
    assert set(fields) == {"result.spans.0.label", "result.spans.0.text", "result.spans.1.start", "result.spans.2"}


def test_span_attributes_are_checked():
    schema = text_schema(attributes=ATTRIBUTES)
    fields = result_errors(schema, {"spans": [span(0, 3, attributes={"pose": "upside down"})]}, TEXT_TASK)
    assert set(fields) == {"result.spans.0.attributes.pose", "result.spans.0.attributes.occluded"}


def test_spans_are_refused_on_an_image_task_and_without_a_text_length():
    schema = parse_label_schema(schema_with(tools=["bbox", "span"]))
    assert list(result_errors(schema, {"spans": [span(0, 1)]}, IMAGE)) == ["result.spans"]
    assert list(result_errors(schema, {"spans": [span(0, 1)]}, TaskContext("text"))) == ["result.spans"]


@pytest.mark.parametrize("spans", [None, {"start": 0}, [span(0, 1)] * 10_001])
def test_spans_must_be_a_list_of_at_most_10000(spans):
    assert list(result_errors(text_schema(), {"spans": spans}, TEXT_TASK)) == ["result.spans"]


# ------------------------------------------------------------------------------------------------------
# validate_result: everything at once
# ------------------------------------------------------------------------------------------------------

def test_every_bad_field_of_a_result_is_reported_at_once():
    schema = image_schema(multi_label=True, attributes=ATTRIBUTES)
    result = {
        "labels": ["bird", "owl"],
        "objects": [
            box([0, 0, 0, 10], attributes={"occluded": 1}),
            polygon([[0, 0], [100, 100], [100, 0], [0, 100]]),
            {"tool": "keypoint", "label": "penguin", "point": [700, 10]},
            box([600, 400, 100, 100], attributes={"occluded": True, "size": "large", "count": False}),
        ],
        "spans": [],
        "note": "hi",
    }
    assert set(result_errors(schema, result, IMAGE)) == {
        "result.labels.1",
        "result.objects.0.bbox", "result.objects.0.attributes.occluded",
        "result.objects.1.points", "result.objects.1.attributes.occluded",
        "result.objects.2.label", "result.objects.2.point", "result.objects.2.attributes.occluded",
        "result.objects.3.bbox", "result.objects.3.attributes.size", "result.objects.3.attributes.count",
        "result.spans", "result.note",
    }
