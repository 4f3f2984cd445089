"""SCENARIOS F3 (data-entry standards) on the CRM template's lead form: a lead from an event needs a
budget, a converted lead needs its account, and the conversion section is hidden (and not written)
until the lead is converted. The server enforces what the form shows, whoever calls the API."""

from __future__ import annotations

from tests.people import errors
from tests.scenarios.test_crm_template import API, Crm, crm  # noqa: F401 - the installed CRM fixture


async def test_f3_lead_form_rules_hold_through_the_api(crm: Crm) -> None:  # noqa: F811
    rep = crm.clients["rep"]
    r = await rep.post(f"{API}/lead", json={"name": "展会来客", "source": "event"})
    assert r.status_code == 422 and errors(r) == [("/budget", "required")]
    account = await crm.create("rep", "account", {"name": "杭州云帆科技有限公司"})
    lead = await crm.create("rep", "lead", {"name": "展会来客", "source": "event", "budget": 200000,
                                            "converted_account": account["id"]})  # fmt: skip
    assert lead["converted_account"] is None  # the conversion section is hidden until converted
    r = await crm.patch("rep", "lead", lead["id"], {"status": "converted"})
    assert r.status_code == 422 and errors(r) == [("/converted_account", "required")]
    r = await crm.patch("rep", "lead", lead["id"], {"status": "converted", "converted_account": account["id"]})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["converted_account"]) == ("converted", account["id"])
    website = await crm.create("rep", "lead", {"name": "官网咨询", "source": "website"})
    assert website["budget"] is None  # only event leads need a budget
