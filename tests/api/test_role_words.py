"""The role editor's words (builder_ui/builder/role_words.py): what a role lets its holders do, told from the
engine's own rights() in both languages, forms with the same rights told together, hidden and read-only fields
by their labels, and the forms a role cannot reach listed as such."""

from builder_ui.builder.role_words import AppEntities, explain
from builder_ui.i18n import gettext
from engine.auth.roles import parse_role
from tests.factories import ACCOUNT, LEAD, make_app


async def _crm(client, ctx) -> list[AppEntities]:
    await make_app(client, "crm", LEAD, ACCOUNT)
    async with ctx.db.read() as conn:
        return [AppEntities("crm", {"en": "CRM", "zh-CN": "客户管理"}, await ctx.store.list(conn, "crm"))]


def _words(role: dict, apps: list[AppEntities], locale: str) -> list[tuple[str, str]]:
    lines = explain(parse_role({"key": "r", "label": "R", **role}), apps, locale, gettext(locale))
    return [(line["title"], line["text"]) for line in lines]


async def test_one_form_in_words_in_both_languages(client, ctx):
    apps = await _crm(client, ctx)
    role = {"grants": [{"entity": "crm.lead", "read": "team", "update": "own", "export": "none", "create": True,
                        "hidden_fields": ["budget"], "read_only_fields": ["email"]}]}  # fmt: skip
    assert _words(role, apps, "en") == [
        ("CRM · Lead", "Sees the records they own and those of their team; cannot see budget; may create records; "
                       "edits only their own records; cannot change email; cannot delete; may export nothing."),
        ("CRM · Account", "No access."),
    ]  # fmt: skip
    zh = "可查看本人及本部门的数据；看不到 budget；可新建；只能编辑本人的数据；不能修改 email；不能删除；不能导出。"  # noqa: RUF001
    assert _words(role, apps, "zh-CN")[0] == ("客户管理 · 线索", zh)


async def test_a_whole_app_in_one_sentence_and_no_grant_at_all(client, ctx):
    apps = await _crm(client, ctx)
    everything = {"grants": [{"entity": "*", "read": "all", "export": "all", "manage": True}]}
    assert _words(everything, apps, "en") == [
        ("CRM: every form", "Sees every record; cannot create records; cannot edit; cannot delete; may export every "
                            "record; may change the form's design."),
    ]  # fmt: skip
    assert _words({"grants": []}, apps, "en") == [("CRM", "No access to this app.")]
    assert _words({"grants": []}, [], "zh-CN") == [("无", "此角色目前没有任何应用的访问权限。")]
