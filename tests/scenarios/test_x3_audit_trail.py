"""X3: every change is logged and traceable (who, when, from where, old value, new value), in the same
transaction as the change; refused writes leave no trace; the log cannot be rewritten, not even with
raw SQL; two people editing the same version never silently overwrite each other."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from engine.audit.tables import audit_log
from engine.auth.policy import Access
from tests.scenarios.crm_world import ACCOUNTS_PATH, World, errors_of


async def _audit_rows(crm: World) -> int:
    async with crm.ctx.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(audit_log))).scalar_one())


async def _history(crm: World, who: str, rid: int) -> list[dict]:
    r = await crm[who].get(f"{ACCOUNTS_PATH}/{rid}/history")
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_create_update_delete_restore_each_write_one_entry(crm: World) -> None:
    rep, manager = crm["rep_e1"], crm["manager"]
    created = await rep.post(ACCOUNTS_PATH, json={"name": "Kappa", "region": "east"})
    rid = created.json()["id"]
    path = f"{ACCOUNTS_PATH}/{rid}"
    assert (await rep.patch(path, json={"name": "Kappa Ltd", "region": None, "version": 1})).status_code == 200
    assert (await manager.delete(path)).status_code == 204
    assert (await manager.post(f"{ACCOUNTS_PATH}/trash/{rid}/restore")).status_code == 200

    items = await _history(crm, "manager", rid)
    assert [(e["action"], e["actor_id"], e["source"]) for e in items] == [
        ("record.created", crm.users["rep_e1"], "api"),
        ("record.updated", crm.users["rep_e1"], "api"),
        ("record.deleted", crm.users["manager"], "api"),
        ("record.restored", crm.users["manager"], "api"),
    ]
    assert items[0]["changes"] == {"name": [None, "Kappa"], "region": [None, "east"], "owner": [None, crm.users["rep_e1"]]}
    assert items[1]["changes"] == {"name": ["Kappa", "Kappa Ltd"], "region": ["east", None]}
    assert items[2]["changes"]["name"] == ["Kappa Ltd", None]
    assert items[3]["changes"]["name"] == [None, "Kappa Ltd"]
    stamps = [datetime.fromisoformat(e["at"].replace("Z", "+00:00")) for e in items]
    assert stamps == sorted(stamps)  # oldest first
    assert all(e["token_id"] is not None for e in items)
    assert await _history(crm, "rep_e1", rid) == items  # the same trail for anyone who may read it


async def test_a_no_op_update_writes_no_entry(crm: World) -> None:
    acme = crm.accounts["Acme"]
    assert (await crm["rep_e1"].patch(f"{ACCOUNTS_PATH}/{acme}", json={"region": "east"})).status_code == 200
    assert [e["action"] for e in await _history(crm, "rep_e1", acme)] == ["record.created"]


async def test_engine_writes_are_audited_with_their_source(crm: World) -> None:
    async with crm.ctx.db.write() as conn:
        entity = await crm.ctx.store.get(conn, "crm", "account")
        await crm.ctx.records.update(conn, entity, crm.accounts["Acme"], {"region": "north"}, Access.system("rule"))
    last = (await _history(crm, "admin", crm.accounts["Acme"]))[-1]
    assert last["actor_id"] is None and last["source"] == "rule"
    assert last["changes"] == {"region": ["east", "north"]}


async def test_hidden_fields_are_left_out_of_the_history_of_those_they_are_hidden_from(crm: World) -> None:
    acme = crm.accounts["Acme"]
    r = await crm["manager"].patch(f"{ACCOUNTS_PATH}/{acme}", json={"margin": 15, "name": "Acme Corp"})
    assert r.status_code == 200
    full = await _history(crm, "manager", acme)
    assert full[0]["changes"]["margin"] == [None, 12.5]
    assert full[1]["changes"] == {"margin": [12.5, 15], "name": ["Acme", "Acme Corp"]}
    rep = await _history(crm, "rep_e1", acme)
    assert [e["action"] for e in rep] == ["record.created", "record.updated"]
    assert all("margin" not in e["changes"] for e in rep)
    assert rep[1]["changes"] == {"name": ["Acme", "Acme Corp"]}
    assert (await crm["rep_e2"].get(f"{ACCOUNTS_PATH}/{acme}/history")).status_code == 404


async def test_refused_writes_leave_no_audit_row(crm: World) -> None:
    rows = await _audit_rows(crm)
    acme = f"{ACCOUNTS_PATH}/{crm.accounts['Acme']}"
    refused = [
        await crm["rep_e1"].post(ACCOUNTS_PATH, json={"name": None}),  # 422 required
        await crm["rep_e1"].post(ACCOUNTS_PATH, json={"name": "X", "margin": 1}),  # 422 hidden
        await crm["rep_e1"].patch(acme, json={"cost": 1}),  # 422 read-only
        await crm["rep_e1"].post(
            f"{ACCOUNTS_PATH}/bulk",
            json={"op": "create", "items": [{"name": "ok"}, {"name": "bad", "owner": crm.users["rep_e2"]}]},
        ),  # 422 for the second item: the first is not written either
        await crm["rep_e1"].patch(f"{ACCOUNTS_PATH}/{crm.accounts['Gamma']}", json={"name": "X"}),  # 404
        await crm["rep_e1"].delete(acme),  # 403
        await crm["viewer"].post(ACCOUNTS_PATH, json={"name": "X"}),  # 403
        await crm["rep_e1"].patch(acme, json={"name": "X", "version": 9}),  # 409
    ]
    assert [r.status_code for r in refused] == [422, 422, 422, 422, 404, 403, 403, 409]
    assert errors_of(refused[3]) == [("/items/1/owner", "read_only")]
    assert await _audit_rows(crm) == rows


async def test_the_entry_is_written_in_the_same_transaction_as_the_change(crm: World) -> None:
    acme = crm.accounts["Acme"]
    rows = await _audit_rows(crm)

    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with crm.ctx.db.write() as conn:
            entity = await crm.ctx.store.get(conn, "crm", "account")
            await crm.ctx.records.update(conn, entity, acme, {"name": "Rolled back"}, Access.system())
            inside = (await conn.execute(select(audit_log.c.changes).where(audit_log.c.record_id == acme))).scalars().all()
            assert {"name": ["Acme", "Rolled back"]} in inside  # visible inside the transaction
            raise Abort
    assert await _audit_rows(crm) == rows
    assert (await crm["admin"].get(f"{ACCOUNTS_PATH}/{acme}")).json()["name"] == "Acme"


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE tg_audit_log SET action = 'x'",
        "UPDATE tg_audit_log SET changes = NULL WHERE action = 'record.created'",
        "DELETE FROM tg_audit_log",
        "DELETE FROM tg_audit_log WHERE id = (SELECT MIN(id) FROM tg_audit_log)",
    ],
)
async def test_the_database_refuses_to_rewrite_the_audit_log(crm: World, sql: str) -> None:
    rows = await _audit_rows(crm)
    assert rows > 0
    with pytest.raises(DBAPIError, match="append-only"):
        async with crm.ctx.db.write() as conn:
            await conn.exec_driver_sql(sql)
    assert await _audit_rows(crm) == rows
    assert {e["action"] for e in await _history(crm, "admin", crm.accounts["Acme"])} == {"record.created"}


async def test_the_database_refuses_to_truncate_the_audit_log(crm: World) -> None:
    """TRUNCATE (PostgreSQL) skips row triggers: it needs its own statement-level trigger."""
    if crm.ctx.db.is_sqlite:
        pytest.skip("SQLite has no TRUNCATE; DELETE without WHERE is refused by the row triggers")
    rows = await _audit_rows(crm)
    with pytest.raises(DBAPIError, match="append-only"):
        async with crm.ctx.db.write() as conn:
            await conn.exec_driver_sql("TRUNCATE tg_audit_log")
    assert await _audit_rows(crm) == rows


async def test_two_concurrent_edits_of_one_version_one_409_and_both_traceable(crm: World) -> None:
    """rep_e1 and their manager edit Acme from the same version at once: one wins, the other is told
    (409 with the current version) and re-applies on top; the history shows both, in order, with the
    value each one replaced. Nothing is overwritten unseen."""
    acme = crm.accounts["Acme"]
    path = f"{ACCOUNTS_PATH}/{acme}"
    editors = {"rep_e1": "Acme (rep)", "manager": "Acme (manager)"}
    results = await asyncio.gather(*[crm[who].patch(path, json={"name": name, "version": 1}) for who, name in editors.items()])
    outcome = dict(zip(editors, results, strict=True))
    assert sorted(r.status_code for r in results) == [200, 409]
    winner = next(who for who, r in outcome.items() if r.status_code == 200)
    loser = next(who for who, r in outcome.items() if r.status_code == 409)
    assert outcome[loser].json()["current_version"] == 2
    assert [e["action"] for e in await _history(crm, "manager", acme)] == ["record.created", "record.updated"]

    retry = await crm[loser].patch(path, json={"name": editors[loser]}, headers={"If-Match": '"2"'})
    assert retry.status_code == 200 and retry.json()["version"] == 3
    history = await _history(crm, "manager", acme)
    assert [(e["action"], e["actor_id"], e["changes"].get("name")) for e in history] == [
        ("record.created", crm.users["admin"], [None, "Acme"]),
        ("record.updated", crm.users[winner], ["Acme", editors[winner]]),
        ("record.updated", crm.users[loser], [editors[winner], editors[loser]]),
    ]
