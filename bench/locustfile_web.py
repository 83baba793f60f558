"""Locust users of the web load benchmark (run by bench/bench_web.py, not on its own).

Each simulated user logs in (API) as one of the seeded accounts: national officers of several
agencies and coordinators. It then browses the referral and lead lists, as pages and through
the API, with filters and paging, reads lead details, and records outcomes: it reads the lead
(API or page), thinks a moment, and posts a valid move of the workflow with the version it
read. A 409 ``conflict`` (someone else saved first) is a correct answer and is counted apart.
Any other unexpected status is an error.

Environment: ``BENCH_WEB_ACCOUNTS`` (JSON list written by bench_web.py) and ``BENCH_WEB_OUT``
(where the raw figures go when the test stops).
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from locust import HttpUser, between, events, task

from icarus.coord.outcomes import TRANSITIONS
from icarus.store.models import OutcomeState

ACCOUNTS: list[dict[str, Any]] = json.loads(
    Path(os.environ.get("BENCH_WEB_ACCOUNTS", "/nonexistent")).read_text(encoding="utf-8")
) if os.environ.get("BENCH_WEB_ACCOUNTS") else []
PASSWORD = os.environ.get("BENCH_WEB_PASSWORD", "")
STATES = [s.value for s in OutcomeState]
_VERSION = re.compile(r'name="expected_version" value="(\d+)"')
_OPTION = re.compile(r'<option value="([a-z_]*)"')

TIMES: dict[str, list[float]] = defaultdict(list)
STATUSES: dict[str, Counter[str]] = defaultdict(Counter)
POSTED: Counter[int] = Counter()
UNEXPECTED: list[str] = []
_next_account = 0


def _on_request(name: str, response_time: float, **_: Any) -> None:
    TIMES[name].append(response_time)


def _on_stop(**_: Any) -> None:
    out = os.environ.get("BENCH_WEB_OUT")
    if out:
        Path(out).write_text(json.dumps({
            "times": TIMES, "statuses": {k: dict(v) for k, v in STATUSES.items()},
            "posted": {str(k): v for k, v in POSTED.items()},
            "unexpected": UNEXPECTED[:50]}), encoding="utf-8")



events.request.add_listener(_on_request)  # type: ignore[no-untyped-call]
events.test_stop.add_listener(_on_stop)  # type: ignore[no-untyped-call]


def _next_move(state: str, rng: random.Random) -> str | None:
    """A valid move from ``state`` (rarely a final one, so that leads stay in play), or None
    to only correct the notes (always valid)."""
    moves = sorted(x.value for x in TRANSITIONS[OutcomeState(state)])
    if not moves:
        return None
    lasting = [m for m in moves if m not in ("no_further_action", "charged")]
    return rng.choice(lasting if lasting and rng.random() < 0.9 else moves)


class Officer(HttpUser):
    """A national officer or a coordinator at work."""

    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        global _next_account
        self.account = ACCOUNTS[_next_account % len(ACCOUNTS)]
        _next_account += 1
        self.rng = random.Random()
        self.known: list[int] = list(self.account["hot"])
        self.csrf = ""
        self.total = 1000
        with self.client.post("/api/v1/auth/login", name="POST /api/v1/auth/login",
                              json={"username": self.account["username"],
                                    "password": PASSWORD}, catch_response=True) as r:
            self._check(r, "POST /api/v1/auth/login", {200})
            if r.status_code == 200:
                self.csrf = r.json()["csrf_token"]

    def _check(self, r: Any, name: str, ok: set[int], *, conflict: bool = False) -> bool:
        """Count the status; 409 conflict is fine when ``conflict``; anything else not in
        ``ok`` is a failure. True when the answer is in ``ok``."""
        code = r.status_code
        STATUSES[name][str(code)] += 1
        if code in ok:
            r.success()
            return True
        if conflict and code == 409 and (b'"error":"conflict"' in r.content
                                         or b"someone else changed this outcome" in r.content):
            STATUSES[name]["409 conflict"] += 1
            r.success()
            return False
        UNEXPECTED.append(f"{name}: {code} {(r.text or '')[:200]!r}")
        r.failure(f"unexpected status {code}")
        return False

    def _get(self, path: str, name: str, **params: Any) -> Any:
        with self.client.get(path, name=name, params=params, catch_response=True,
                             allow_redirects=False) as r:
            return r if self._check(r, name, {200}) else None

    def _filters(self) -> dict[str, Any]:
        f: dict[str, Any] = {"sort": self.rng.choice(["score", "score", "rank", "subject"]),
                             "limit": 50}
        if self.account["referral_id"] and self.rng.random() < 0.7:
            f["referral_id"] = self.account["referral_id"]
        elif self.account["country"] is None and self.rng.random() < 0.5:
            f["country"] = self.rng.choice(["DE", "FR", "US", "GB", "ES"])
        if self.rng.random() < 0.3:
            f["state"] = self.rng.choice(STATES[:4])
        # Mostly the first pages, sometimes deep.
        pages = max(1, min(self.total, 100_000) // 50)
        page = 0 if self.rng.random() < 0.5 else self.rng.randrange(min(pages, 20))
        if self.rng.random() < 0.05:
            page = self.rng.randrange(pages)
        f["offset"] = page * 50
        return f

    @task(3)
    def referral_list(self) -> None:
        if self.rng.random() < 0.5:
            self._get("/referrals", "GET /referrals (page)", sort="operation")
        else:
            self._get("/api/v1/referrals", "GET /api/v1/referrals",
                      sort=self.rng.choice(["leads", "country", "operation"]))

    @task(6)
    def lead_list(self) -> None:
        f = self._filters()
        if self.rng.random() < 0.5:
            self._get("/leads", "GET /leads (page)", **f)
            return
        r = self._get("/api/v1/leads", "GET /api/v1/leads", **f)
        if r is not None:
            body = r.json()
            if "state" not in f and "country" not in f:
                self.total = max(1, int(body["total"]))
            ids = [x["id"] for x in body["items"]]
            if ids:
                self.known = (self.known + ids)[-500:]

    @task(6)
    def lead_detail(self) -> None:
        lead_id = self.rng.choice(self.known)
        if self.rng.random() < 0.5:
            self._get(f"/leads/{lead_id}", "GET /leads/{id} (page)")
        else:
            self._get(f"/api/v1/leads/{lead_id}", "GET /api/v1/leads/{id}")

    @task(int(os.environ.get("BENCH_WEB_DASHBOARD_WEIGHT") or 0))
    def dashboard(self) -> None:
        """The dashboard page (off unless bench_web.py --dashboard-weight is given)."""
        self._get("/dashboard", "GET /dashboard (page)")

    @task(4)
    def record_outcome(self) -> None:
        lead_id = self.rng.choice(self.account["hot"])
        note = f"bench note {self.rng.getrandbits(32):08x}"
        if self.rng.random() < 0.5:
            self._post_api(lead_id, note)
        else:
            self._post_form(lead_id, note)

    def _post_api(self, lead_id: int, note: str) -> None:
        """Read the lead through the API, then post a move with the version read."""
        r = self._get(f"/api/v1/leads/{lead_id}", "GET /api/v1/leads/{id}")
        if r is None:
            return
        outcome = r.json()["outcome"]
        move = _next_move(outcome["state"], self.rng)
        time.sleep(self.rng.uniform(0.2, 1.0))  # reading before saving
        name = "POST /api/v1/leads/{id}/outcome"
        body: dict[str, Any] = {"expected_version": outcome["version"], "notes": note}
        if move is not None:
            body["state"] = move
        with self.client.post(f"/api/v1/leads/{lead_id}/outcome", name=name, json=body,
                              headers={"X-CSRF-Token": self.csrf}, catch_response=True) as p:
            if self._check(p, name, {200}, conflict=True):
                POSTED[lead_id] += 1

    def _post_form(self, lead_id: int, note: str) -> None:
        """Open the lead page, pick one of the moves its form offers, submit the form."""
        r = self._get(f"/leads/{lead_id}", "GET /leads/{id} (page)")
        if r is None:
            return
        version = _VERSION.search(r.text)
        if version is None:
            UNEXPECTED.append(f"lead page {lead_id}: no expected_version field")
            return
        moves = [m for m in _OPTION.findall(r.text) if m]
        lasting = [m for m in moves if m not in ("no_further_action", "charged")]
        move = self.rng.choice(lasting if lasting and self.rng.random() < 0.9 else moves) \
            if moves else ""
        time.sleep(self.rng.uniform(0.2, 1.0))
        name = "POST /leads/{id}/outcome (form)"
        form = {"csrf_token": self.csrf, "expected_version": version.group(1),
                "state": move, "notes": note, "occurred_on": "2026-03-01"}
        with self.client.post(f"/leads/{lead_id}/outcome", name=name, data=form,
                              allow_redirects=False, catch_response=True) as p:
            if self._check(p, name, {303}, conflict=True):
                POSTED[lead_id] += 1
