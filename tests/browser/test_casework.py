"""In Chromium: a national officer sees only the own agency's referrals and leads, walks a
lead's outcome through the workflow to an arrest, and the coordinator's dashboard counts the
arrest; two users editing the same outcome at once, the second one shown the conflict with
what it typed kept."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page

from icarus.coord import TRANSITIONS, OutcomeState
from tests.browser.conftest import Live

pytestmark = pytest.mark.browser

OTHER_AGENCY = re.compile(r"\bde-[12]\b|198\.51\.100\.")
"""The other agency's (DE) subject ids and addresses: never on an FR officer's pages (an
alert may name the DE agency and its contact: that is its purpose)."""


def figures(page: Page) -> dict[str, int]:
    """The dashboard's headline figures: label -> number."""
    out = {}
    for figure in page.locator(".figure").all():
        number = figure.locator("span").inner_text().strip()
        label = (figure.text_content() or "").strip()[len(number):].strip()
        out[label] = int(number)
    return out


def country_row(page: Page, country: str) -> list[str]:
    """The dashboard's "By country" row of ``country``: its cells' texts."""
    row = page.locator("h2:text-is('By country') + table tbody tr").filter(
        has=page.locator("td").first.filter(has_text=re.compile(f"^{country}$")))
    return [c.strip() for c in row.locator("td").all_inner_texts()]


def offered_states(page: Page) -> set[str]:
    """The moves the outcome form offers (the empty option keeps the state)."""
    values = [o.get_attribute("value") for o in page.locator("select[name=state] option").all()]
    return {v for v in values if v}


def test_officer_sees_own_leads_records_an_arrest_and_the_dashboard_counts_it(
        live: Live, chromium: Browser) -> None:
    coordinator = live.login(chromium, "coordinator")
    assert coordinator.url.endswith("/dashboard")
    before = figures(coordinator)
    assert before["leads"] == 4  # both agencies' leads

    officer = live.login(chromium, "officer_fr")
    assert officer.url.endswith("/dashboard")
    seen = [officer.content()]
    assert figures(officer)["leads"] == 2  # the own agency's only

    officer.get_by_role("link", name="Referrals", exact=True).click()
    officer.wait_for_url(re.compile(r"/referrals$"))  # not the page before's table
    body = officer.locator("main tbody").inner_text()
    assert "Agency FR" in body and "Agency DE" not in body
    seen.append(officer.content())

    officer.get_by_role("link", name="Leads", exact=True).click()
    officer.wait_for_url(re.compile(r"/leads$"))
    officer.locator("main tbody tr").first.wait_for()  # (all_inner_texts does not wait)
    subjects = officer.locator("main tbody tr td:nth-child(2)").all_inner_texts()
    assert sorted(s.strip() for s in subjects) == ["fr-1", "fr-2"]
    seen.append(officer.content())

    officer.get_by_role("link", name="fr-1", exact=True).click()
    officer.wait_for_load_state()  # the outcome form is read below without waiting
    assert officer.url.endswith(f"/leads/{live.world.leads['FR'][0]}")
    # The deconfliction note names the other agency (its purpose), not its subject.
    assert "Agency DE" in officer.locator("main").inner_text()
    seen.append(officer.content())

    current = OutcomeState.RECEIVED
    steps = [(OutcomeState.UNDER_INVESTIGATION, "", "", ""),
             (OutcomeState.IDENTIFIED, "2026-03-01", "", ""),
             (OutcomeState.SEARCHED, "2026-03-02", "", "Search warrant executed."),
             (OutcomeState.ARRESTED, "2026-03-02", "3", "Arrested at home; 3 devices seized.")]
    for state, on, exhibits, notes in steps:
        # The form offers exactly the moves the workflow allows from the current state.
        assert offered_states(officer) == {s.value for s in TRANSITIONS[current]}
        officer.get_by_label("New state").select_option(state.value)
        if on:
            officer.get_by_label("Date", exact=True).fill(on)
        if exhibits:
            officer.get_by_label("Exhibits seized").fill(exhibits)
        if notes:
            officer.get_by_label("Notes").fill(notes)
        officer.get_by_role("button", name="Save").click()
        officer.wait_for_load_state()
        assert "Outcome saved" in officer.locator(".message.ok").inner_text()
        heading = officer.get_by_role("heading", name=re.compile("^Outcome:"))
        assert heading.inner_text() == f"Outcome: {state.value.replace('_', ' ')}"
        seen.append(officer.content())
        current = state
    history = officer.locator("h2:text-is('Outcome history') + table tbody tr")
    assert history.count() == 5  # received, then the four steps
    assert "Arrested at home; 3 devices seized." in history.last.inner_text()

    for html in seen:
        assert not OTHER_AGENCY.search(html), OTHER_AGENCY.search(html)

    coordinator.reload()
    after = figures(coordinator)
    assert after["leads"] == before["leads"]
    assert after["identified"] == before["identified"] + 1
    assert after["arrested"] == before["arrested"] + 1
    assert after["countries with arrests"] == 1
    assert country_row(coordinator, "FR")[1:] == ["2", "1", "1"]  # leads, identified, arrested
    assert country_row(coordinator, "DE")[1:] == ["2", "0", "0"]
    for page in (coordinator, officer):
        page.context.close()


def test_simultaneous_edits_show_the_conflict_to_the_second_user(live: Live,
                                                                 chromium: Browser) -> None:
    lead = live.world.leads["FR"][1]
    first = live.login(chromium, "officer_fr")
    second = live.login(chromium, "coordinator")
    for page in (first, second):
        page.goto(f"/leads/{lead}")
        assert page.get_by_role("heading", name="Outcome: received").is_visible()

    # Both edit; the first saves first.
    first.get_by_label("New state").select_option("under_investigation")
    typed = "Called the provider's law-enforcement desk; subscriber request sent."
    second.get_by_label("New state").select_option("no_further_action")
    second.get_by_label("Exhibits seized").fill("0")
    second.get_by_label("Notes").fill(typed)
    first.get_by_role("button", name="Save").click()
    assert "Outcome saved (version 2)" in first.locator(".message.ok").inner_text()

    with second.expect_response(lambda r: r.url.endswith(f"/leads/{lead}/outcome")) as answer:
        second.get_by_role("button", name="Save").click()
    assert answer.value.status == 409
    alert = second.get_by_role("alert").inner_text()
    assert "someone else changed this outcome" in alert
    # The page now shows the first user's version, and keeps what the second one typed.
    assert second.get_by_role("heading", name="Outcome: under investigation").is_visible()
    assert second.get_by_label("Notes").input_value() == typed
    assert second.get_by_label("New state").input_value() == "no_further_action"
    assert second.locator("input[name=expected_version]").input_value() == "2"

    # Saving again, after checking, applies the second user's change on top.
    second.get_by_role("button", name="Save").click()
    assert "Outcome saved (version 3)" in second.locator(".message.ok").inner_text()
    assert second.get_by_role("heading", name="Outcome: no further action").is_visible()
    assert typed in second.locator("p.notes").inner_text()
    for page in (first, second):
        page.context.close()
