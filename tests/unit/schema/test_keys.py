"""Keys from labels (the builder names apps, entities, fields and options from what the user typed)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from engine.schema.definition import KEY_PATTERN
from engine.schema.keys import key_from_label


def test_chinese_labels_become_pinyin_and_english_labels_snake_case() -> None:
    assert key_from_label("请假申请") == "qing_jia_shen_qing"
    assert key_from_label("Start date") == "start_date"
    assert key_from_label("天数 (Days)") == "tian_shu_days"


def test_a_taken_key_gets_the_next_free_suffix() -> None:
    assert key_from_label("类型", taken={"lei_xing", "lei_xing_2"}) == "lei_xing_3"


def test_labels_without_letters_still_give_a_valid_key() -> None:
    assert key_from_label("2024") == "field_2024"
    assert key_from_label("!!!", fallback="app") == "app"
    assert key_from_label("") == "field"


@given(st.text(max_size=200), st.sets(st.from_regex(KEY_PATTERN, fullmatch=True), max_size=5))
def test_every_label_gives_a_valid_free_key(label: str, taken: set[str]) -> None:
    key = key_from_label(label, taken)
    assert re.match(KEY_PATTERN, key) and key not in taken
