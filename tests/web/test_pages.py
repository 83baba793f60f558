"""Server-rendered pages: lists with filters, sort and paging; the lead page and its
outcome form (a conflict shown on the page); audit and administration pages."""

from __future__ import annotations

import re

from tests.coord.world import PASSWORD
from tests.web.conftest import Browser


def _rows(html: str) -> list[str]:
    return re.findall(r'<a href="/leads/\d+">([^<]+)</a>', html)


def test_leads_page_filters_sorts_and_pages(browser: Browser) -> None:
    client, _ = browser.client("coordinator")
    assert _rows(client.get("/leads").text) == ["fr-1", "de-1", "fr-2", "de-2"]
    assert _rows(client.get("/leads?sort=subject").text) == ["de-1", "de-2", "fr-1", "fr-2"]
    assert _rows(client.get("/leads?country=DE&sort=rank").text) == ["de-1", "de-2"]
    first = client.get("/leads?limit=3").text
    assert _rows(first) == ["fr-1", "de-1", "fr-2"] and "4 in all, showing 1–3" in first
    assert 'href="/leads?sort=score&amp;limit=3&amp;offset=3">Next' in first
    last = client.get("/leads?limit=3&offset=3").text
    assert _rows(last) == ["de-2"] and "Previous" in last and "Next" not in last
    ref = browser.world.referrals["FR"].id
    assert _rows(client.get(f"/leads?referral_id={ref}&state=received").text) == \
        ["fr-1", "fr-2"]
    assert _rows(client.get("/leads?state=arrested").text) == []
    # Empty filter fields, as a browser sends them, mean "any".
    assert len(_rows(client.get("/leads?operation=&referral_id=&country=&state=").text)) == 4


def test_national_officer_sees_only_own_referrals(browser: Browser) -> None:
    client, _ = browser.client("officer_fr")
    html = client.get("/referrals").text
    assert "Agency FR" in html and "Agency DE" not in html
    assert _rows(client.get("/leads").text) == ["fr-1", "fr-2"]
    assert "1 in all" in html
    coordinator, _ = browser.client("coordinator")
    both = coordinator.get("/referrals?sort=country").text
    assert both.index("Agency DE") < both.index("Agency FR")
    assert "Agency DE" not in coordinator.get("/referrals?country=FR").text


def test_lead_page_shows_evidence_reasons_alerts_and_form(browser: Browser) -> None:
    client, csrf = browser.client("officer_fr")
    html = client.get(f"/leads/{browser.world.leads['FR'][0]}").text
    assert "fr-1: shared 3 known files" in html
    assert "<code>192.0.2.1:4662</code>" in html and "synthetic.jpg" in html
    assert "<strong>Agency DE</strong>" in html and "desk@de.example" in html
    assert f'name="csrf_token" value="{csrf}"' in html
    assert '<option value="under_investigation">' in html
    assert '<option value="arrested">' not in html  # not a move from "received"
    assert "<img" not in html  # matched imagery is never shown


def test_outcome_form_saves_and_shows_a_conflict(browser: Browser) -> None:
    lead = browser.world.leads["FR"][0]
    alice, alice_csrf = browser.client("officer_fr")
    bob, bob_csrf = browser.client("coordinator")
    saved = alice.post(f"/leads/{lead}/outcome", data={
        "csrf_token": alice_csrf, "expected_version": "1", "state": "under_investigation",
        "occurred_on": "2026-02-03", "exhibits_seized": "", "notes": "house visit planned"})
    assert saved.status_code == 303 and saved.headers["location"] == f"/leads/{lead}?saved=1"
    assert "Outcome saved (version 2)" in alice.get(saved.headers["location"]).text
    # Bob still edits the page he loaded at version 1.
    late = bob.post(f"/leads/{lead}/outcome", data={
        "csrf_token": bob_csrf, "expected_version": "1", "state": "no_further_action",
        "notes": "bob's note"})
    assert late.status_code == 409
    assert "someone else changed this outcome" in late.text
    assert "Outcome: under investigation" in late.text  # Alice's version now shown
    assert "bob&#39;s note" in late.text  # Bob's entry kept in the form
    assert 'name="expected_version" value="2"' in late.text
    bad = bob.post(f"/leads/{lead}/outcome", data={
        "csrf_token": bob_csrf, "expected_version": "2", "state": "charged"})
    assert bad.status_code == 409 and "cannot go from under_investigation" in bad.text
    typo = bob.post(f"/leads/{lead}/outcome", data={
        "csrf_token": bob_csrf, "expected_version": "2", "occurred_on": "03/02/2026"})
    assert typo.status_code == 422 and "YYYY-MM-DD" in typo.text
    officer_de, de_csrf = browser.client("officer_de")
    hidden = officer_de.post(f"/leads/{lead}/outcome", data={
        "csrf_token": de_csrf, "expected_version": "2", "state": "identified"})
    assert hidden.status_code == 404 and "fr-1" not in hidden.text


def test_dashboard_page(browser: Browser) -> None:
    client, _ = browser.client("coordinator")
    html = client.get("/dashboard?operation=op-test").text
    assert '<option value="op-test" selected>' in html
    assert re.search(r"<span>4</span>leads", html)
    assert "/dashboard/map.svg?kind=arrests&amp;operation=op-test" in html
    officer, _ = browser.client("officer_fr")
    assert re.search(r"<span>2</span>leads", officer.get("/dashboard").text)


def test_audit_page(browser: Browser) -> None:
    client, _ = browser.client("auditor")
    html = client.get("/audit?limit=3").text
    assert html.count("<tr><td>") == 3 and "Next" in html
    assert "The hash chain verifies" in client.get("/audit/verify").text


def test_administration_pages(browser: Browser) -> None:
    admin, csrf = browser.client("admin")
    assert "officer_fr" in admin.get("/admin/users").text
    created = admin.post("/admin/users", data={
        "csrf_token": csrf, "username": "de2", "password": PASSWORD,
        "role": "national_officer", "agency_id": str(browser.world.agency["DE"])})
    assert created.status_code == 303
    assert ">de2<" in admin.get("/admin/users").text
    again = admin.post("/admin/users", data={"csrf_token": csrf, "username": "de2",
                                             "password": PASSWORD, "role": "analyst"})
    assert again.status_code == 409 and "is taken" in again.text
    no_agency = admin.post("/admin/users", data={"csrf_token": csrf, "username": "x3",
                                                 "password": PASSWORD,
                                                 "role": "national_officer"})
    assert no_agency.status_code == 422 and "acts for an agency" in no_agency.text
    bad_role = admin.post("/admin/users", data={"csrf_token": csrf, "username": "x4",
                                                "password": PASSWORD, "role": "root"})
    assert bad_role.status_code == 422
    agency = admin.post("/admin/agencies", data={"csrf_token": csrf, "country": "XX1",
                                                 "name": "n"})
    assert agency.status_code == 422
    assert admin.post("/admin/agencies", data={"csrf_token": csrf, "country": "ES",
                                               "name": "Agency ES"}).status_code == 303
    assert "Agency ES" in admin.get("/admin/agencies").text
