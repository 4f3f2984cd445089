"""ASCII keys made from what a person typed: 请假申请 -> qing_jia_shen_qing, "Start date" -> start_date.

Keys name tables and columns, so they stay ASCII (Frappe's `scrub` habit); Chinese labels become pinyin
(pypinyin, no tones) instead of an opaque `field_17`. The result always matches KEY_PATTERN."""

from __future__ import annotations

import re
from collections.abc import Iterable

from engine.schema.definition import KEY_PATTERN

MAX = 63
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_KEY = re.compile(KEY_PATTERN)


def key_from_label(label: str, taken: Iterable[str] = (), fallback: str = "field") -> str:
    """A key for `label` that is none of `taken` (a suffix _2, _3 ... when needed)."""
    from pypinyin import lazy_pinyin  # its phrase dictionary takes about 0.5 s to load: only when a key is made

    words = " ".join(lazy_pinyin(label or "")).lower()
    base = _NOT_WORD.sub("_", words).strip("_")
    if not base or not base[0].isalpha():
        base = f"{fallback}_{base}" if base else fallback
    base = base[:MAX].rstrip("_")
    used = set(taken)
    key, n = base, 1
    while key in used:
        n += 1
        key = f"{base[: MAX - len(str(n)) - 1].rstrip('_')}_{n}"
    assert _KEY.match(key), key
    return key
