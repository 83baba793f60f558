"""Exports (CSV, PDF) of the leads list and the dashboard, and the dashboard's timeline:
scoped like the lists (a national officer's files hold only its agency's rows), filters
respected, audited; the PDFs parse and hold the right rows."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import date

from icarus.coord import AuditLog, Outcomes, OutcomeState, OutcomeUpdate
from icarus.coord.exports import LeadRow, Reports, WeekCounts
from icarus.web.exports_render import LEAD_COLUMNS, leads_csv
from tests.coord.world import World
from tests.web.conftest import Browser
from tests.web.pdftext import pages, pdf_strings

S = OutcomeState


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _advance(world: World, who: str, lead_id: int, steps: list[tuple[S, date]]) -> None:
    outcomes = Outcomes(world.db)
    for version, (state, day) in enumerate(steps, 1):
        outcomes.record(world.actors[who], lead_id,
                        OutcomeUpdate(expected_version=version, state=state, occurred_on=day))


def test_leads_csv_holds_only_the_officers_agency(browser: Browser) -> None:
    officer, _ = browser.client("officer_fr")
    response = officer.get("/exports/leads.csv?sort=rank")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert tuple(response.text.splitlines()[0].split(",")) == LEAD_COLUMNS
    rows = _rows(response.text)
    assert [r["subject_id"] for r in rows] == ["fr-1", "fr-2"]
    assert {r["agency"] for r in rows} == {"Agency FR"}
    assert [int(r["lead_id"]) for r in rows] == browser.world.leads["FR"]
    # A filter naming the other agency's country or referral finds nothing.
    assert _rows(officer.get("/exports/leads.csv?country=DE").text) == []
    de_ref = browser.world.referrals["DE"].id
    assert _rows(officer.get(f"/exports/leads.csv?referral_id={de_ref}").text) == []
    coordinator, _ = browser.client("coordinator")
    everyone = _rows(coordinator.get("/exports/leads.csv?sort=subject").text)
    assert [r["subject_id"] for r in everyone] == ["de-1", "de-2", "fr-1", "fr-2"]
    assert [r["alerts"] for r in everyone] == ["1", "0", "1", "0"]


def test_leads_export_respects_state_filter_and_is_audited(browser: Browser) -> None:
    world = browser.world
    fr1 = world.leads["FR"][0]
    _advance(world, "officer_fr", fr1, [(S.UNDER_INVESTIGATION, date(2026, 3, 2))])
    officer, _ = browser.client("officer_fr")
    rows = _rows(officer.get("/exports/leads.csv?state=under_investigation").text)
    assert [(r["lead_id"], r["state"], r["state_date"]) for r in rows] == [
        (str(fr1), "under_investigation", "2026-03-02")]
    events = AuditLog(world.db).list_events(world.actors["auditor"], limit=3).items
    export = next(e for e in events if e.action == "export.leads")
    assert export.details["lead_ids"] == [fr1]
    assert export.details["format"] == "csv"
    assert export.details["filters"]["state"] == "under_investigation"


def test_leads_pdf_parses_and_has_the_rows(browser: Browser) -> None:
    officer, _ = browser.client("officer_fr")
    response = officer.get("/exports/leads.pdf?sort=rank")
    assert response.headers["content-type"] == "application/pdf"
    text = pdf_strings(response.content)
    assert pages(response.content) >= 1
    assert "fr-1" in text and "fr-2" in text
    assert not any("de-" in t for t in text)
    assert "2 leads. Filters: sort rank." in text
    coordinator, _ = browser.client("coordinator")
    text = pdf_strings(coordinator.get("/exports/leads.pdf").content)
    assert {"fr-1", "fr-2", "de-1", "de-2"} <= set(text)


def test_dashboard_exports_are_scoped(browser: Browser) -> None:
    world = browser.world
    _advance(world, "officer_de", world.leads["DE"][0], [
        (S.UNDER_INVESTIGATION, date(2026, 3, 2)), (S.IDENTIFIED, date(2026, 3, 4)),
        (S.SEARCHED, date(2026, 3, 10)), (S.ARRESTED, date(2026, 3, 10))])
    officer, _ = browser.client("officer_fr")
    rows = _rows(officer.get("/exports/dashboard.csv").text)
    total = next(r for r in rows if r["section"] == "total")
    assert (total["leads"], total["identified"], total["arrested"]) == ("2", "0", "0")
    assert [r["key"] for r in rows if r["section"] == "country"] == ["FR"]
    assert [r for r in rows if r["section"] == "week"] == []
    coordinator, _ = browser.client("coordinator")
    rows = _rows(coordinator.get("/exports/dashboard.csv").text)
    total = next(r for r in rows if r["section"] == "total")
    assert (total["leads"], total["identified"], total["arrested"]) == ("4", "1", "1")
    weeks = [(r["key"], r["identified"], r["searched"], r["arrested"])
             for r in rows if r["section"] == "week"]
    assert weeks == [("2026-03-02", "1", "0", "0"), ("2026-03-09", "0", "1", "1")]
    text = pdf_strings(coordinator.get("/exports/dashboard.pdf").content)
    assert "Dashboard: all operations" in text and "DE" in text and "2026-03-09" in text
    text = pdf_strings(officer.get("/exports/dashboard.pdf").content)
    assert "DE" not in text and "2026-03-09" not in text


def test_timeline_by_week_and_chart(browser: Browser) -> None:
    world = browser.world
    fr1, fr2 = world.leads["FR"]
    # fr1 is identified, not located, then identified again: counted once, the first week.
    _advance(world, "officer_fr", fr1, [
        (S.UNDER_INVESTIGATION, date(2026, 3, 2)), (S.IDENTIFIED, date(2026, 3, 3)),
        (S.NOT_LOCATED, date(2026, 3, 5)), (S.UNDER_INVESTIGATION, date(2026, 3, 20)),
        (S.IDENTIFIED, date(2026, 3, 24))])
    _advance(world, "coordinator", fr2, [
        (S.UNDER_INVESTIGATION, date(2026, 3, 16)), (S.IDENTIFIED, date(2026, 3, 17))])
    weeks = Reports(world.db).timeline(world.actors["officer_fr"])
    assert weeks == (WeekCounts(date(2026, 3, 2), 1, 0, 0),
                     WeekCounts(date(2026, 3, 9), 0, 0, 0),
                     WeekCounts(date(2026, 3, 16), 1, 0, 0))
    assert Reports(world.db).timeline(world.actors["officer_de"]) == ()
    officer, _ = browser.client("officer_fr")
    api = officer.get("/api/v1/dashboard/timeline").json()
    assert [w["identified"] for w in api] == [1, 0, 1]
    svg = officer.get("/dashboard/timeline.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(svg.text)  # noqa: S314 - the app's own SVG
    bars = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert "2026-03-16: 1 identified" in bars and "2026-03-09: 0 identified" in bars
    assert "<script" not in svg.text


def test_csv_cells_never_run_as_formulas() -> None:
    row = LeadRow(1, "op", "=HYPERLINK(\"x\")", "FR", "+1", 1, 1.0, "received", None, 0,
                  "2026-01-01", "2026-01-01")
    record = next(csv.DictReader(io.StringIO(leads_csv([row]).decode("utf-8"))))
    assert record["agency"] == "'=HYPERLINK(\"x\")" and record["subject_id"] == "'+1"


def test_dashboard_page_links_the_timeline_and_exports(browser: Browser) -> None:
    officer, _ = browser.client("officer_fr")
    page = officer.get("/dashboard").text
    assert "/dashboard/timeline.svg" in page and "/exports/dashboard.csv" in page
    assert "/exports/leads.csv?" in officer.get("/leads?country=FR").text
