"""Benchmark: the coordination server under load, on PostgreSQL (issue #5, Performance).

1. Creates a uniquely named PostgreSQL database (``--pg``, default the machine's server on
   127.0.0.1:5432 as user postgres), migrates it, and seeds it (bench/web_seed.py): 24
   agencies with a referral each in one operation, ``--leads`` leads spread over them (Zipf:
   the largest referral holds about a quarter), 34 national officers and four coordinators.
   The issue's "100 k referrals" is read as 100,000 lead records across the agencies'
   referrals (a referral is one agency's share of an operation, so an operation has dozens
   of referrals, not 100,000). Seeding is timed: one referral through the real
   ``import_package``, the others through the bench-only bulk path.
2. Profiles each list and detail use case once as an officer and as a coordinator: SQL
   statements per call (N+1 shows here) and the slowest statements with EXPLAIN ANALYZE.
3. Starts ``icarus serve`` (uvicorn, ``--workers``) on loopback and runs Locust headless with
   ``--users`` users for ``--duration`` seconds (bench/locustfile_web.py): logins, referral
   and lead lists (pages and API, filters and paging), lead details, outcome posts (API and
   form) with the version read; a 409 conflict is a correct answer, counted apart.
4. Prints p50/p95/p99 per request kind, errors (5xx or any unexpected status), throughput,
   p95 against the issue's budget (200 ms) as a ratio, and the no-lost-update check: for every
   lead whose outcome was posted, successful posts == version increase == new history rows,
   and the history is one unbroken chain of states.
5. Stops the server and drops the database (unless ``--keep``).

Full run: ``.venv/bin/python bench/bench_web.py`` (100,000 leads, 50 users, 120 s, 2 workers).
Smoke run: ``.venv/bin/python bench/bench_web.py --leads 20000 --users 10 --duration 20``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cpu_count, cpu_model, load_average, print_table
from icarus.coord import Actor, Referrals, Role
from icarus.coord.dashboard import Dashboard
from icarus.store.engine import Database, make_engine
from icarus.store.migrate import upgrade
from icarus.store.models import Outcome, OutcomeChange, OutcomeState, User
from web_seed import PASSWORD, Seeded, seed

BUDGET_MS = 200.0
"""The issue's absolute budget: p95 <= 200 ms."""
HERE = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent


def percentile(values: list[float], q: float) -> float:
    """The ``q`` percentile (0-100) by the nearest-rank method."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, round(q / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


@contextmanager
def scratch_database(base: str) -> Iterator[str]:
    """A new database on the server of ``base`` (dropped on exit); yields its URL."""
    url = make_url(base)
    name = f"icarus_bench_web_{os.getpid()}_{int(time.time())}"
    admin = url.set(drivername="postgresql", database="postgres")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        if not os.environ.get("BENCH_WEB_KEEP"):
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            print(f"kept database {name}")


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def profile(db: Database, seeded: Seeded, explain_ms: float) -> None:
    """Each read use case once as an officer of the largest agency and as a coordinator:
    statements per call and time; EXPLAIN ANALYZE of statements slower than ``explain_ms``."""
    log: list[tuple[str, Any, float]] = []

    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
               many: bool) -> None:
        context._bench_start = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
              many: bool) -> None:
        log.append((statement, params, time.perf_counter() - context._bench_start))

    with db.transaction() as s:
        users = {u.username: u for u in s.scalars(select(User)).all()}
    officer = users["officer_de0"]
    actors = {
        "officer": Actor(officer.id, officer.username, Role.NATIONAL_OFFICER,
                         officer.agency_id, "127.0.0.1"),
        "coordinator": Actor(users["coordinator1"].id, "coordinator1", Role.COORDINATOR,
                             None, "127.0.0.1")}
    referrals, dashboard = Referrals(db), Dashboard(db)
    lead_id = next(a for a in seeded.accounts if a["username"] == "officer_de0")["hot"][0]
    calls: dict[str, Callable[[Actor], object]] = {
        "list_referrals": lambda a: referrals.list_referrals(a),
        "list_leads score p1": lambda a: referrals.list_leads(a, sort="score"),
        "list_leads referral score p40": lambda a: referrals.list_leads(
            a, referral_id=seeded.referrals["DE"], sort="score", offset=2000),
        "list_leads state=received rank": lambda a: referrals.list_leads(
            a, state=OutcomeState.RECEIVED, sort="rank"),
        "list_leads country=DE subject": lambda a: referrals.list_leads(
            a, country="DE", sort="subject"),
        "get_lead": lambda a: referrals.get_lead(a, lead_id),
        "dashboard": lambda a: dashboard.summary(a),
    }
    slow: dict[str, tuple[str, Any, float]] = {}
    rows = []
    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        for who, actor in actors.items():
            for name, call in calls.items():
                call(actor)  # warm
                log.clear()
                start = time.perf_counter()
                call(actor)
                total = (time.perf_counter() - start) * 1e3
                sql = sum(x[2] for x in log) * 1e3
                rows.append([who, name, len(log), total, sql])
                for statement, params, seconds in log:
                    key = statement[:200]
                    if seconds * 1e3 >= explain_ms and (
                            key not in slow or slow[key][2] < seconds):
                        slow[key] = (statement, params, seconds)
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)
    print("\nSingle-user profile (after one warm-up call each):")
    print_table(["actor", "use case", "SQL statements", "ms total", "ms in SQL"], rows)
    for statement, params, seconds in sorted(slow.values(), key=lambda x: -x[2])[:6]:
        print(f"\n-- {seconds * 1e3:.1f} ms: {' '.join(statement.split())[:300]}")
        with db.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            cur = raw.cursor()
            cur.execute("EXPLAIN (ANALYZE, BUFFERS OFF) " + statement, params)
            for (line,) in cur.fetchall():
                print("   ", line)
            cur.close()
            conn.rollback()


@contextmanager
def server(url: str, workers: int, home: Path) -> Iterator[str]:
    """``icarus serve`` on a free loopback port; yields its base URL."""
    port = free_port()
    env = {**os.environ, "ICARUS_DATABASE_URL": url, "ICARUS_SESSION_COOKIE_SECURE": "false",
           "ICARUS_LOG_LEVEL": "warning"}
    argv = [str(VENV_BIN / "icarus"), "-q", "--home", str(home), "serve", "--host",
            "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    log = (home / "serve.log").open("wb")
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise SystemExit("icarus serve stopped: "
                                 + (home / "serve.log").read_text(errors="replace")[-2000:])
            try:
                with urllib.request.urlopen(f"{base}/login", timeout=5) as r:  # noqa: S310
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("icarus serve did not answer within 90 s")
            time.sleep(0.5)
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def run_locust(base: str, seeded: Seeded, args: argparse.Namespace, work: Path,
               ) -> dict[str, Any]:
    """Locust headless against ``base``; the raw figures its test_stop hook wrote."""
    coordinators = [a for a in seeded.accounts if a["role"] == "coordinator"]
    officers = [a for a in seeded.accounts if a["role"] == "national_officer"]
    # Officers of the ten largest agencies (two each) and the coordinators, interleaved so
    # that any number of users mixes both (about 1 in 6 a coordinator).
    pool: list[dict[str, Any]] = []
    for i, account in enumerate(officers[:20]):
        pool.append(account)
        if i % 5 == 4:
            pool.append(coordinators[(i // 5) % len(coordinators)])
    (work / "accounts.json").write_text(json.dumps(pool), encoding="utf-8")
    out = work / "locust.json"
    env = {**os.environ, "BENCH_WEB_ACCOUNTS": str(work / "accounts.json"),
           "BENCH_WEB_OUT": str(out), "BENCH_WEB_PASSWORD": PASSWORD,
           "BENCH_WEB_DASHBOARD_WEIGHT": str(args.dashboard_weight)}
    argv = [str(VENV_BIN / "locust"), "-f", str(HERE / "locustfile_web.py"), "--headless",
            "--users", str(args.users), "--spawn-rate", str(args.spawn_rate),
            "--run-time", f"{args.duration}s", "--host", base, "--only-summary",
            "--stop-timeout", "10", "--loglevel", "WARNING", "--exit-code-on-error", "0"]
    start = time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0 or not out.exists():
        raise SystemExit(f"locust failed (exit {result.returncode}):\n{result.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    figures["elapsed"] = elapsed
    return figures


def report(figures: dict[str, Any], duration: float) -> bool:
    """Print latency per request kind, errors, throughput; True when no error."""
    times: dict[str, list[float]] = figures["times"]
    statuses: dict[str, dict[str, int]] = figures["statuses"]
    rows, everything = [], []
    errors = conflicts = 0
    for name in sorted(times):
        values = times[name]
        codes = statuses.get(name, {})
        conflict = codes.get("409 conflict", 0)
        expected = {"200", "303"} | ({"409"} if conflict else set())
        bad = sum(n for code, n in codes.items()
                  if code not in expected and code != "409 conflict")
        bad += max(0, codes.get("409", 0) - conflict)
        errors += bad
        conflicts += conflict
        if not name.startswith("POST /api/v1/auth/login"):
            everything += values
        rows.append([name, len(values), percentile(values, 50), percentile(values, 95),
                     percentile(values, 99), max(values), bad, conflict])
    print_table(["request kind", "count", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors",
                 "409 conflicts"], rows)
    p95 = percentile(everything, 95)
    print(f"all requests but login: {len(everything):,} in {duration:.0f} s = "
          f"{len(everything) / duration:.1f} req/s; p50 {percentile(everything, 50):.0f} ms, "
          f"p95 {p95:.0f} ms, p99 {percentile(everything, 99):.0f} ms")
    print(f"p95 against the budget ({BUDGET_MS:.0f} ms): {p95 / BUDGET_MS:.2f}x "
          f"({'within' if p95 <= BUDGET_MS else 'OVER'} budget)")
    print(f"errors (5xx or unexpected status): {errors}; 409 conflicts (correct answers): "
          f"{conflicts}")
    for line in figures.get("unexpected", [])[:10]:
        print("  unexpected:", line)
    return errors == 0


def check_no_lost_update(db: Database, posted: dict[str, int]) -> bool:
    """Every successful post is one version and one history row, in an unbroken chain; the
    leads nobody posted on are untouched."""
    wanted = {int(k): v for k, v in posted.items()}
    problems: list[str] = []
    with db.transaction() as s:
        versions: dict[int, int] = dict(s.execute(select(Outcome.lead_id, Outcome.version)
                                  .where(Outcome.version > 1)).all())
        history: dict[int, list[tuple[int, str | None, str]]] = defaultdict(list)
        for lead_id, version, from_state, to_state in s.execute(
                select(Outcome.lead_id, OutcomeChange.version, OutcomeChange.from_state,
                       OutcomeChange.to_state)
                .join(OutcomeChange, OutcomeChange.outcome_id == Outcome.id)
                .where(Outcome.lead_id.in_(sorted(set(wanted) | set(versions))))):
            history[lead_id].append((version, from_state, to_state))
    for lead_id in sorted(set(wanted) | set(versions)):
        posts, version = wanted.get(lead_id, 0), versions.get(lead_id, 1)
        steps = sorted(history[lead_id])
        if version - 1 != posts or len(steps) - 1 != posts:
            problems.append(f"lead {lead_id}: {posts} successful posts, version {version}, "
                            f"{len(steps)} history rows")
            continue
        for (v0, _, to0), (v1, from1, _) in itertools.pairwise(steps):
            if v1 != v0 + 1 or from1 != to0:
                problems.append(f"lead {lead_id}: history breaks at version {v1}")
                break
    total = sum(wanted.values())
    print(f"no lost update: {len(wanted):,} leads posted on, {total:,} successful posts; "
          f"{'every post is one version and one history row' if not problems else 'FAILED'}")
    for p in problems[:10]:
        print("  ", p)
    return not problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=120,
                        help="seconds of load (0: seed and profile only)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--spawn-rate", type=float, default=10, help="users started per s")
    parser.add_argument("--dashboard-weight", type=int, default=0,
                        help="add the dashboard page to the mix with this weight (referral "
                        "lists 3, lead lists 6, lead details 6, outcome posts 4)")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="the PostgreSQL server (a scratch database is created on it)")
    parser.add_argument("--explain-ms", type=float, default=20,
                        help="EXPLAIN ANALYZE statements slower than this in the profile")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    args = parser.parse_args()
    if args.keep:
        os.environ["BENCH_WEB_KEEP"] = "1"
    print(f"{cpu_model()}, {cpu_count()} cores; load before: {load_average()}")
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp, \
            scratch_database(args.pg) as url:
        work = Path(tmp)
        db = Database(make_engine(url))
        try:
            start = time.perf_counter()
            upgrade(db.engine)
            print(f"migrated in {time.perf_counter() - start:.1f} s")
            start = time.perf_counter()
            seeded = seed(db, args.leads, work)
            took = time.perf_counter() - start
            print(f"seeded {seeded.leads:,} leads in {len(seeded.referrals)} referrals in "
                  f"{took:.1f} s ({seeded.leads / took:,.0f} leads/s overall)")
            for what, seconds in seeded.timings.items():
                print(f"  {what}: {seconds:.1f} s")
            with db.engine.connect() as conn:
                size = conn.scalar(text("SELECT pg_size_pretty(pg_database_size("
                                        "current_database()))"))
            print(f"database size {size}")
            if not args.no_profile:
                profile(db, seeded, args.explain_ms)
            if args.duration <= 0:
                return
            home = work / "home"
            home.mkdir()
            print(f"\nLoad: {args.users} users, {args.duration} s, icarus serve with "
                  f"{args.workers} workers; load average {load_average()}")
            with server(url, args.workers, home) as base:
                figures = run_locust(base, seeded, args, work)
            print(f"load average after: {load_average()}")
            ok = report(figures, args.duration)
            if not ok:
                print("server log (tail):\n"
                      + (home / "serve.log").read_text(errors="replace")[-3000:])
            ok = check_no_lost_update(db, figures["posted"]) and ok
        finally:
            db.dispose()
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
