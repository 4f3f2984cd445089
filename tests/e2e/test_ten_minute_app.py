"""The ten-minute app (issue 16), in a real browser: an administrator builds the HR app's leave request, its
approval, a rule and a chart purely by clicking and typing names (no JSON, no API), then an employee asks for 5
days, his direct manager and HR approve from their inboxes (P2-like approval with a condition branch, P7's
deadline), HR is notified by the rule (R-style notification), and the HR dashboard's chart shows the 5 days of
annual leave (D7). A 2-day request goes to the manager only. The story is tests/e2e/ten_minute_app.py, the
same one `make bench` times (tests/benchmarks/ten_minute_app.py)."""

from __future__ import annotations

import json

from tests.e2e.server import ADMIN
from tests.e2e.ten_minute_app import APP, ENTITY, HR_PERSON, HR_TEAM, MANAGER, STATUSES, Story, tutorial_folder


def _get(page, base_url: str, path: str):
    r = page.request.get(f"{base_url}{path}")
    assert r.ok, r.text()
    return r.json()


def test_the_ten_minute_leave_app_p2_p7_d7(browser, base_url):
    story = Story(browser, base_url, shots=tutorial_folder()).run()
    print(f"\nten-minute app: {story.actions} UI actions, {story.scripted:.1f} s scripted; built in {story.facts['built']}")
    check = story.sign_in(ADMIN[0], ADMIN[1])
    f = story.facts["fields"]

    # the published approval: the direct manager with a 24 h reminder then escalation; HR's team above 3 days
    process = _get(check, base_url, f"/api/v1/meta/apps/{APP}/processes/leave_approval")
    assert process["published_version"] == 1
    nodes = {n["id"]: n for n in process["nodes"]}
    assert nodes["approval_1"]["assignees"] == [{"type": "manager"}]
    assert nodes["approval_1"]["deadline"]["remind"] == {"amount": 24, "unit": "hours"}
    assert nodes["approval_1"]["deadline"]["escalate"] == {"amount": 48, "unit": "hours"}
    assert nodes["approval_2"]["assignees"][0] == {"type": "team", "team": HR_TEAM}
    branch = next(e for e in process["edges"] if e["to"] == "approval_2")["condition"]
    assert branch == {"all": [{"field": f["days"], "op": "gt", "value": 3}]}
    entity = _get(check, base_url, f"/api/v1/meta/apps/{APP}/entities/{ENTITY}")
    status = next(x for x in entity["fields"] if x["key"] == f["status"])
    approved = next(o["key"] for o in status["options"] if o["label"]["zh-CN"] == STATUSES[1])
    assert status["read_only"] is True  # the employee cannot approve their own request by editing it
    end = next(n for n in process["nodes"] if n["type"] == "end" and n.get("set"))
    assert (end["outcome"], end["set"]) == ("approved", {f["status"]: approved})

    # 5 days: the manager, then HR, were asked, each in their inbox; the request ended approved
    assert [email for email, _ in story.facts["asked"]] == [MANAGER, HR_PERSON]
    record = _get(check, base_url, f"/api/v1/apps/{APP}/{ENTITY}/{story.facts['record']}")
    assert float(record[f["days"]]) == 5 and record[f["status"]] == approved
    # HR's notification, from the rule, names the request
    assert "请假已批准 - 请假申请 张伟" in story.facts["notice"]
    # the chart: 5 days of annual leave
    data = json.loads(story.facts["chart"])["data"]
    assert dict(zip(data["categories"], data["series"][0]["data"], strict=True)) == {"年假": 5}

    # 2 days: the manager alone approves; HR is never asked, and the request is approved
    second = story.short_request()
    [instance] = _get(check, base_url, f"/api/v1/apps/{APP}/{ENTITY}/{second}/process-instances")["items"]
    detail = _get(check, base_url, f"/api/v1/process-instances/{instance['id']}")
    visited = [step["node_id"] for step in detail["timeline"]]
    assert "approval_1" in visited and "approval_2" not in visited
    assert _get(check, base_url, f"/api/v1/apps/{APP}/{ENTITY}/{second}")[f["status"]] == approved
    check.context.close()
