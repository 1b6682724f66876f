"""GET /api/v1/auth/me with a JWT against a bare Django view answering the same bytes, on one daphne
server, plus the query counts of the list endpoints at two sizes.

    .venv/bin/python benchmarks/bench_auth_me.py [--concurrency 16] [--duration 10] [--rounds 2]
                                                 [--warmup 1] [--json PATH] [--check]

Without DATABASE_URL a fresh SQLite file under var/bench/ is migrated for the run; with it (and
REDIS_URL, if set) that database is migrated and reused. The two endpoints alternate (bare, me,
bare, me, ...) with the same concurrency and duration; the summary is the median of the rounds.
Goals (docs/benchmarks.md): me >= 70 % of the bare view's requests/s; list endpoints run a constant
number of queries whatever their length. `--check` exits with status 2 when a goal is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402

SETTINGS = "config.settings.bench"
THROUGHPUT_GOAL = 0.70
BENCH_EMAIL = "bench-auth-me@example.com"
# Only ever used on throwaway benchmark databases.
BENCH_PASSWORD = "Bench-only-Xq7mV2pL9wR4"
LIST_SIZES = (5, 50)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent keep-alive connections (16)")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per endpoint per round (10)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of bare, me (2)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each measurement (1)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--settings", default=SETTINGS,
                        help=f"settings module for the server and set-up, to measure a variant ({SETTINGS})")
    parser.add_argument("--check", action="store_true", help="exit with status 2 when a goal is missed")
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= 20:
        parser.error("--rounds must be between 1 and 20")
    return args


# --- database and user ------------------------------------------------------------------------
def prepare_database(settings_module: str) -> str:
    """Point this process (and its children) at the bench database, migrated; a label for it."""
    if os.environ.get("DATABASE_URL"):
        label = os.environ["DATABASE_URL"].split("://", 1)[0]
    else:
        path = harness.BENCH_VAR_DIR / "auth-me.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)
        os.environ["BENCH_SQLITE_PATH"] = str(path)
        label = "sqlite"
    harness.manage("migrate", "--noinput", "-v", "0", settings_module=settings_module)
    return label + (" + redis" if os.environ.get("REDIS_URL") else "")


def bench_user_token() -> str:
    """A JWT access token for the benchmark user, registered through the real service on first use."""
    from accounts import services
    from accounts.models import User

    user = User.objects.filter(email=BENCH_EMAIL).first()
    if user is None:
        user = services.register_user(email=BENCH_EMAIL, password=BENCH_PASSWORD, full_name="Bench User")
    return services.issue_tokens(user)["access"]


# --- the load ---------------------------------------------------------------------------------
def check_same_body(server: harness.DaphneServer, me: harness.Target, bare: harness.Target, body_path: Path) -> bytes:
    """Fetch /me once, hand its bytes to the bare view, and assert both answer them identically."""
    reply = harness.fetch(server.host, server.port, me.path, me.headers)
    _require(reply.status == 200, f"{me.path} answered {reply.status}: {reply.body[:300]!r}")
    body_path.write_bytes(reply.body)
    baseline = harness.fetch(server.host, server.port, bare.path, bare.headers)
    _require(baseline.status == 200, f"{bare.path} answered {baseline.status}: {baseline.body[:300]!r}")
    _require(baseline.body == reply.body, "the bare view's body differs from /api/v1/auth/me's")
    _require(baseline.headers.get("content-type") == reply.headers.get("content-type"), "content types differ")
    return reply.body


def _require(condition: bool, message: str) -> None:
    if not condition:  # not `assert`: the check must survive python -O
        raise AssertionError(message)


def run_rounds(server: harness.DaphneServer, targets: list[harness.Target], args) -> list[harness.LoadResult]:
    results = []
    for round_number in range(1, args.rounds + 1):
        for target in targets:
            result = harness.run_load(
                target, port=server.port, concurrency=args.concurrency, duration_s=args.duration,
                warmup_s=args.warmup, server_pid=server.process.pid,
            )
            results.append(result)
            print(f"  round {round_number}  {result.name:<5} {result.rps:8.1f} req/s  p50 {result.p50_ms:6.2f} ms  "
                  f"p99 {result.p99_ms:7.2f} ms  errors {result.errors}", flush=True)
    return results


def summarize(results: list[harness.LoadResult], name: str) -> dict:
    mine = [r for r in results if r.name == name]
    return {
        "name": name,
        "requests": sum(r.requests for r in mine),
        "errors": sum(r.errors for r in mine),
        **{key: round(statistics.median(getattr(r, key) for r in mine), 2)
           for key in ("rps", "p50_ms", "p90_ms", "p99_ms", "server_cpu_pct", "client_cpu_pct")
           if all(getattr(r, key) is not None for r in mine)},
        "max_ms": max(r.max_ms for r in mine),
    }


# --- list endpoints ---------------------------------------------------------------------------
def list_query_counts() -> list[dict]:
    """Queries run by GET /api/v1/users/ and /api/v1/audit-log/ at each of LIST_SIZES rows.

    Runs in this process with DRF's APIClient, inside a transaction that is rolled back.
    """
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from accounts import services
    from accounts.models import AuditLog, Membership, Role, User

    def grow_members(organization, size):
        have = Membership.objects.filter(organization=organization).count()
        users = [User.objects.create_user(email=f"bench-member-{n}@example.com", password=None, full_name=f"Member {n}")
                 for n in range(have, size)]
        Membership.objects.bulk_create(
            [Membership(user=u, organization=organization, role=Role.VIEWER) for u in users])

    def grow_audit_log(organization, size):
        have = AuditLog.objects.filter(organization=organization).count()
        actors = list(User.objects.filter(memberships__organization=organization))
        AuditLog.objects.bulk_create([
            AuditLog(organization=organization, actor=actors[n % len(actors)], actor_email=actors[n % len(actors)].email,
                     action=AuditLog.Action.UPDATE, object_type="accounts.user", object_id=str(n),
                     object_repr=f"row {n}", before={"n": n - 1}, after={"n": n})
            for n in range(have, size)
        ])

    rows = []
    with transaction.atomic():
        admin = services.register_user(email="bench-lists-admin@example.com", password=BENCH_PASSWORD,
                                       full_name="Bench Admin")
        organization = admin.default_organization
        client = APIClient()
        client.force_authenticate(admin)
        for path, grow in (("/api/v1/users/", grow_members), ("/api/v1/audit-log/", grow_audit_log)):
            for size in LIST_SIZES:
                grow(organization, size)
                row = {"endpoint": path, "rows": size}
                try:
                    with CaptureQueriesContext(connection) as queries:
                        response = client.get(path)
                    row["status"] = response.status_code
                    row["queries"] = len(queries)
                    row["results"] = len(response.json().get("results", [])) if response.status_code == 200 else None
                except Exception as exc:  # a broken endpoint is a finding to print, not a crash
                    row.update(status="error", queries=None, results=None, error=f"{type(exc).__name__}: {exc}")
                rows.append(row)
        transaction.set_rollback(True)
    return rows


def constant_queries(rows: list[dict]) -> dict[str, bool]:
    verdict = {}
    for path in dict.fromkeys(r["endpoint"] for r in rows):
        mine = [r for r in rows if r["endpoint"] == path]
        ok = all(r["status"] == 200 and r["results"] == r["rows"] for r in mine)
        verdict[path] = ok and len({r["queries"] for r in mine}) == 1
    return verdict


# --- main -------------------------------------------------------------------------------------
def main(argv=None) -> int:
    args = parse_args(argv)
    body_path = harness.BENCH_VAR_DIR / "auth-me-body.json"
    body_path.parent.mkdir(parents=True, exist_ok=True)
    body_path.unlink(missing_ok=True)  # the bare view must never serve a previous run's bytes
    os.environ["BENCH_BARE_BODY_PATH"] = str(body_path)

    database = prepare_database(args.settings)
    # As in the test settings: nothing runs collectstatic for a benchmark.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    harness.setup_django(args.settings)
    from django.db import connections

    token = bench_user_token()
    connections.close_all()
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    bare = harness.Target("bare", "/bench/bare", headers)
    me = harness.Target("me", "/api/v1/auth/me", headers)

    print(f"settings: {args.settings}; database: {database}; concurrency {args.concurrency}, {args.rounds} rounds of "
          f"{args.warmup:g} s warm-up + {args.duration:g} s per endpoint", flush=True)
    log_path = harness.BENCH_VAR_DIR / "auth-me-daphne.log"
    with harness.DaphneServer(settings_module=args.settings, log_path=log_path) as server:
        body = check_same_body(server, me, bare, body_path)
        print(f"server {server.url} (pid {server.process.pid}); both endpoints answer the same {len(body)} bytes")
        results = run_rounds(server, [bare, me], args)

    summary = [summarize(results, "bare"), summarize(results, "me")]
    ratio = summary[1]["rps"] / summary[0]["rps"] if summary[0]["rps"] else 0.0
    round_ratios = [m.rps / b.rps for b, m in zip(results[0::2], results[1::2], strict=True) if b.rps]
    throughput_ok = ratio >= THROUGHPUT_GOAL
    print("\nPer round:\n" + harness.format_table([r.to_dict() for r in results]))
    print("\nMedian of rounds:\n" + harness.format_table(summary))
    print(f"\nme / bare requests/s: {ratio:.1%} (rounds: {', '.join(f'{r:.1%}' for r in round_ratios)}); "
          f"goal >= {THROUGHPUT_GOAL:.0%}: {'met' if throughput_ok else 'MISSED'}")

    counts = list_query_counts()
    verdict = constant_queries(counts)
    print("\nList endpoint queries:\n" + harness.format_table(
        counts, [("endpoint", "endpoint", "{}"), ("rows", "rows", "{}"), ("results", "results", "{}"),
                 ("status", "status", "{}"), ("queries", "queries", "{}")]))
    for row in counts:
        if row.get("error"):
            print(f"  {row['endpoint']} at {row['rows']} rows failed: {row['error']}")
    for path, constant in verdict.items():
        print(f"{path}: constant: {'yes' if constant else 'no'}")
    errors = sum(r.errors for r in results)

    if args.json:
        written = harness.write_json(args.json, {
            "benchmark": "auth_me", "database": database, "options": {k: str(v) for k, v in vars(args).items()},
            "body_bytes": len(body), "rounds": [r.to_dict() for r in results], "summary": summary,
            "ratio": round(ratio, 4), "round_ratios": [round(r, 4) for r in round_ratios],
            "throughput_goal": THROUGHPUT_GOAL, "throughput_goal_met": throughput_ok,
            "list_query_counts": counts, "constant_queries": verdict,
        })
        print(f"\nJSON: {written}")
    if errors:
        print(f"\n{errors} requests failed or answered an unexpected status: the figures are not valid.")
        return 1
    if args.check and not (throughput_ok and all(verdict.values())):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
