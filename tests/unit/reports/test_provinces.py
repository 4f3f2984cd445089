"""Province names as people write them map to the names ECharts' china map draws (engine.reports.provinces)."""

from __future__ import annotations

import pytest

from engine.reports.provinces import canonical_province

# (ECharts name, full Chinese name, English / pinyin): all 34 provincial-level divisions
EXPECTED = [
    ("北京", "北京市", "Beijing"), ("天津", "天津市", "Tianjin"), ("上海", "上海市", "Shanghai"),
    ("重庆", "重庆市", "Chongqing"), ("河北", "河北省", "Hebei"), ("山西", "山西省", "Shanxi"),
    ("辽宁", "辽宁省", "Liaoning"), ("吉林", "吉林省", "Jilin"), ("黑龙江", "黑龙江省", "Heilongjiang"),
    ("江苏", "江苏省", "Jiangsu"), ("浙江", "浙江省", "Zhejiang"), ("安徽", "安徽省", "Anhui"),
    ("福建", "福建省", "Fujian"), ("江西", "江西省", "Jiangxi"), ("山东", "山东省", "Shandong"),
    ("河南", "河南省", "Henan"), ("湖北", "湖北省", "Hubei"), ("湖南", "湖南省", "Hunan"),
    ("广东", "广东省", "Guangdong"), ("海南", "海南省", "Hainan"), ("四川", "四川省", "Sichuan"),
    ("贵州", "贵州省", "Guizhou"), ("云南", "云南省", "Yunnan"), ("陕西", "陕西省", "Shaanxi"),
    ("甘肃", "甘肃省", "Gansu"), ("青海", "青海省", "Qinghai"), ("台湾", "台湾省", "Taiwan"),
    ("内蒙古", "内蒙古自治区", "Inner Mongolia"), ("广西", "广西壮族自治区", "Guangxi"),
    ("西藏", "西藏自治区", "Tibet"), ("宁夏", "宁夏回族自治区", "Ningxia"),
    ("新疆", "新疆维吾尔自治区", "Xinjiang"), ("香港", "香港特别行政区", "Hong Kong"),
    ("澳门", "澳门特别行政区", "Macau"),
]  # fmt: skip


def test_all_34_divisions_are_covered() -> None:
    assert len({short for short, _, _ in EXPECTED}) == 34


@pytest.mark.parametrize(("short", "full", "english"), EXPECTED, ids=[e[2] for e in EXPECTED])
def test_full_short_and_english_names_give_the_echarts_name(short: str, full: str, english: str) -> None:
    assert canonical_province(full) == short
    assert canonical_province(short) == short
    assert canonical_province(english) == short
    assert canonical_province(f"  {english.upper()} ") == short  # case and spacing do not matter


@pytest.mark.parametrize(
    ("text", "short"),
    [
        ("Macao", "澳门"), ("Xizang", "西藏"), ("Nei Mongol", "内蒙古"), ("inner-mongolia", "内蒙古"),
        ("InnerMongolia", "内蒙古"), ("Guangxi Zhuang Autonomous Region", "广西"), ("Hong Kong SAR", "香港"),
        ("Guangdong Province", "广东"), ("Beijing Municipality", "北京"), ("Xinjiang Uygur Autonomous Region", "新疆"),
        ("广西自治区", "广西"), ("台灣", "台湾"), ("澳門", "澳门"),
        ("\uff27\uff35\uff21\uff2e\uff27\uff24\uff2f\uff2e\uff27", "广东"),  # in full-width letters
    ],
)  # fmt: skip
def test_other_common_spellings(text: str, short: str) -> None:
    assert canonical_province(text) == short


@pytest.mark.parametrize("text", ["", "广州市", "深圳", "Tokyo", "China", "省", "Shanghai Pudong", "东北"])
def test_names_of_no_province_give_none(text: str) -> None:
    assert canonical_province(text) is None
