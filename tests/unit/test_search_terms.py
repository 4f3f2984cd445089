"""How a search box's text becomes terms, and how a match becomes a snippet (SCENARIOS X6)."""

from types import SimpleNamespace

import pytest

from engine.core.errors import ValidationFailed
from engine.records.search import TextSearch, parse_search, snippet, split_terms


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("发票", ["发票"]),  # no segmentation: a two-character word is one term
        ("打印机 驱动", ["打印机", "驱动"]),
        ("打印机\u3000驱动", ["打印机", "驱动"]),  # the ideographic space separates too
        ('"reset password" wifi', ["reset password", "wifi"]),
        ("“无线 网络” 密码", ["无线 网络", "密码"]),  # Chinese quotes make a phrase
        ('"unclosed phrase', ["unclosed phrase"]),
        ("WiFi wifi WIFI", ["WiFi"]),  # duplicates ignoring case
        ("100% a_b", ["100%", "a_b"]),  # kept literally; the SQL escapes them
        ('  ""  ', []),
    ],
)
def test_split_terms(text, terms):
    assert split_terms(text) == terms


def _entity(display="title"):
    return SimpleNamespace(definition=SimpleNamespace(display_field=display))


def _row(**values):
    return SimpleNamespace(_mapping=values)


def test_snippet_prefers_the_body_and_marks_every_match():
    body = "x" * 50 + "安装打印机驱动后重启打印机" + "y" * 100
    got = snippet(_entity(), _row(title="打印机", body=body), TextSearch(("打印机", "驱动"), ("title", "body")))
    # 30 characters of context before the first match, 120 in all, ellipses where text was cut;
    # 打印机驱动 touch, so they are one highlighted span
    assert got == {"field": "body", "text": "…" + body[22:142] + "…", "matches": [[31, 36], [39, 42]]}


def test_snippet_is_case_insensitive_and_falls_back_to_the_display_field():
    got = snippet(_entity(), _row(title="Reset the WiFi", body=None), TextSearch(("wifi",), ("title", "body")))
    assert got == {"field": "title", "text": "Reset the WiFi", "matches": [[10, 14]]}


def test_a_query_too_long_or_empty_is_refused_at_its_path():
    entity = SimpleNamespace(key="doc", fields={}, definition=SimpleNamespace(display_field=None))
    with pytest.raises(ValidationFailed) as exc:
        parse_search(entity, "   ", frozenset())
    assert sorted((e.path, e.code) for e in exc.value.errors) == [("/q", "empty"), ("/q", "nothing_to_search")]
