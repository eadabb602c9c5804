"""Filter parsing and item signals (blender/filters.py)."""
import pytest

from blender.filters import SignalIndex, item_signals
from lens.types import Filters


def test_parse_accepts_scalars_lists_and_pairs():
    f = Filters.parse({"color": "Red", "skin_tone_range": [1, "2"]})
    assert f.color == {"red"} and f.skin_tone_range == {1, 2} and f.active
    assert Filters.from_pairs(["color=red,navy", "category=dress"]).to_dict() == {
        "category": ["dress"], "color": ["navy", "red"]}
    assert not Filters.parse(None).active and Filters.parse({}).to_dict() == {}


@pytest.mark.parametrize("data, message", [
    ({"colour": "red"}, "filters.colour: unknown filter"),
    ({"color": "reddish"}, "filters.color: 'reddish' is not a palette colour"),
    ({"skin_tone_range": 5}, "filters.skin_tone_range: 5 is not a range"),
    ({"body_type_range": "big"}, "filters.body_type_range: 'big' is not a range"),
    ({"body_type_range": True}, "is not a range"),
    ({"category": ""}, "filters.category: '' must be a non-empty string"),
    (["color"], "filters: expected an object"),
])
def test_bad_filters_name_the_field(data, message):
    with pytest.raises(ValueError, match=message):
        Filters.parse(data)


def test_bad_pair():
    with pytest.raises(ValueError, match="filter 'color': expected key=value"):
        Filters.from_pairs(["color"])


def test_item_signals_from_metadata_understanding_and_crops():
    item = {"id": "s1", "category": None, "objects": [{"category": "dress"}],
            "crops": [{"label": "handbag"}],
            "understanding": {"categories": [{"kind": "coarse", "name": "tops", "score": 0.6},
                                             {"kind": "category", "name": "shoe", "score": 0.2}],
                              "signals": {"colors": ["teal"], "skin_tone_ranges": [4], "body_type_ranges": []}}}
    sig = item_signals(item)
    assert sig["category"] == {"dress", "handbag", "tops"}           # a weak head guess is left out
    assert sig["color"] == {"teal"} and sig["skin_tone_range"] == {4} and sig["body_type_range"] == set()
    index = SignalIndex([item, {"id": "p", "category": "dress", "color": "red"}])
    assert index.allowed(Filters.parse({"category": "dress"})) == {"s1", "p"}
    assert index.allowed(Filters.parse({"category": "dress", "color": "red"})) == {"p"}
    # the same filters give the same set object: an index keeps one row filter per set (lens.index.selection)
    again = index.allowed(Filters.parse({"category": ["dress"]}))
    assert again is index.allowed(Filters.parse({"category": "dress"})) and isinstance(again, frozenset)
    assert index.allowed(Filters()) is None
