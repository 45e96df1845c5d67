from __future__ import annotations

import pytest

from wbplay.playbook.matchers import describe, matches


@pytest.mark.parametrize(
    ("matcher", "actual", "expected"),
    [
        ({"equals": "Manual"}, "Manual", True),
        ({"equals": "Manual"}, "manual", False),
        ({"in": ["Automatic", "Manual"]}, "Disabled", False),
        ({"not": {"equals": "Disabled"}}, "Manual", True),
        ({"not": {"in": ["Disabled", None]}}, None, False),
        ({"matches": r"^0x8007"}, "0x80070422", True),
        ({"matches": "x"}, None, False),
        ({"lt": 3}, 2, True),
        ({"gt": 3}, 2, False),
        ({"gte": "6.2"}, "6.1.7601", False),
        ({"gte": "6.2"}, "10.0.19045", True),
        ({"lt": "6.2"}, "6.1.7601", True),
        ({"lte": 512}, 4096, False),
        ({"exists": True}, None, False),
        ({"exists": False}, None, True),
        ({"contains": "RPCSS"}, ["RPCSS"], True),
        ({"all": [{"gt": 1}, {"lt": 5}]}, 3, True),
        ({"any": [{"equals": 1}, {"equals": 5}]}, 3, False),
        ({"gt": 1, "lt": 5}, 7, False),
        ({"lt": 3}, None, False),
        ({"lt": 3}, "abc", False),
        ({"gt": 0}, True, False),
    ],
)
def test_matchers(matcher: dict, actual: object, expected: bool) -> None:
    assert matches(matcher, actual) is expected


def test_describe_reads_like_english() -> None:
    assert describe({"not": {"equals": "Disabled"}}) == "not Disabled"
    assert describe({"in": ["Automatic", "Manual"]}) == "one of [Automatic, Manual]"
    assert describe({"gte": 512, "exists": True}) == ">= 512 and present"
