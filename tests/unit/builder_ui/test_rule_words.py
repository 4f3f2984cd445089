"""The rule list's words (builder_ui/builder/rules.py): triggers said as a person would, schedules made with the
designer's presets said as "every Monday at 02:00", any other cron shown as it is, in both languages."""

from builder_ui.builder.rules import _cron_words, _trigger_words
from builder_ui.i18n import gettext

EN, ZH = gettext("en"), gettext("zh-CN")


def test_schedules_from_the_presets_in_words_other_cron_as_is() -> None:
    assert [_cron_words(c, EN) for c in ("30 9 * * *", "0 2 * * 1", "0 8 15 * *")] == [
        "Every day at 09:30", "Every Monday at 02:00", "Every month on day 15 at 08:00",
    ]  # fmt: skip
    assert _cron_words("0 2 * * 1", ZH) == "每星期一 02:00"
    assert _cron_words("*/5 * * * *", EN) == "On a schedule (*/5 * * * *)"
    assert _cron_words("0 8 1 * 1", EN) == "On a schedule (0 8 1 * 1)"  # day of month and weekday: as written


def test_triggers_in_words_with_field_labels() -> None:
    labels = {"status": "状态", "last_contact_at": "最近联系时间"}
    assert _trigger_words({"trigger": {"type": "created"}}, labels, ZH) == "新增数据时"
    assert _trigger_words({"trigger": {"type": "field_changed", "fields": ["status"]}}, labels, ZH) == "当状态变化时"
    date = {"type": "date", "field": "last_contact_at", "offset": {"amount": 7, "unit": "days"}, "direction": "after"}
    assert _trigger_words({"trigger": date}, labels, ZH) == "最近联系时间之后7天"
    assert _trigger_words({"trigger": {**date, "direction": "before"}}, {}, EN) == "7 days before last_contact_at"
