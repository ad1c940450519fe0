"""Label schemas: every rule, each bad case reported under its dotted path."""
from __future__ import annotations

import copy
import json
import math
import pickle
import time

import pytest

from annotator.errors import InvalidInput
from tasks.schema import (ATTRIBUTE_TYPES, GEOMETRY_TOOLS, MAX_DEPTH, MAX_LABELS, TOOLS, Attribute, Label,
                          parse_label_schema)
from tests.factories import SCHEMA_BIRDS, messages, schema_with



def schema_errors(raw: object, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(InvalidInput) as caught:
        parse_label_schema(raw, **kwargs)
    return caught.value.fields


def chain(levels: int) -> list[dict]:
    """One branch `levels` deep: l1 > l2 > ... built without recursion."""
    node: dict = {"id": f"l{levels}", "name": f"Level {levels}"}
    for level in range(levels - 1, 0, -1):
        node = {"id": f"l{level}", "name": f"Level {level}", "children": [node]}
    return [node]


def labels_path(levels: int) -> str:
    return "label_schema.labels.0" + ".children.0" * (levels - 1)


# ------------------------------------------------------------------------------------------------------
# parse_label_schema: valid schemas
# ------------------------------------------------------------------------------------------------------

def test_the_documented_example_parses_into_labels_with_parents_depths_and_paths():
    schema = parse_label_schema(SCHEMA_BIRDS)
    assert schema.tools == ("bbox",)
    assert schema.multi_label is False
    assert list(schema.labels) == ["bird", "warbler", "yellow_warbler"]
    assert schema.labels["yellow_warbler"] == Label(
        id="yellow_warbler", name="Yellow Warbler", parent_id="warbler", depth=3,
        path=("bird", "warbler", "yellow_warbler"))
    assert schema.labels["bird"].parent_id is None and schema.labels["bird"].depth == 1
    assert schema.ancestors("yellow_warbler") == ("bird", "warbler")
    assert schema.ancestors("bird") == ()
    assert schema.children("bird") == ("warbler",)
    assert schema.children("yellow_warbler") == ()
    assert schema.children(None) == ("bird",)
    assert schema.attributes["pose"] == Attribute(name="pose", type="choice", options=("perched", "flying"),
                                                  minimum=None, maximum=None, required=False, max_length=None)
    assert schema.attributes["occluded"].type == "boolean"


def test_public_constants():
    assert TOOLS == ("classify", "bbox", "polygon", "keypoint", "span")
    assert GEOMETRY_TOOLS == ("bbox", "polygon", "keypoint")
    assert ATTRIBUTE_TYPES == ("boolean", "choice", "text", "number")
    assert (MAX_DEPTH, MAX_LABELS) == (10, 20_000)


def test_unknown_ids_raise_key_error_from_the_tree_helpers():
    schema = parse_label_schema(SCHEMA_BIRDS)
    with pytest.raises(KeyError):
        schema.ancestors("owl")
    with pytest.raises(KeyError):
        schema.children("owl")


def test_labels_are_in_depth_first_order_and_children_in_given_order():
    schema = parse_label_schema({"tools": ["classify"], "labels": [
        {"id": "a", "name": "A", "children": [{"id": "a1", "name": "A1", "children": [{"id": "a1x", "name": "X"}]},
                                             {"id": "a2", "name": "A2"}]},
        {"id": "b", "name": "B", "children": [{"id": "b1", "name": "B1"}]}]})
    assert list(schema.labels) == ["a", "a1", "a1x", "a2", "b", "b1"]
    assert schema.children("a") == ("a1", "a2")
    assert schema.children(None) == ("a", "b")


def test_chinese_bird_taxonomy_parses_with_ancestors_and_paths():
    schema = parse_label_schema({"tools": ["classify"], "labels": [
        {"id": "鸟类", "name": "鸟类", "children": [
            {"id": "莺", "name": "莺", "children": [{"id": "黄林莺", "name": "黄林莺"}]}]}]})
    leaf = schema.labels["黄林莺"]
    assert leaf.name == "黄林莺"
    assert leaf.depth == 3
    assert leaf.parent_id == "莺"
    assert leaf.path == ("鸟类", "莺", "黄林莺")
    assert schema.ancestors("黄林莺") == ("鸟类", "莺")
    assert schema.children("鸟类") == ("莺",)
    assert schema.to_dict()["labels"][0]["children"][0]["children"][0] == {"id": "黄林莺", "name": "黄林莺"}


def test_to_dict_round_trips_and_is_normalised():
    raw = {
        "tools": ["classify", "polygon"],
        "multi_label": True,
        "labels": [{"id": "bird", "name": "  Bird ", "color": "#A0B1C2", "description": "Any bird.",
                    "children": [{"id": "owl", "name": "Owl", "children": []}]},
                   {"id": "other", "name": "Other"}],
        "attributes": [{"name": "occluded", "type": "boolean", "required": True},
                       {"name": "pose", "type": "choice", "options": ["perched", "flying"]},
                       {"name": "note", "type": "text"},
                       {"name": "count", "type": "number", "min": 0, "max": 99.5},
                       {"name": "wingspan", "type": "number", "min": 1}],
    }
    schema = parse_label_schema(raw)
    data = schema.to_dict()
    assert data == {
        "tools": ["classify", "polygon"],
        "multi_label": True,
        "labels": [{"id": "bird", "name": "Bird", "color": "#a0b1c2", "description": "Any bird.",
                    "children": [{"id": "owl", "name": "Owl"}]},
                   {"id": "other", "name": "Other"}],
        "attributes": [{"name": "occluded", "type": "boolean", "required": True},
                       {"name": "pose", "type": "choice", "required": False, "options": ["perched", "flying"]},
                       {"name": "note", "type": "text", "required": False, "max_length": 1000},
                       {"name": "count", "type": "number", "required": False, "min": 0, "max": 99.5},
                       {"name": "wingspan", "type": "number", "required": False, "min": 1}],
    }
    again = parse_label_schema(json.loads(json.dumps(data)))
    assert again == schema
    assert again.to_dict() == data
    assert schema.labels["bird"].color == "#a0b1c2" and schema.labels["bird"].description == "Any bird."


def test_defaults_for_optional_fields():
    schema = parse_label_schema({"tools": ["classify"], "labels": [{"id": "a", "name": "A"}]})
    assert schema.multi_label is False
    assert dict(schema.attributes) == {}
    note = parse_label_schema(schema_with(attributes=[{"name": "note", "type": "text"}])).attributes["note"]
    assert note.max_length == 1000 and note.required is False


def test_the_schema_cannot_be_changed_after_parsing():
    schema = parse_label_schema(SCHEMA_BIRDS)
    with pytest.raises(TypeError):
        schema.labels["owl"] = schema.labels["bird"]  # type: ignore[index]
    with pytest.raises(AttributeError):
        schema.multi_label = True  # type: ignore[misc]


def test_the_schema_survives_pickling_and_deep_copies():
    schema = parse_label_schema(SCHEMA_BIRDS)
    for clone in (pickle.loads(pickle.dumps(schema)), copy.deepcopy(schema)):
        assert clone == schema and clone.children("bird") == ("warbler",)
        with pytest.raises(TypeError):
            clone.labels["owl"] = clone.labels["bird"]  # type: ignore[index]


def test_names_by_language_and_aliases_are_kept_in_canonical_form_and_survive_pickling():
    raw = schema_with(labels=[{"id": "sedan", "name": "Sedan", "names": {"ZH": " 轿车 ", "zh-hant": "轎車",
                                                                      "pt-br": "Sedã", "de-ch-1996": "Limousine"},
                               "aliases": [" saloon ", "Berline"]}])
    schema = parse_label_schema(raw)
    sedan = schema.labels["sedan"]
    assert sedan.names == (("zh", "轿车"), ("zh-Hant", "轎車"), ("pt-BR", "Sedã"), ("de-CH-1996", "Limousine"))
    assert sedan.aliases == ("saloon", "Berline")
    assert schema.to_dict()["labels"][0] == {"id": "sedan", "name": "Sedan", "aliases": ["saloon", "Berline"],
                                             "names": {"zh": "轿车", "zh-Hant": "轎車", "pt-BR": "Sedã",
                                                       "de-CH-1996": "Limousine"}}
    assert parse_label_schema(schema.to_dict()) == schema
    assert pickle.loads(pickle.dumps(schema)) == schema and copy.deepcopy(schema) == schema
    assert hash(sedan) == hash(pickle.loads(pickle.dumps(sedan)))


@pytest.mark.parametrize("tag,canonical", [
    ("en", "en"), ("ZH", "zh"), ("zh-hant", "zh-Hant"), ("zh-hans-cn", "zh-Hans-CN"), ("pt-br", "pt-BR"),
    ("es-419", "es-419"), ("yue-HK", "yue-HK"), ("sl-rozaj-biske", "sl-rozaj-biske"), ("de-CH-1901", "de-CH-1901"),
    ("e", None), ("english", None), ("zh_CN", None), ("zh-", None), ("-zh", None), ("zh-Hant-", None),
    ("en-US-x-twain", None), ("zh-\u212aa", None), ("１２", None), ("en-" + "abcde-" * 6 + "abcde", None),
])
def test_language_tags_are_read_in_bcp47_canonical_case(tag, canonical):
    from tasks.label_names import canonical_language_tag

    assert canonical_language_tag(tag) == canonical


def test_limits_at_the_edge_are_accepted():
    raw = schema_with(labels=[{"id": "x" * 100, "name": "n" * 200, "description": "d" * 2000,
                               "names": {f"x{chr(97 + i // 26)}{chr(97 + i % 26)}": "n" * 200 for i in range(50)},
                               "aliases": [f"{i:03d}" + "a" * 197 for i in range(20)]}],
                      attributes=[{"name": "a" * 64, "type": "text", "max_length": 10_000},
                                  {"name": "b", "type": "text", "max_length": 1},
                                  {"name": "c", "type": "choice", "options": [str(i) for i in range(1000)]}])
    schema = parse_label_schema(raw)
    assert schema.labels["x" * 100].name == "n" * 200


# ------------------------------------------------------------------------------------------------------
# parse_label_schema: the shape of the schema object and tools
# ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [None, [], "bbox", 3])
def test_the_schema_must_be_an_object(raw):
    assert "label_schema" in schema_errors(raw)


def test_unknown_top_level_keys_are_refused():
    fields = schema_errors(schema_with(colour_scheme="dark"))
    assert list(fields) == ["label_schema.colour_scheme"]


def test_errors_use_the_given_path_prefix():
    fields = schema_errors(schema_with(tools=["lasso"]), path="settings.schema")
    assert list(fields) == ["settings.schema.tools.0"]


def test_an_unknown_tool_is_refused_naming_the_valid_choices():
    fields = schema_errors(schema_with(tools=["bbox", "lasso"]))
    text = messages(fields, "label_schema.tools.1")
    assert "lasso" in text and all(tool in text for tool in TOOLS)


@pytest.mark.parametrize("tools", [[], "bbox", None, {"bbox": True}])
def test_tools_must_be_a_non_empty_list(tools):
    assert "label_schema.tools" in schema_errors(schema_with(tools=tools))


def test_tools_are_required_and_unique():
    raw = schema_with()
    del raw["tools"]
    assert messages(schema_errors(raw), "label_schema.tools") == "required."
    assert "label_schema.tools.1" in schema_errors(schema_with(tools=["bbox", "bbox"]))
    assert "label_schema.tools.0" in schema_errors(schema_with(tools=[1]))


def test_tools_are_not_checked_against_the_media_type_here():
    # span is for text and bbox for images; the caller checks that against the project.
    assert parse_label_schema(schema_with(tools=["span", "bbox"])).tools == ("span", "bbox")


@pytest.mark.parametrize("value", [1, 0, "true", None])
def test_multi_label_must_be_a_real_bool(value):
    assert "label_schema.multi_label" in schema_errors(schema_with(multi_label=value))


def test_multi_label_true_is_kept():
    assert parse_label_schema(schema_with(multi_label=True)).multi_label is True


# ------------------------------------------------------------------------------------------------------
# parse_label_schema: labels
# ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("labels", [[], None, {"id": "a", "name": "A"}, "bird"])
def test_labels_must_be_a_non_empty_list(labels):
    assert "label_schema.labels" in schema_errors(schema_with(labels=labels))


def test_labels_are_required():
    raw = schema_with()
    del raw["labels"]
    assert "label_schema.labels" in schema_errors(raw)


def test_a_label_must_be_an_object_with_id_and_name():
    fields = schema_errors(schema_with(labels=["bird", {"name": "No id"}, {"id": "x"}]))
    assert set(fields) == {"label_schema.labels.0", "label_schema.labels.1.id", "label_schema.labels.2.name"}


def test_unknown_label_keys_are_refused():
    fields = schema_errors(schema_with(labels=[{"id": "a", "name": "A", "parent": "b", "colour": "#000000"}]))
    assert set(fields) == {"label_schema.labels.0.parent", "label_schema.labels.0.colour"}


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_an_empty_label_name_is_refused(name):
    fields = schema_errors(schema_with(labels=[{"id": "a", "name": "A", "children": [{"id": "b", "name": name}]}]))
    assert "must not be empty" in messages(fields, "label_schema.labels.0.children.0.name")


@pytest.mark.parametrize("bad", ["a\x00b", "a\x1bb", "a\x7fb", "line\nbreak", "evil\u202eexe.txt",
                                 "x\u2066y\u2069"])
def test_control_and_bidi_override_characters_are_refused_in_ids_and_names(bad):
    fields = schema_errors(schema_with(labels=[{"id": bad, "name": "A"}, {"id": "b", "name": bad}]))
    assert set(fields) == {"label_schema.labels.0.id", "label_schema.labels.1.name"}


@pytest.mark.parametrize("label_id", ["", 7, None, "x" * 101])
def test_label_ids_must_be_strings_of_1_to_100_characters(label_id):
    assert "label_schema.labels.0.id" in schema_errors(schema_with(labels=[{"id": label_id, "name": "A"}]))


@pytest.mark.parametrize("name", [7, None, "n" * 201, "  " + "n" * 201])
def test_label_names_must_be_strings_of_1_to_200_characters(name):
    assert "label_schema.labels.0.name" in schema_errors(schema_with(labels=[{"id": "a", "name": name}]))


def test_names_are_stripped_and_may_be_any_language():
    schema = parse_label_schema(schema_with(labels=[{"id": "ar", "name": "  طائر  "}, {"id": "jp", "name": "鳥"}]))
    assert schema.labels["ar"].name == "طائر" and schema.labels["jp"].name == "鳥"


@pytest.mark.parametrize("label", [
    {"id": "a", "name": "A", "description": "d" * 2001},
    {"id": "a", "name": "A", "description": 5},
    {"id": "a", "name": "A", "color": "red"},
    {"id": "a", "name": "A", "color": "#12345"},
    {"id": "a", "name": "A", "color": "#12345g"},
    {"id": "a", "name": "A", "children": {"id": "b", "name": "B"}},
])
def test_description_color_and_children_are_checked(label):
    fields = schema_errors(schema_with(labels=[label]))
    assert len(fields) == 1 and next(iter(fields)).startswith("label_schema.labels.0.")


def test_ten_levels_are_fine():
    schema = parse_label_schema(schema_with(labels=chain(10)))
    assert schema.labels["l10"].depth == 10
    assert schema.ancestors("l10") == tuple(f"l{i}" for i in range(1, 10))


def test_eleven_levels_are_refused_at_the_eleventh_node():
    fields = schema_errors(schema_with(labels=chain(11)))
    assert list(fields) == [labels_path(11)]
    assert "10 levels" in messages(fields, labels_path(11))


def test_nothing_below_the_depth_limit_is_walked():
    deep = chain(11)
    deepest = deep[0]
    for _ in range(10):
        deepest = deepest.get("children", [deepest])[0]
    deepest["children"] = [{"id": "l1", "name": "would be a duplicate"}]  # not reported: never reached
    assert list(schema_errors(schema_with(labels=deep))) == [labels_path(11)]


def test_duplicate_ids_are_refused_at_the_second_occurrence_naming_the_first():
    raw = schema_with(labels=[
        {"id": "bird", "name": "Bird", "children": [{"id": "warbler", "name": "Warbler"}]},
        {"id": "insect", "name": "Insect", "children": [{"id": "warbler", "name": "Warbler (again)"}]}])
    fields = schema_errors(raw)
    assert list(fields) == ["label_schema.labels.1.children.0.id"]
    text = messages(fields, "label_schema.labels.1.children.0.id")
    assert "label_schema.labels.0.children.0" in text and "unique" in text


def test_duplicate_top_level_ids_are_refused():
    fields = schema_errors(schema_with(labels=[{"id": "a", "name": "A"}, {"id": "a", "name": "A again"}]))
    assert "label_schema.labels.0" in messages(fields, "label_schema.labels.1.id")


def test_an_id_repeated_in_its_own_subtree_is_reported_as_a_cycle():
    raw = schema_with(labels=[{"id": "bird", "name": "Bird", "children": [
        {"id": "warbler", "name": "Warbler", "children": [{"id": "bird", "name": "Bird again"}]}]}])
    fields = schema_errors(raw)
    text = messages(fields, "label_schema.labels.0.children.0.children.0.id")
    assert "ancestor" in text and "cycle" in text and "label_schema.labels.0" in text


def test_twenty_thousand_labels_are_accepted_quickly():
    labels = [{"id": f"genus{g}", "name": f"Genus {g}",
               "children": [{"id": f"species{g}-{s}", "name": f"Species {g}.{s}"} for s in range(19)]}
              for g in range(MAX_LABELS // 20)]
    started = time.perf_counter()
    schema = parse_label_schema(schema_with(labels=labels))
    assert time.perf_counter() - started < 1.0
    assert len(schema.labels) == MAX_LABELS
    assert schema.ancestors("species999-18") == ("genus999",)


def test_twenty_thousand_and_one_labels_are_refused():
    labels = [{"id": f"l{i}", "name": f"L{i}"} for i in range(MAX_LABELS + 1)]
    fields = schema_errors(schema_with(labels=labels))
    assert list(fields) == ["label_schema.labels"]
    assert "20000" in messages(fields, "label_schema.labels")


def test_the_label_limit_counts_nested_labels():
    children = [{"id": f"l{i}", "name": "L"} for i in range(MAX_LABELS)]
    labels = [{"id": "root", "name": "Root", "children": children}]
    assert list(schema_errors(schema_with(labels=labels))) == ["label_schema.labels"]


def test_every_problem_is_reported_at_once():
    raw = {
        "tools": ["bbox", "lasso"],
        "multi_label": "yes",
        "labels": [{"id": "a", "name": ""},
                   {"id": "b", "name": "B", "children": [{"id": "a", "name": "dup"}, {"name": "no id"}]}],
        "attributes": [{"name": "pose", "type": "choice"}, {"name": "x", "type": "colour"}],
        "extra": 1,
    }
    assert set(schema_errors(raw)) == {
        "label_schema.extra", "label_schema.tools.1", "label_schema.multi_label", "label_schema.labels.0.name",
        "label_schema.labels.1.children.0.id", "label_schema.labels.1.children.1.id",
        "label_schema.attributes.0.options", "label_schema.attributes.1.type",
    }


def test_an_id_is_taken_even_by_a_label_whose_name_is_wrong():
    fields = schema_errors(schema_with(labels=[{"id": "a", "name": ""}, {"id": "a", "name": "A"}]))
    assert set(fields) == {"label_schema.labels.0.name", "label_schema.labels.1.id"}


# ------------------------------------------------------------------------------------------------------
# parse_label_schema: attributes
# ------------------------------------------------------------------------------------------------------

def attribute_errors(*attributes: object) -> dict[str, list[str]]:
    return schema_errors(schema_with(attributes=list(attributes)))


@pytest.mark.parametrize("attributes", [None, {"name": "a"}, "occluded"])
def test_attributes_must_be_a_list(attributes):
    assert list(schema_errors(schema_with(attributes=attributes))) == ["label_schema.attributes"]


def test_an_attribute_must_be_an_object():
    assert list(attribute_errors("occluded")) == ["label_schema.attributes.0"]


@pytest.mark.parametrize("name", ["", "has space", "1st", "a" * 65, 5, None, "a.b", "a\u202eb"])
def test_attribute_names_are_identifiers_of_1_to_64_characters(name):
    assert list(attribute_errors({"name": name, "type": "boolean"})) == ["label_schema.attributes.0.name"]


@pytest.mark.parametrize("name", ["occluded", "_private", "wing-span", "颜色", "n2"])
def test_identifier_like_attribute_names_are_accepted(name):
    assert name in parse_label_schema(schema_with(attributes=[{"name": name, "type": "boolean"}])).attributes


def test_attribute_names_are_unique():
    fields = attribute_errors({"name": "a", "type": "boolean"}, {"name": "a", "type": "text"})
    assert "label_schema.attributes.0" in messages(fields, "label_schema.attributes.1.name")


def test_attribute_name_and_type_are_required():
    fields = attribute_errors({"type": "boolean"}, {"name": "a"})
    assert set(fields) == {"label_schema.attributes.0.name", "label_schema.attributes.1.type"}


def test_an_unknown_attribute_type_is_refused_naming_the_types():
    text = messages(attribute_errors({"name": "a", "type": "colour"}), "label_schema.attributes.0.type")
    assert all(kind in text for kind in ATTRIBUTE_TYPES)


@pytest.mark.parametrize("options", [None, [], "a,b", ["a", "a"], ["a", ""], ["a", 3], ["a", " "],
                                     [str(i) for i in range(1001)]])
def test_choice_options_are_a_non_empty_list_of_unique_non_empty_strings(options):
    fields = attribute_errors({"name": "pose", "type": "choice", "options": options})
    assert fields and all(path.startswith("label_schema.attributes.0.options") for path in fields)


def test_a_choice_needs_options():
    assert "label_schema.attributes.0.options" in attribute_errors({"name": "pose", "type": "choice"})


@pytest.mark.parametrize("bounds", [{"min": True}, {"max": False}, {"min": "0"}, {"min": math.inf},
                                    {"max": math.nan}, {"min": 5, "max": 4}])
def test_number_bounds_are_finite_numbers_not_bools_and_ordered(bounds):
    fields = attribute_errors({"name": "count", "type": "number", **bounds})
    assert len(fields) == 1
    assert list(fields)[0] in ("label_schema.attributes.0.min", "label_schema.attributes.0.max")


def test_number_bounds_may_be_equal_or_absent():
    schema = parse_label_schema(schema_with(attributes=[{"name": "n", "type": "number", "min": 2.5, "max": 2.5},
                                                        {"name": "m", "type": "number"}]))
    assert (schema.attributes["n"].minimum, schema.attributes["n"].maximum) == (2.5, 2.5)
    assert (schema.attributes["m"].minimum, schema.attributes["m"].maximum) == (None, None)


@pytest.mark.parametrize("max_length", [0, 10_001, True, 5.0, "100", -1])
def test_text_max_length_is_a_whole_number_from_1_to_10000(max_length):
    fields = attribute_errors({"name": "note", "type": "text", "max_length": max_length})
    assert list(fields) == ["label_schema.attributes.0.max_length"]


@pytest.mark.parametrize("required", [1, "true", None])
def test_required_is_a_strict_bool(required):
    assert list(attribute_errors({"name": "a", "type": "boolean", "required": required})) == [
        "label_schema.attributes.0.required"]


@pytest.mark.parametrize("attribute, key", [
    ({"name": "a", "type": "boolean", "options": ["x"]}, "options"),
    ({"name": "a", "type": "text", "min": 1}, "min"),
    ({"name": "a", "type": "number", "max_length": 5}, "max_length"),
    ({"name": "a", "type": "choice", "options": ["x"], "max": 3}, "max"),
    ({"name": "a", "type": "boolean", "default": False}, "default"),
])
def test_keys_that_do_not_belong_to_the_type_are_refused(attribute, key):
    assert list(attribute_errors(attribute)) == [f"label_schema.attributes.0.{key}"]
