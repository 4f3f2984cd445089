"""F4 "quote (with discount and line items)" and P2 on the CRM template: a sales rep saves a quote with its
lines in one request from the quote form, edits the grid, and submits it for discount approval."""

from __future__ import annotations

from typing import Any

from tests.scenarios.test_crm_template import API, Crm
from tests.scenarios.test_crm_template import crm as desk

__all__ = ["desk"]  # the fixture of test_crm_template: the installed CRM and its people, as `desk` here


async def _setup(desk: Crm) -> tuple[dict[str, Any], dict[str, int]]:
    account = await desk.create("rep", "account", {"name": "苏州博远精密机械有限公司"})
    opp = await desk.create("rep", "opportunity", {"name": "MES二期", "account": account["id"], "amount": 600000})
    r = await desk.clients["rep"].get(f"{API}/product", params={"limit": 100})
    products = {p["code"]: p["id"] for p in r.json()["items"]}
    return {"opportunity": opp["id"], "account": account["id"]}, products


async def _lines(desk: Crm, qid: int) -> list[dict[str, Any]]:
    r = await desk.clients["rep"].get(f"{API}/quote/{qid}", params={"lines": "true"})
    assert r.status_code == 200, r.text
    return list(r.json()["lines"])


async def test_f4_a_rep_saves_a_quote_with_its_lines_and_edits_the_grid(desk: Crm) -> None:
    head, products = await _setup(desk)
    mes, iot = products["SW-MES-ENT"], next(pid for code, pid in products.items() if code != "SW-MES-ENT")
    lines = [
        {"product": mes, "quantity": 1, "unit_price": "480000"},
        {"product": iot, "quantity": 20, "unit_price": "1500.50"},
        {"product": iot, "quantity": 2, "unit_price": "100"},
    ]
    quote = await desk.create("rep", "quote", {**head, "discount": 5, "lines": lines})
    assert (quote["subtotal"], quote["total"], len(quote["lines"])) == (510210, 484699.5, 3)
    assert quote["number"].startswith("QT-") and quote["status"] == "draft"
    first, _, last = quote["lines"]
    grid = [{"id": first["id"], "quantity": 2}, {"product": iot, "quantity": 1, "unit_price": "9.99"}]
    r = await desk.patch("rep", "quote", quote["id"], {"version": quote["version"], "lines": grid})
    assert r.status_code == 200, r.text
    saved = r.json()
    assert [(x["quantity"], x["amount"]) for x in saved["lines"]] == [(2, 960000), (1, 9.99)]
    assert (saved["subtotal"], saved["total"]) == (960009.99, 912009.49)
    assert await _lines(desk, quote["id"]) == saved["lines"]
    r = await desk.patch("rep", "quote", quote["id"], {"version": quote["version"], "lines": []})
    assert r.status_code == 409  # the quote changed since that copy was read: its lines are not overwritten
    assert len(await _lines(desk, quote["id"])) == 2 and last["id"] not in [x["id"] for x in saved["lines"]]


async def test_f4_a_quote_with_a_bad_line_is_not_saved_at_all(desk: Crm) -> None:
    head, products = await _setup(desk)
    before = (await desk.count("quote"), await desk.count("quote_line"))
    lines = [{"product": products["SW-MES-ENT"], "quantity": 1}, {"product": 999_999, "quantity": 0, "unit_price": "-1"}]
    r = await desk.clients["rep"].post(f"{API}/quote", json={**head, "discount": 150, "lines": lines})
    assert r.status_code == 422
    assert sorted((e["path"], e["code"]) for e in r.json()["errors"]) == [
        ("/discount", "max"), ("/lines/1/quantity", "min"), ("/lines/1/unit_price", "min"),
    ]  # fmt: skip
    r = await desk.clients["rep"].post(f"{API}/quote", json={**head, "lines": [*lines[:1], {"product": 999_999}]})
    assert [(e["path"], e["code"]) for e in r.json()["errors"]] == [("/lines/1/product", "not_found")]
    assert (await desk.count("quote"), await desk.count("quote_line")) == before


async def test_p2_a_quote_saved_with_its_lines_goes_to_the_manager_on_its_lines_total(desk: Crm) -> None:
    head, products = await _setup(desk)
    lines = [{"product": products["SW-MES-ENT"], "quantity": 1, "unit_price": "480000"}]
    quote = await desk.create("rep", "quote", {**head, "discount": 15, "lines": lines})
    r = await desk.clients["rep"].post(f"{API}/quote/{quote['id']}/processes/quote_discount", json={})
    assert r.status_code in (200, 201), r.text
    assert (await desk.act("manager", "approve")).status_code == 200
    stored = await desk.get("quote", quote["id"])
    assert (stored["status"], stored["total"]) == ("approved", 408000)
