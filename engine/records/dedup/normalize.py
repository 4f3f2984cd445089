"""Normalisers: turn a field value into the text two records must share to match under a rule.

A small registry, one class per normaliser named in `DUPLICATE_NORMALIZERS` of the entity definition
(which also says which field types each suits). A normaliser returns None when a value gives no key
(empty, or nothing left to compare): such a record matches nothing under that rule.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from engine.schema.definition import DUPLICATE_NORMALIZERS


class Normalizer:
    name: ClassVar[str]

    def __call__(self, value: Any) -> str | None:
        raise NotImplementedError


class Exact(Normalizer):
    """The stored value as text: strings as they are (trimmed), numbers without trailing zeros."""

    name = "exact"

    def __call__(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, Decimal):
            return format(value.normalize(), "f")
        if isinstance(value, date | datetime):
            return value.isoformat()
        text = str(value).strip()
        return text or None


class Phone(Normalizer):
    """Digits only; the Chinese country code (+86, 0086, 86) dropped before an 11-digit mobile number."""

    name = "phone"
    MOBILE = re.compile(r"^(?:0086|86)(1\d{10})$")

    def __call__(self, value: Any) -> str | None:
        digits = "".join(c for c in str(value or "") if c.isdigit())
        mobile = self.MOBILE.match(digits)
        return (mobile.group(1) if mobile else digits) or None


class Email(Normalizer):
    name = "email"

    def __call__(self, value: Any) -> str | None:
        return str(value or "").strip().lower() or None


class Company(Normalizer):
    """Lower-case, full-width to half-width, punctuation and spaces out, legal-form suffixes off:
    "Acme Co., Ltd." and "ACME" match, so do "华为技术有限公司" and "华为技术"."""

    name = "company"
    # Latin legal forms are whole trailing words (so "Costco" keeps its "co").
    WORD_SUFFIXES = frozenset(
        {"co", "company", "corp", "corporation", "inc", "incorporated", "llc", "ltd", "limited", "gmbh", "ag", "plc",
         "sa", "srl", "bv", "kk", "pte", "pty", "group"}
    )  # fmt: skip
    # Chinese forms have no word breaks: longest first, stripped from the end while one matches.
    CJK_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团公司", "集团", "公司")
    PUNCTUATION = re.compile(r"[\W_]+")

    def __call__(self, value: Any) -> str | None:
        text = unicodedata.normalize("NFKC", str(value or "")).lower()
        words = [w for w in self.PUNCTUATION.split(text) if w]
        whole = "".join(words)
        changed = True
        while changed and words:
            changed = False
            if len(words) > 1 and words[-1] in self.WORD_SUFFIXES:
                words.pop()
                changed = True
            for suffix in self.CJK_SUFFIXES:
                if words[-1].endswith(suffix) and len(words[-1]) > len(suffix):
                    words[-1] = words[-1].removesuffix(suffix)
                    changed = True
                    break
        # A name that is nothing but a legal form ("Ltd") keeps its full text rather than matching all such names.
        return "".join(words) or whole or None


NORMALIZERS: dict[str, Normalizer] = {n.name: n for n in (Exact(), Phone(), Email(), Company())}
assert set(NORMALIZERS) == set(DUPLICATE_NORMALIZERS), "every normaliser a definition may name is implemented"
