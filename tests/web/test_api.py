"""The REST API: lists with filters, sort and paging; lead detail; the outcome workflow with
optimistic versions; dashboard; audit; administration; the OpenAPI document."""

from __future__ import annotations

from sqlalchemy import text

from tests.coord.world import PASSWORD
from tests.web.conftest import Browser


def test_leads_filters_sort_and_paging(browser: Browser) -> None:
    client, _ = browser.client("coordinator")
    world = browser.world
    by_score = client.get("/api/v1/leads").json()
    assert [x["subject_id"] for x in by_score["items"]] == ["fr-1", "de-1", "fr-2", "de-2"]
    by_subject = client.get("/api/v1/leads", params={"sort": "subject"}).json()
    assert [x["subject_id"] for x in by_subject["items"]] == ["de-1", "de-2", "fr-1", "fr-2"]
    page = client.get("/api/v1/leads", params={"limit": 1, "offset": 1}).json()
    assert page["total"] == 4 and [x["subject_id"] for x in page["items"]] == ["de-1"]
    de = client.get("/api/v1/leads", params={"country": "DE"}).json()
    assert {x["id"] for x in de["items"]} == set(world.leads["DE"])
    ref = client.get("/api/v1/leads", params={"referral_id": world.referrals["FR"].id}).json()
    assert {x["id"] for x in ref["items"]} == set(world.leads["FR"])
    assert client.get("/api/v1/leads", params={"state": "arrested"}).json()["total"] == 0
    assert client.get("/api/v1/leads", params={"operation": "other"}).json()["total"] == 0
    assert by_score["items"][0]["alerts"] == 1


def test_referrals_filters_sort_and_paging(browser: Browser) -> None:
    client, _ = browser.client("analyst")
    page = client.get("/api/v1/referrals", params={"sort": "country"}).json()
    assert [r["country"] for r in page["items"]] == ["DE", "FR"] and page["total"] == 2
    fr = client.get("/api/v1/referrals", params={"country": "FR"}).json()
    assert fr["total"] == 1 and fr["items"][0]["leads"] == 2
    second = client.get("/api/v1/referrals", params={"limit": 1, "offset": 1,
                                                     "sort": "country"}).json()
    assert [r["country"] for r in second["items"]] == ["FR"] and second["total"] == 2


def test_lead_detail_has_evidence_reasons_alerts_and_outcome(browser: Browser) -> None:
    client, _ = browser.client("officer_fr")
    lead = client.get(f"/api/v1/leads/{browser.world.leads['FR'][0]}").json()
    assert lead["summary"]["subject_id"] == "fr-1"
    assert lead["reasons"] == ["fr-1: shared 3 known files"]
    assert lead["evidence"]["timeline"][0]["ip"] == "192.0.2.1"
    assert lead["outcome"] | {"updated_at": None} == {
        "lead_id": lead["summary"]["id"], "state": "received", "occurred_on": None,
        "notes": "", "exhibits_seized": 0, "version": 1, "updated_at": None}
    (alert,) = lead["alerts"]
    assert alert["other_agency"] == "Agency DE" and alert["other_contact"] == "desk@de.example"
    assert "de-1" not in str(alert) and "198.51.100" not in str(alert)


def test_outcome_workflow_conflict_and_transition(browser: Browser) -> None:
    first, csrf1 = browser.client("officer_fr")
    second, csrf2 = browser.client("coordinator")
    lead = browser.world.leads["FR"][0]
    url = f"/api/v1/leads/{lead}/outcome"
    ok = first.post(url, headers={"X-CSRF-Token": csrf1}, json={
        "expected_version": 1, "state": "under_investigation", "occurred_on": "2026-02-03",
        "notes": "opened case 12"})
    assert ok.status_code == 200 and ok.json()["version"] == 2
    stale = second.post(url, headers={"X-CSRF-Token": csrf2},
                        json={"expected_version": 1, "state": "no_further_action"})
    assert stale.status_code == 409
    assert stale.json()["error"] == "conflict"
    assert "changed by someone else" in stale.json()["detail"]
    assert "version 2" in stale.json()["detail"]
    illegal = second.post(url, headers={"X-CSRF-Token": csrf2},
                          json={"expected_version": 2, "state": "charged"})
    assert illegal.status_code == 409 and illegal.json()["error"] == "transition_refused"
    assert "under_investigation to charged" in illegal.json()["detail"]
    detail = second.get(f"/api/v1/leads/{lead}").json()
    assert detail["outcome"]["state"] == "under_investigation"
    assert [h["to_state"] for h in detail["history"]] == ["received", "under_investigation"]


def _advance(client: object, csrf: str, lead: int, states: list[str]) -> None:
    for version, state in enumerate(states, start=1):
        r = client.post(f"/api/v1/leads/{lead}/outcome",  # type: ignore[attr-defined]
                        headers={"X-CSRF-Token": csrf},
                        json={"expected_version": version, "state": state})
        assert r.status_code == 200, r.text


def test_dashboard_counts_arrests_by_country(browser: Browser) -> None:
    officer, csrf = browser.client("officer_fr")
    _advance(officer, csrf, browser.world.leads["FR"][0],
             ["under_investigation", "identified", "searched", "arrested", "charged"])
    coordinator, _ = browser.client("coordinator")
    d = coordinator.get("/api/v1/dashboard").json()
    assert (d["leads"], d["identified"], d["arrested"]) == (4, 1, 1)
    assert d["countries_with_arrests"] == ["FR"]
    assert d["reached"]["arrested"] == 1 and d["current"]["charged"] == 1
    assert d["current"]["received"] == 3
    de_officer, _ = browser.client("officer_de")
    mine = de_officer.get("/api/v1/dashboard").json()
    assert (mine["leads"], mine["arrested"], mine["countries_with_arrests"]) == (2, 0, [])
    page = coordinator.get("/dashboard").text
    assert "countries with arrests" in page
    svg = coordinator.get("/dashboard/map.svg", params={"kind": "arrests"})
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert "arrests per country" in svg.text and 'id="map-fr"' in svg.text


def test_audit_log_and_tampering(browser: Browser) -> None:
    auditor, _ = browser.client("auditor")
    page = auditor.get("/api/v1/audit", params={"limit": 5}).json()
    assert len(page["items"]) == 5 and page["total"] >= 5
    again = auditor.get("/api/v1/audit", params={"limit": 5}).json()
    assert again["items"][0]["action"] == "audit.read"  # reading the log is audited
    assert again["items"][0]["seq"] == page["items"][0]["seq"] + 1
    assert auditor.get("/api/v1/audit/verify").json()["intact"] is True
    with browser.world.db.transaction() as s:
        s.execute(text("UPDATE audit_events SET action = 'login' WHERE seq = 3"))
    report = auditor.get("/api/v1/audit/verify").json()
    assert report == {"intact": False, "events": None, "first_bad_seq": 3,
                      "problem": report["problem"]}
    assert "entry 3" in auditor.get("/audit/verify").text


def test_administration(browser: Browser) -> None:
    admin, csrf = browser.client("admin")
    h = {"X-CSRF-Token": csrf}
    agency = admin.post("/api/v1/agencies", headers=h,
                        json={"country": "IT", "name": "Agency IT", "contact": "x@it"})
    assert agency.status_code == 201
    dup = admin.post("/api/v1/agencies", headers=h, json={"country": "IT", "name": "Agency IT"})
    assert dup.status_code == 409
    assert admin.post("/api/v1/agencies", headers=h,
                      json={"country": "it", "name": "Lower"}).status_code == 422
    user = admin.post("/api/v1/users", headers=h, json={
        "username": "it1", "password": PASSWORD, "role": "national_officer",
        "agency_id": agency.json()["id"]})
    assert user.status_code == 201 and "password" not in user.text
    short = admin.post("/api/v1/users", headers=h, json={
        "username": "it2", "password": "short", "role": "analyst"})
    assert short.status_code == 422 and "12 characters" in short.json()["detail"]
    assert "it1" in {u["username"] for u in admin.get("/api/v1/users").json()}
    assert admin.patch(f"/api/v1/users/{user.json()['id']}", headers=h,
                       json={"active": False}).json()["active"] is False
    assert admin.patch("/api/v1/users/987654", headers=h,
                       json={"active": False}).status_code == 404


def test_openapi_document_is_exact(browser: Browser) -> None:
    client, _ = browser.client()
    doc = client.get("/api/v1/openapi.json").json()
    paths = doc["paths"]
    assert all(p.startswith("/api/v1/") for p in paths)
    lead = paths["/api/v1/leads/{lead_id}"]["get"]["responses"]
    assert lead["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/LeadDetailPublic")
    assert lead["404"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorPublic")
    outcome = paths["/api/v1/leads/{lead_id}/outcome"]["post"]
    assert outcome["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/OutcomeUpdate")
    assert "409" in outcome["responses"]
    schemas = doc["components"]["schemas"]
    assert "password_hash" not in str(schemas) and "token_hash" not in str(schemas)
    assert client.get("/docs").status_code == 404  # explorers load scripts from a CDN
