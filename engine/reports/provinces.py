"""China's 34 provincial-level divisions, and the names people write them by (full Chinese names,
short names, English and pinyin), mapped to the short name ECharts' china map uses ("广东", "内蒙古")."""

from __future__ import annotations

import re
import unicodedata

# short name (ECharts), full name, English / pinyin spellings
PROVINCES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("北京", "北京市", ("Beijing", "Peking")),
    ("天津", "天津市", ("Tianjin",)),
    ("上海", "上海市", ("Shanghai",)),
    ("重庆", "重庆市", ("Chongqing",)),
    ("河北", "河北省", ("Hebei",)),
    ("山西", "山西省", ("Shanxi",)),
    ("辽宁", "辽宁省", ("Liaoning",)),
    ("吉林", "吉林省", ("Jilin",)),
    ("黑龙江", "黑龙江省", ("Heilongjiang",)),
    ("江苏", "江苏省", ("Jiangsu",)),
    ("浙江", "浙江省", ("Zhejiang",)),
    ("安徽", "安徽省", ("Anhui",)),
    ("福建", "福建省", ("Fujian",)),
    ("江西", "江西省", ("Jiangxi",)),
    ("山东", "山东省", ("Shandong",)),
    ("河南", "河南省", ("Henan",)),
    ("湖北", "湖北省", ("Hubei",)),
    ("湖南", "湖南省", ("Hunan",)),
    ("广东", "广东省", ("Guangdong", "Canton")),
    ("海南", "海南省", ("Hainan",)),
    ("四川", "四川省", ("Sichuan", "Szechuan")),
    ("贵州", "贵州省", ("Guizhou",)),
    ("云南", "云南省", ("Yunnan",)),
    ("陕西", "陕西省", ("Shaanxi",)),
    ("甘肃", "甘肃省", ("Gansu",)),
    ("青海", "青海省", ("Qinghai",)),
    ("台湾", "台湾省", ("Taiwan", "台灣", "臺灣")),
    ("内蒙古", "内蒙古自治区", ("Inner Mongolia", "Nei Mongol", "Neimenggu", "內蒙古")),
    ("广西", "广西壮族自治区", ("Guangxi", "Guangxi Zhuang")),
    ("西藏", "西藏自治区", ("Tibet", "Xizang")),
    ("宁夏", "宁夏回族自治区", ("Ningxia", "Ningxia Hui")),
    ("新疆", "新疆维吾尔自治区", ("Xinjiang", "Xinjiang Uygur", "Xinjiang Uyghur")),
    ("香港", "香港特别行政区", ("Hong Kong", "Hongkong", "Xianggang", "HK")),
    ("澳门", "澳门特别行政区", ("Macau", "Macao", "Aomen", "澳門")),
)

# what a name may end with besides the place itself: "广东省", "Guangdong Province", "Hong Kong SAR"
SUFFIXES = ("特别行政区", "自治区", "省", "市", "specialadministrativeregion", "autonomousregion", "province",
            "municipality", "city", "sar")  # fmt: skip


def normalized(text: str) -> str:
    """Case, width (full-width letters) and spacing folded away: "Inner  Mongolia" reads as "inner-mongolia"."""
    return re.sub(r"[\s\-_.,'\u2019\u00b7]+", "", unicodedata.normalize("NFKC", text)).casefold()


def _aliases() -> dict[str, str]:
    aliases: dict[str, str] = {}
    for short, full, others in PROVINCES:
        for name in (short, full, *others):
            aliases[normalized(name)] = short
    return aliases


ALIASES = _aliases()


def canonical_province(text: str) -> str | None:
    """The ECharts short name of the province `text` names, or None when it names none."""
    name = normalized(text)
    if name in ALIASES:
        return ALIASES[name]
    for suffix in SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in ALIASES:
            return ALIASES[name[: -len(suffix)]]
    return None
