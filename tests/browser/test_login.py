"""In Chromium: a failed login shows the one message; logging out ends the session, on the
server and in the browser (the back button shows no data again: the pages are no-store)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from icarus.web.auth import session_cookie_name
from tests.browser.conftest import Live
from tests.coord.world import PASSWORD

pytestmark = pytest.mark.browser

ONE_MESSAGE = "invalid username or password, or the account is locked"


def test_a_failed_login_shows_the_one_message(live: Live, chromium: Browser) -> None:
    context = live.context(chromium)
    page = context.new_page()
    texts = []
    for username, password in [("officer_de", "wrong password"), ("nobody", PASSWORD)]:
        page.goto("/login")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.get_by_role("button", name="Log in").click()
        assert answer.value.status == 401
        assert page.url.endswith("/login")
        texts.append(page.locator(".message.error").inner_text())
        assert page.get_by_label("Username").input_value() == username  # kept
        assert page.get_by_label("Password").input_value() == ""  # never sent back
    assert texts == [ONE_MESSAGE, ONE_MESSAGE]
    assert not [c for c in context.cookies() if c["name"].endswith("icarus_session")]
    # The right password still works (one failure does not lock the account).
    page.get_by_label("Username").fill("officer_de")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    assert page.url.endswith("/dashboard")
    context.close()


def test_logout_ends_the_session(live: Live, chromium: Browser) -> None:
    page = live.login(chromium, "officer_fr")
    answer = page.goto("/leads")
    assert answer is not None and answer.status == 200
    assert answer.headers["cache-control"] == "no-store"
    assert "fr-1" in page.locator("main").inner_text()
    name = session_cookie_name(live.settings)
    (cookie,) = [c for c in page.context.cookies() if c["name"] == name]

    page.get_by_role("button", name="Log out").click()
    assert page.url.endswith("/login")
    assert not [c for c in page.context.cookies() if c["name"] == name]

    # Back: the page was not stored, so the browser asks again and is sent to the login.
    page.go_back()
    assert "/login" in page.url
    assert "fr-1" not in page.content()

    # The old cookie, replayed in another browser, no longer opens anything (revoked).
    other = live.context(chromium)
    other.add_cookies([{"name": cookie["name"], "value": cookie["value"],
                        "url": live.base + "/"}])
    replay = other.new_page()
    replay.goto("/leads")
    assert replay.url.endswith("/login?expired=1")
    assert "fr-1" not in replay.content()
    for context in (page.context, other):
        context.close()
