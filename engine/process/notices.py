"""The words of the process engine's own notifications, in each recipient's language (their chosen locale).

A notice reads "<process>: <what>", e.g. "请假审批: 待你审批" for a Chinese reader and "Leave approval: to
approve" for an English one. The engine stores a notification's text as written, so it is written in the
reader's language when it is made. Other languages fall back to English."""

from __future__ import annotations

from typing import Any

from engine.schema.definition import label_text

NOTICES: dict[str, dict[str, str]] = {
    "to approve": {"zh-CN": "待你审批"},
    "to complete": {"zh-CN": "待你填写"},
    "returned to you": {"zh-CN": "已退回给你，请修改后重新提交"},  # noqa: RUF001 (Chinese punctuation)
    "for your information": {"zh-CN": "抄送给你"},
    "approved": {"zh-CN": "已通过"},
    "rejected": {"zh-CN": "已驳回"},
    "done": {"zh-CN": "已完成"},
    "completed": {"zh-CN": "已完成"},
    "withdrawn": {"zh-CN": "已撤回"},
    "the submitter is waiting for your decision": {"zh-CN": "发起人正在等你处理"},
}


def notice_title(label: Any, key: str, what: str, locale: str) -> str:
    """`label` (a Label: text or {"zh-CN": .., "en": ..}) and `what` (a NOTICES key) in `locale`."""
    return f"{label_text(label, locale) or key}: {NOTICES.get(what, {}).get(locale, what)}"
