"""Who a process task goes to (engine.process.assignees), on each database back end.

company (manager: ceo)
`-- sales (manager: vp)
    |-- east (manager: lead): lead, rep (primary; also a plain member of sales), temp (deactivated)
    `-- west (no manager): rep2
rover: a plain member of east and west (no primary team); loner: no team
role `approver`: vp, lead, rep, temp
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import TypeAdapter
from sqlalchemy import event, insert, update

from engine.api.context import Context
from engine.auth.roles import RoleDefinition
from engine.auth.service import grant_role
from engine.auth.tables import user_teams, users
from engine.core.errors import ErrorCollector
from engine.process.assignees import check_assignees, manager_of, resolve
from engine.process.nodes.configs import Assignee
from engine.schema.model import CompiledEntity, compile_entity
from tests.scenarios.crm_world import insert_role, insert_team

PEOPLE = ("ceo", "vp", "lead", "rep", "rep2", "rover", "temp", "loner")
# user -> [(team, primary)]
MEMBERSHIPS = {
    "ceo": [("company", True)],
    "vp": [("sales", True)],
    "lead": [("east", True)],
    "rep": [("east", True), ("sales", False)],
    "rep2": [("west", True)],
    "rover": [("west", False), ("east", False)],
    "temp": [("east", True)],
}
APPROVERS = ("vp", "lead", "rep", "temp")
SPECS = TypeAdapter(list[Assignee])


@dataclass
class Org:
    ctx: Context
    ids: dict[str, int]

    def __getitem__(self, who: str) -> int:
        return self.ids[who]

    def of(self, *who: str) -> list[int]:
        return [self.ids[w] for w in who]

    async def resolve(
        self, *docs: dict[str, Any], submitter: str | None = None, record: dict[str, Any] | None = None
    ) -> list[int]:
        async with self.ctx.db.read() as conn:
            submitter_id = None if submitter is None else self.ids[submitter]
            return await resolve(conn, SPECS.validate_python(docs), submitter_id=submitter_id, record=record or {})

    async def manager_of(self, who: str, levels: int = 1) -> int | None:
        async with self.ctx.db.read() as conn:
            return await manager_of(conn, self.ids[who], levels)

    async def deactivate(self, who: str) -> None:
        async with self.ctx.db.write() as conn:
            await conn.execute(update(users).where(users.c.id == self.ids[who]).values(active=False))


@pytest.fixture
async def org(ctx: Context) -> Org:
    async with ctx.db.write() as conn:
        now = ctx.clock.now()
        ids = {who: await ctx.auth.create_user(conn, f"{who}@example.com", who) for who in PEOPLE}
        company = await insert_team(conn, "company", None, ids["ceo"], now)
        sales = await insert_team(conn, "sales", company, ids["vp"], now)
        team_ids = {
            "company": company[0],
            "sales": sales[0],
            "east": (await insert_team(conn, "east", sales, ids["lead"], now))[0],
            "west": (await insert_team(conn, "west", sales, None, now))[0],
        }
        for who, memberships in MEMBERSHIPS.items():
            for team, primary in memberships:
                await conn.execute(insert(user_teams).values(user_id=ids[who], team_id=team_ids[team], is_primary=primary))
        await insert_role(conn, RoleDefinition(key="approver", label={"en": "Approver"}), now)
        for who in APPROVERS:
            await grant_role(conn, ids[who], "approver")
    result = Org(ctx, ids)
    await result.deactivate("temp")
    return result


async def test_named_users_in_listed_order_case_insensitive_active_only(org: Org) -> None:
    spec = {"type": "users", "users": ["VP@Example.com", "ghost@example.com", "temp@example.com", "rep@example.com"]}
    assert await org.resolve(spec) == org.of("vp", "rep")


async def test_role_holders_in_id_order(org: Org) -> None:
    assert await org.resolve({"type": "role", "role": "approver"}) == org.of("vp", "lead", "rep")
    assert await org.resolve({"type": "role", "role": "nobody_has_this"}) == []


async def test_team_members_with_and_without_subteams(org: Org) -> None:
    assert await org.resolve({"type": "team", "team": "east"}) == org.of("lead", "rep", "rover")
    assert await org.resolve({"type": "team", "team": "sales"}) == org.of("vp", "rep")
    everyone_in_sales = org.of("vp", "lead", "rep", "rep2", "rover")
    assert await org.resolve({"type": "team", "team": "sales", "subteams": True}) == everyone_in_sales
    assert await org.resolve({"type": "team", "team": "nowhere", "subteams": True}) == []


async def test_managers_up_a_three_level_tree(org: Org) -> None:
    assert [await org.manager_of("rep", n) for n in (1, 2, 3, 4)] == [org["lead"], org["vp"], org["ceo"], None]


async def test_a_manager_of_their_own_team_reports_to_the_parent_team(org: Org) -> None:
    assert [await org.manager_of("lead", n) for n in (1, 2, 3)] == [org["vp"], org["ceo"], None]
    assert await org.manager_of("ceo") is None


async def test_a_team_without_manager_yields_the_nearest_ancestors_manager(org: Org) -> None:
    # west has no manager: level 1 and level 2 (sales) are both the vp.
    assert [await org.manager_of("rep2", n) for n in (1, 2, 3)] == [org["vp"], org["vp"], org["ceo"]]


async def test_the_primary_team_wins_else_the_lowest_team_id(org: Org) -> None:
    assert await org.manager_of("rep") == org["lead"]  # east is primary; sales (a lower id) is not
    assert await org.manager_of("rover") == org["lead"]  # no primary: east was created before west
    assert await org.manager_of("loner") is None


async def test_a_deactivated_manager_is_passed_over(org: Org) -> None:
    await org.deactivate("lead")
    assert await org.manager_of("rep") == org["vp"]
    assert await org.resolve({"type": "manager"}, submitter="rep") == org.of("vp")


async def test_manager_of_the_submitter_or_the_owner(org: Org) -> None:
    record = {"owner": org["rep2"]}
    assert await org.resolve({"type": "manager"}, submitter="rep", record=record) == org.of("lead")
    assert await org.resolve({"type": "manager", "levels": 2}, submitter="rep", record=record) == org.of("vp")
    assert await org.resolve({"type": "manager", "of": "owner", "levels": 3}, submitter="rep", record=record) == org.of("ceo")
    assert await org.resolve({"type": "manager", "of": "owner"}, submitter="rep", record={"owner": None}) == []
    assert await org.resolve({"type": "manager"}, record=record) == []  # no submitter (a started-on-create instance)


async def test_user_fields_of_the_record(org: Org) -> None:
    record = {"approver": org["vp"], "owner": org["rep"], "reviewer": None, "backup": org["temp"], "name": "x"}
    assert await org.resolve({"type": "field", "field": "approver"}, record=record) == org.of("vp")
    assert await org.resolve({"type": "field", "field": "owner"}, record=record) == org.of("rep")
    for empty in ("reviewer", "backup", "name", "missing"):
        assert await org.resolve({"type": "field", "field": empty}, record=record) == []


async def test_the_submitter(org: Org) -> None:
    assert await org.resolve({"type": "submitter"}, submitter="rep2") == org.of("rep2")
    assert await org.resolve({"type": "submitter"}) == []
    assert await org.resolve({"type": "submitter"}, submitter="temp") == []


async def test_specs_keep_their_order_and_each_user_comes_once(org: Org) -> None:
    specs = (
        {"type": "submitter"},
        {"type": "role", "role": "approver"},
        {"type": "users", "users": ["rep@example.com", "ceo@example.com"]},
        {"type": "manager"},
    )
    assert await org.resolve(*specs, submitter="rep") == org.of("rep", "vp", "lead", "ceo")


async def test_each_spec_costs_at_most_one_query(org: Org) -> None:
    specs = SPECS.validate_python(
        [
            {"type": "users", "users": ["vp@example.com", "ceo@example.com"]},
            {"type": "role", "role": "approver"},
            {"type": "team", "team": "sales", "subteams": True},
            {"type": "manager", "levels": 3},
            {"type": "field", "field": "owner"},
            {"type": "submitter"},
        ]
    )
    statements: list[str] = []
    async with org.ctx.db.read() as conn:
        event.listen(conn.sync_connection, "before_cursor_execute", lambda *args: statements.append(args[2]))
        found = await resolve(conn, specs, submitter_id=org["rep"], record={"owner": org["rep2"]})
    assert found == org.of("vp", "ceo", "lead", "rep", "rep2", "rover")
    assert len(statements) == len(specs)


def quote_entity() -> CompiledEntity:
    definition = {
        "key": "quote",
        "label": {"en": "Quote"},
        "fields": [{"key": "name", "type": "text"}, {"key": "approver", "type": "user"}],
    }
    row = SimpleNamespace(id=1, key="quote", version=1, table_name="t_crm_quote", definition=definition, removed_fields=[])
    return compile_entity(row, "crm")


async def test_check_assignees_reports_each_unknown_name_at_its_path(org: Org) -> None:
    specs = SPECS.validate_python(
        [
            {"type": "users", "users": ["Rep@Example.com", "ghost@example.com", "temp@example.com", "nobody@x.org"]},
            {"type": "role", "role": "approver"},
            {"type": "role", "role": "auditor"},
            {"type": "team", "team": "east", "subteams": True},
            {"type": "team", "team": "north"},
            {"type": "field", "field": "approver"},
            {"type": "field", "field": "owner"},
            {"type": "field", "field": "name"},
            {"type": "field", "field": "missing"},
            {"type": "manager", "of": "owner"},
            {"type": "submitter"},
        ]
    )
    errors = ErrorCollector()
    async with org.ctx.db.read() as conn:
        await check_assignees(conn, specs, quote_entity(), errors, "/nodes/2/assignees")
    assert sorted((e.path, e.code) for e in errors.errors) == [
        ("/nodes/2/assignees/0/users/1", "unknown_user"),
        ("/nodes/2/assignees/0/users/3", "unknown_user"),
        ("/nodes/2/assignees/2/role", "unknown_role"),
        ("/nodes/2/assignees/4/team", "unknown_team"),
        ("/nodes/2/assignees/7/field", "not_a_user_field"),
        ("/nodes/2/assignees/8/field", "not_a_user_field"),
    ]
    assert all(e.message for e in errors.errors)


async def test_check_assignees_accepts_a_valid_list(org: Org) -> None:
    specs = SPECS.validate_python([{"type": "users", "users": ["vp@example.com"]}, {"type": "field", "field": "created_by"}])
    errors = ErrorCollector()
    async with org.ctx.db.read() as conn:
        await check_assignees(conn, specs, quote_entity(), errors, "/cc")
    assert errors.errors == []
