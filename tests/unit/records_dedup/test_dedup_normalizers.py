"""R13 normalisers: what two values must share to count as the same phone, email or company."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.records.dedup.normalize import NORMALIZERS
from engine.schema.definition import DUPLICATE_NORMALIZERS


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("+86 138-0013-8000", "13800138000"),
        ("0086 13800138000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("(138) 0013 8000", "13800138000"),
        ("138.0013.8000", "13800138000"),
        ("010-8888 6666", "01088886666"),  # a landline keeps its area code
        ("+1 (415) 555-0100", "14155550100"),  # other countries keep theirs
        ("86 10 8888 6666", "861088886666"),  # 86 before a landline is not stripped: not an 11-digit mobile
        ("", None),
        (None, None),
        ("--", None),
    ],
)
def test_r13_phone(raw: str | None, key: str | None) -> None:
    assert NORMALIZERS["phone"](raw) == key


@pytest.mark.parametrize(
    ("raw", "key"),
    [("  Li.Lei@Example.COM ", "li.lei@example.com"), ("a@b.cn", "a@b.cn"), ("   ", None), (None, None)],
)
def test_r13_email(raw: str | None, key: str | None) -> None:
    assert NORMALIZERS["email"](raw) == key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("华为技术有限公司", "华为技术"),
        ("海尔集团公司", "海尔"),
        ("平安保险股份有限公司", "平安保险"),
        ("上海某某有限责任公司", "上海某某"),
        ("Acme Co., Ltd.", "ACME"),
        ("Acme Co. Ltd", "acme"),
        ("ACME, Inc.", "Acme"),
        ("Acme LLC", "acme"),
        ("Acme Corp.", "acme"),
        ("Acme Limited", "acme"),
        ("Acme GmbH", "acme"),
        (
            "\uff21\uff23\uff2d\uff25\u3000\uff23\uff4f\uff0e\uff0c\uff2c\uff54\uff44\uff0e",
            "acme",
        ),  # "ACME Co.,Ltd." in full-width letters, space and punctuation
        ("Tencent (Shenzhen) Co., Ltd.", "tencent shenzhen"),
    ],
)
def test_r13_company_names_that_match(a: str, b: str) -> None:
    assert NORMALIZERS["company"](a) == NORMALIZERS["company"](b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Costco", "Cost"),  # a legal form only counts as a whole trailing word
        ("北京华为技术有限公司", "华为技术有限公司"),
        ("Acme Holdings", "Acme"),
    ],
)
def test_r13_company_names_that_differ(a: str, b: str) -> None:
    assert NORMALIZERS["company"](a) != NORMALIZERS["company"](b)


def test_r13_company_keys() -> None:
    company = NORMALIZERS["company"]
    assert company("华为技术有限公司") == "华为技术"
    assert company("Acme Co., Ltd.") == "acme"
    assert company("Ltd.") == "ltd"  # only a legal form: kept whole, not matched with every other such name
    assert company("  ") is None


@pytest.mark.parametrize(
    ("raw", "key"),
    [(" ABC ", "ABC"), (12, "12"), (Decimal("12.50"), "12.5"), (date(2026, 1, 2), "2026-01-02"), (True, "true"), ("", None)],
)
def test_r13_exact(raw: object, key: str | None) -> None:
    assert NORMALIZERS["exact"](raw) == key


def test_every_normaliser_a_definition_may_name_exists() -> None:
    assert set(NORMALIZERS) == set(DUPLICATE_NORMALIZERS) == {"exact", "phone", "email", "company"}
