"""X2 roles and data scope: the exact records each user reaches on every read and write path.

A sales rep sees their own customers, a manager the team (sub-teams included), the director everything;
view, edit and export are separate rights. A record out of reach answers 404 (its existence does not
leak: BOLA); a record the caller can read but not change answers 403. See crm_world.py for the cast.
"""

from __future__ import annotations

from sqlalchemy import insert

from engine.auth.service import grant_role
from engine.auth.tables import record_shares, user_teams
from tests.scenarios.crm_world import (
    ACCOUNTS,
    ACCOUNTS_PATH,
    ALL_ACCOUNTS,
    CONTACTS,
    CONTACTS_PATH,
    EXPORT_ACCOUNTS,
    READ_ACCOUNTS,
    READ_CONTACTS,
    UPDATE_ACCOUNTS,
    USERS,
    World,
    csv_rows,
    errors_of,
    flt,
    share,
)

MISSING_ID = 987_654


async def test_get_by_id_is_200_in_scope_and_404_outside(crm: World) -> None:
    seen: dict[str, set[str]] = {}
    for who in USERS:
        seen[who] = set()
        for name, rid in crm.accounts.items():
            r = await crm[who].get(f"{ACCOUNTS_PATH}/{rid}")
            assert r.status_code in (200, 404), (who, name, r.status_code)
            if r.status_code == 200:
                seen[who].add(name)
            else:  # the same answer as for an id that does not exist
                missing = await crm[who].get(f"{ACCOUNTS_PATH}/{MISSING_ID}")
                assert r.json()["type"] == missing.json()["type"] == "/problems/not-found"
    assert seen == READ_ACCOUNTS
    contacts: dict[str, set[str]] = {who: set() for who in USERS}
    for who in USERS:
        for name, rid in crm.contacts.items():
            if (await crm[who].get(f"{CONTACTS_PATH}/{rid}")).status_code == 200:
                contacts[who].add(name)
    assert contacts == READ_CONTACTS


async def test_list_shows_exactly_the_read_scope(crm: World) -> None:
    assert {who: set(await crm.list_names(who)) for who in USERS} == READ_ACCOUNTS
    assert {who: set(await crm.list_names(who, CONTACTS_PATH)) for who in USERS} == READ_CONTACTS


async def test_list_with_a_filter_stays_within_scope(crm: World) -> None:
    east = {n for n, spec in ACCOUNTS.items() if spec[1] == "east"}
    got = {who: set(await crm.list_names(who, filter=flt("region", "eq", "east"))) for who in USERS}
    assert got == {who: READ_ACCOUNTS[who] & east for who in USERS}
    # A filter on the owner cannot reach past the scope either.
    theirs = flt("owner", "eq", crm.users["director"])
    assert {who: set(await crm.list_names(who, filter=theirs)) for who in USERS} == {
        who: READ_ACCOUNTS[who] & {"Zeta"} for who in USERS
    }


async def test_list_with_a_sort_stays_within_scope(crm: World) -> None:
    got = {who: await crm.list_names(who, sort="-name") for who in USERS}
    assert got == {who: sorted(READ_ACCOUNTS[who], reverse=True) for who in USERS}


async def test_list_pages_through_the_scope_with_the_cursor(crm: World) -> None:
    for who in ("manager", "rep_w1"):
        names, cursor = [], None
        while True:
            params = {"limit": 2, "sort": "name"} | ({"cursor": cursor} if cursor else {})
            page = (await crm[who].get(ACCOUNTS_PATH, params=params)).json()
            names += crm.account_names([i["id"] for i in page["items"]])
            if not (cursor := page["next_cursor"]):
                break
        assert names == sorted(READ_ACCOUNTS[who]), who


async def test_count_is_the_size_of_the_scope(crm: World) -> None:
    totals = {who: (await crm[who].get(ACCOUNTS_PATH, params={"count": "true", "limit": 1})).json()["total"] for who in USERS}
    assert totals == {who: len(READ_ACCOUNTS[who]) for who in USERS}
    east = {n for n, spec in ACCOUNTS.items() if spec[1] == "east"}
    params = {"count": "true", "limit": 1, "filter": flt("region", "eq", "east")}
    totals = {who: (await crm[who].get(ACCOUNTS_PATH, params=params)).json()["total"] for who in USERS}
    assert totals == {who: len(READ_ACCOUNTS[who] & east) for who in USERS}


async def test_expand_shows_only_readable_targets(crm: World) -> None:
    """contact.account expands to the account when the caller may read it; otherwise it stays a bare id."""
    for who in USERS:
        r = await crm[who].get(CONTACTS_PATH, params={"expand": "account", "limit": 1000})
        assert r.status_code == 200, r.text
        got = {}
        for item in r.json()["items"]:
            value = item["account"]
            got[crm.contact_names([item["id"]])[0]] = ("record", value["name"]) if isinstance(value, dict) else ("id", value)
        expected = {}
        for name in READ_CONTACTS[who]:
            account = CONTACTS[name][1]
            readable = account in READ_ACCOUNTS[who]
            expected[name] = ("record", account) if readable else ("id", crm.accounts[account])
        assert got == expected, who
    # The same on a single record.
    one = (await crm["rep_e1"].get(f"{CONTACTS_PATH}/{crm.contacts['Han Mei']}", params={"expand": "account"})).json()
    assert one["account"] == crm.accounts["Zeta"]


async def test_bulk_update_refuses_items_outside_the_update_scope_and_writes_nothing(crm: World) -> None:
    before = await crm.versions()
    for who in USERS:
        for name in ALL_ACCOUNTS - UPDATE_ACCOUNTS[who]:
            items = [{"id": crm.accounts[name], "region": "north"}]
            if UPDATE_ACCOUNTS[who]:  # an item in scope first: it must not be written either
                items.insert(0, {"id": crm.accounts[min(UPDATE_ACCOUNTS[who])], "region": "north"})
            r = await crm[who].post(f"{ACCOUNTS_PATH}/bulk", json={"op": "update", "items": items})
            code = "forbidden" if name in READ_ACCOUNTS[who] else "not_found"
            assert r.status_code == 422, (who, name, r.text)
            assert errors_of(r) == [(f"/items/{len(items) - 1}/id", code)], (who, name)
    assert await crm.versions() == before


async def test_bulk_update_of_the_whole_update_scope(crm: World) -> None:
    for who in USERS:
        if not UPDATE_ACCOUNTS[who]:
            continue
        before = await crm.versions()
        items = [{"id": crm.accounts[name], "region": f"by {who}"} for name in sorted(UPDATE_ACCOUNTS[who])]
        r = await crm[who].post(f"{ACCOUNTS_PATH}/bulk", json={"op": "update", "items": items})
        assert r.status_code == 200, (who, r.text)
        after = await crm.versions()
        assert {n for n in ALL_ACCOUNTS if after[n] != before[n]} == UPDATE_ACCOUNTS[who], who


async def test_bulk_update_of_a_missing_id_is_not_found(crm: World) -> None:
    r = await crm["manager"].post(f"{ACCOUNTS_PATH}/bulk", json={"op": "update", "items": [{"id": MISSING_ID, "name": "x"}]})
    assert r.status_code == 422 and errors_of(r) == [("/items/0/id", "not_found")]


async def test_export_is_the_export_scope(crm: World) -> None:
    for who in USERS:
        r = await crm[who].get(f"{ACCOUNTS_PATH}/export", params={"format": "csv"})
        expected = EXPORT_ACCOUNTS[who]
        if expected is None:
            assert r.status_code == 403, (who, r.text)
            continue
        assert r.status_code == 200, (who, r.text)
        assert {row["name"] for row in csv_rows(r.text)} == expected, who
    # With a filter: the filter narrows the export scope, never widens it.
    r = await crm["manager"].get(f"{ACCOUNTS_PATH}/export", params={"filter": flt("region", "eq", "east")})
    assert {row["name"] for row in csv_rows(r.text)} == {"Acme", "Gamma", "Epsilon"}


async def test_history_is_404_for_records_out_of_reach(crm: World) -> None:
    got = {}
    for who in USERS:
        got[who] = set()
        for name, rid in crm.accounts.items():
            r = await crm[who].get(f"{ACCOUNTS_PATH}/{rid}/history")
            assert r.status_code in (200, 404), (who, name, r.status_code)
            if r.status_code == 200:
                got[who].add(name)
                assert [e["action"] for e in r.json()["items"]] == ["record.created"]
    assert got == READ_ACCOUNTS


async def test_a_manager_sees_the_sub_teams_including_new_members(crm: World) -> None:
    """Team scope is the manager's team and every team below it; a new member counts as soon as the
    membership is committed (the admin API drops cached accesses, as this direct write does)."""
    assert set(await crm.list_names("manager")) == {"Acme", "Beta", "Gamma", "Delta", "Epsilon"}
    async with crm.ctx.db.write() as conn:
        newcomer = await crm.ctx.auth.create_user(conn, "rep_w2@example.com", "rep_w2")
        await conn.execute(insert(user_teams).values(user_id=newcomer, team_id=crm.teams["west"], is_primary=True))
        await grant_role(conn, newcomer, "sales_rep")
    crm.ctx.auth.forget_cached()
    r = await crm["admin"].post(ACCOUNTS_PATH, json={"name": "Theta", "owner": newcomer})
    assert r.status_code == 201
    assert "Theta" in {i["name"] for i in (await crm["manager"].get(ACCOUNTS_PATH)).json()["items"]}
    assert (await crm["manager"].get(f"{ACCOUNTS_PATH}/{r.json()['id']}")).status_code == 200
    for rep in ("rep_e1", "rep_w1"):  # peers do not see each other's records
        assert (await crm[rep].get(f"{ACCOUNTS_PATH}/{r.json()['id']}")).status_code == 404


async def test_a_shared_record_is_readable_and_editable_only_with_can_edit(crm: World) -> None:
    gamma = f"{ACCOUNTS_PATH}/{crm.accounts['Gamma']}"
    assert (await crm["rep_w1"].get(gamma)).status_code == 200
    assert (await crm["rep_e1"].get(gamma)).status_code == 404  # shared with rep_w1 only
    r = await crm["rep_w1"].patch(gamma, json={"region": "west"})
    assert r.status_code == 403 and r.json()["type"] == "/problems/forbidden"
    await share(crm, "Gamma", "rep_w1", can_edit=True)
    r = await crm["rep_w1"].patch(gamma, json={"region": "west"})
    assert r.status_code == 200 and r.json()["region"] == "west"
    assert (await crm["rep_w1"].delete(gamma)).status_code == 403  # a share never widens delete beyond the role's
    assert (await crm["rep_w1"].get(f"{ACCOUNTS_PATH}/export")).status_code == 403


async def test_update_outside_the_update_scope(crm: World) -> None:
    """403 when the caller can read the record, 404 when they cannot (nor can they tell it exists)."""
    codes = {}
    for who in USERS:
        for name, rid in crm.accounts.items():
            r = await crm[who].patch(f"{ACCOUNTS_PATH}/{rid}", json={"region": "south"})
            codes[who, name] = r.status_code
    expected = {
        (who, name): 200 if name in UPDATE_ACCOUNTS[who] else 403 if name in READ_ACCOUNTS[who] else 404
        for who in USERS
        for name in ALL_ACCOUNTS
    }
    assert codes == expected
    assert (await crm["rep_e1"].patch(f"{ACCOUNTS_PATH}/{MISSING_ID}", json={"region": "x"})).status_code == 404


async def test_delete_outside_the_delete_scope(crm: World) -> None:
    for who in ("rep_e1", "rep_e2", "rep_w1", "viewer", "director"):  # no delete right at all
        for name, rid in crm.accounts.items():
            r = await crm[who].delete(f"{ACCOUNTS_PATH}/{rid}")
            assert r.status_code == (403 if name in READ_ACCOUNTS[who] else 404), (who, name)
    # The manager deletes in the team: an account without contacts, then one outside the team.
    assert (await crm["manager"].delete(f"{ACCOUNTS_PATH}/{crm.accounts['Beta']}")).status_code == 204
    assert (await crm["manager"].delete(f"{ACCOUNTS_PATH}/{crm.accounts['Eta']}")).status_code == 404
    assert set(await crm.list_names("admin")) == ALL_ACCOUNTS - {"Beta"}


async def test_recycle_bin_follows_the_scopes(crm: World) -> None:
    beta = crm.accounts["Beta"]
    assert (await crm["manager"].delete(f"{ACCOUNTS_PATH}/{beta}")).status_code == 204
    trash = {who: set(await crm.list_names(who, f"{ACCOUNTS_PATH}/trash")) for who in USERS}
    assert trash == {who: READ_ACCOUNTS[who] & {"Beta"} for who in USERS}
    assert (await crm["rep_e1"].get(f"{ACCOUNTS_PATH}/{beta}/history")).status_code == 200
    assert (await crm["rep_e2"].get(f"{ACCOUNTS_PATH}/{beta}/history")).status_code == 404
    assert (await crm["rep_e2"].post(f"{ACCOUNTS_PATH}/trash/{beta}/restore")).status_code == 404
    assert (await crm["rep_e2"].delete(f"{ACCOUNTS_PATH}/trash/{beta}")).status_code == 404
    r = await crm["manager"].post(f"{ACCOUNTS_PATH}/trash/{beta}/restore")
    assert r.status_code == 200 and r.json()["deleted_at"] is None


async def test_restore_or_purge_of_a_binned_record_one_may_read_but_not_delete_is_403(crm: World) -> None:
    """rep_e1 sees their binned account in the recycle bin but has no delete right: like a live
    record they can read but not change, the answer is 403, not "not in the recycle bin" (404)."""
    beta = crm.accounts["Beta"]
    assert (await crm["manager"].delete(f"{ACCOUNTS_PATH}/{beta}")).status_code == 204
    assert "Beta" in await crm.list_names("rep_e1", f"{ACCOUNTS_PATH}/trash")
    assert (await crm["rep_e1"].post(f"{ACCOUNTS_PATH}/trash/{beta}/restore")).status_code == 403
    assert (await crm["rep_e1"].delete(f"{ACCOUNTS_PATH}/trash/{beta}")).status_code == 403


async def test_create_needs_the_create_right(crm: World) -> None:
    assert (await crm["viewer"].post(ACCOUNTS_PATH, json={"name": "New"})).status_code == 403
    r = await crm["rep_e1"].post(ACCOUNTS_PATH, json={"name": "New"})
    assert r.status_code == 201 and r.json()["owner"] == crm.users["rep_e1"]
    crm.accounts["New"] = r.json()["id"]
    assert "New" in await crm.list_names("rep_e1") and "New" in await crm.list_names("manager")
    assert "New" not in await crm.list_names("rep_e2")


async def test_a_team_share_reaches_the_members_of_that_team(crm: World) -> None:
    async with crm.ctx.db.write() as conn:
        await conn.execute(
            insert(record_shares).values(
                app="crm", entity="account", record_id=crm.accounts["Zeta"], team_id=crm.teams["east"], can_edit=False,
                created_at=crm.ctx.clock.now(),
            )
        )  # fmt: skip
    got = {who: "Zeta" in await crm.list_names(who) for who in ("rep_e1", "rep_e2", "rep_w1")}
    assert got == {"rep_e1": True, "rep_e2": True, "rep_w1": False}
    assert (await crm["rep_e1"].patch(f"{ACCOUNTS_PATH}/{crm.accounts['Zeta']}", json={"region": "x"})).status_code == 403


async def test_a_relation_can_only_point_at_a_record_the_caller_may_read(crm: World) -> None:
    """Linking a contact to an account one cannot read must answer like linking to one that does not
    exist: otherwise a rep learns which account ids exist (and attaches data to them) by trying."""
    li_lei = f"{CONTACTS_PATH}/{crm.contacts['Li Lei']}"
    hidden = await crm["rep_e1"].patch(li_lei, json={"account": crm.accounts["Zeta"]})
    missing = await crm["rep_e1"].patch(li_lei, json={"account": MISSING_ID})
    assert missing.status_code == 422 and errors_of(missing) == [("/account", "not_found")]
    assert hidden.status_code == 422 and errors_of(hidden) == [("/account", "not_found")]
    created = await crm["rep_e1"].post(CONTACTS_PATH, json={"name": "Probe", "account": crm.accounts["Eta"]})
    assert created.status_code == 422 and errors_of(created) == [("/account", "not_found")]
    # Editing other fields of a contact whose link was set by someone who could see the account is fine.
    han_mei = f"{CONTACTS_PATH}/{crm.contacts['Han Mei']}"
    assert (await crm["rep_e1"].patch(han_mei, json={"name": "Han Meimei"})).status_code == 200


async def test_narrowed_tokens(crm: World) -> None:
    """A token never has more rights than its user: read_only drops every write, apps limits the apps."""
    acme = f"{ACCOUNTS_PATH}/{crm.accounts['Acme']}"
    headers = {"Authorization": f"Bearer {await crm.set_token('manager', read_only=True)}"}
    http = crm["manager"]
    assert (await http.get(acme, headers=headers)).status_code == 200
    assert (await http.patch(acme, json={"region": "x"}, headers=headers)).status_code == 403
    assert (await http.post(ACCOUNTS_PATH, json={"name": "x"}, headers=headers)).status_code == 403
    assert (await http.delete(acme, headers=headers)).status_code == 403
    listed = (await http.get(ACCOUNTS_PATH, headers=headers, params={"limit": 1000})).json()["items"]
    assert set(crm.account_names([i["id"] for i in listed])) == READ_ACCOUNTS["manager"]
    headers = {"Authorization": f"Bearer {await crm.set_token('manager', apps=['hr'])}"}
    assert (await http.get(acme, headers=headers)).status_code == 404
    assert (await http.get(ACCOUNTS_PATH, headers=headers)).status_code == 403
