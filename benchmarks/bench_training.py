"""Training: frame ingest against the seed's row-per-landmark design, LeRobot export speed and memory,
and video extraction against raw MediaPipe Hands, each side by side in one run.

    .venv/bin/python benchmarks/bench_training.py [--batches 20] [--baseline-batches 6]
        [--export-episodes 100] [--video-frames 150] [--only ingest,export,video] [--json PATH] [--check]

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/pap_bench_training (created if missing);
REDIS_URL is passed through (progress events go to it when set).

1. Ingest: one daphne server; 1,000-frame batches with both hands in every frame, POSTed one after
   another on one keep-alive connection (and from 2 connections at once): the platform's JSON body,
   its binary body, and the same JSON stored one ORM row per landmark (benchmarks/views.py, bulk
   inserted in one transaction — the seed's HandPose design at its best). Frames/s = frames / time.
2. Export: a child process per session size (10 and `--export-episodes` episodes × 1,000 frames,
   state + action, no video), warmed up by a one-episode export as a worker would be, runs the
   export job in process from the database to the published zip; frames/s and the peak resident
   memory the job added (ru_maxrss after − RSS before).
3. Video: an MP4 of a real hand (ultralytics' asset, read from the installed wheel); raw MediaPipe
   Hands (tracking mode) over the already decoded frames vs the pipeline (decode + detect + store
   format) over the file, alternating, best of 3.

Goals: ingest ≥ 30,000 frames/s and ≥ 10× the baseline; export ≥ 100,000 frames/s with memory not
growing with the session; video pipeline ≤ 1.2× raw MediaPipe per frame. `--check` exits 2 when one
is missed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402

SETTINGS = "config.settings.bench"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/pap_bench_training"
BATCH_FRAMES = 1000
GOALS = {"ingest_fps": 30_000, "ingest_ratio": 10.0, "export_fps": 100_000, "video_ratio": 1.2}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=20, help="platform batches per mode and round (20)")
    parser.add_argument("--baseline-batches", type=int, default=6, help="row-per-landmark batches per round (6)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--export-episodes", type=int, default=100)
    parser.add_argument("--video-frames", type=int, default=150)
    parser.add_argument("--only", default="ingest,export,video")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--export-child", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def ensure_database() -> str:
    url = os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    if url.startswith("postgres"):
        import psycopg

        name = url.rsplit("/", 1)[1]
        admin = url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
    harness.manage("migrate", "--run-syncdb", "--noinput", "-v", "0", settings_module=SETTINGS)
    return url.split("://", 1)[0] + (" + redis" if os.environ.get("REDIS_URL") else "")


def make_owner_and_session(name: str, robot_model: bool = True):
    from accounts import services as accounts
    from accounts.models import User
    from robots.catalogue import DEXTEROUS_HAND_SLUG
    from robots.models import RobotModel
    from training import services

    email = "bench-training@example.com"
    user = User.objects.filter(email=email).first() or accounts.register_user(
        email=email, password="Bench-only-Tr41n1ng-Pw", full_name="Bench Training")
    organization = user.memberships.first().organization
    model = RobotModel.objects.get(slug=DEXTEROUS_HAND_SLUG) if robot_model else None
    session = services.create_session(actor=user, organization=organization, name=name, task="Pinch the cube",
                                      robot_model=model)
    return user, session


def both_hands_batch(n: int = BATCH_FRAMES):
    from training.frames import FrameBatch
    from training.tests.factories import synthetic_batch

    batch = synthetic_batch(n, left=True, right=True)
    return FrameBatch(batch.timestamps, batch.values)


# --- 1. ingest ------------------------------------------------------------------------------------
def post_batches(port: int, path: str, body: bytes, headers: dict, count: int, connections: int = 1) -> dict:
    """POST `body` `count` times (split over keep-alive connections); frames/s and per-batch latency."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def run(share: int):
        conn = http.client.HTTPConnection(harness.LOOPBACK, port, timeout=120)
        try:
            for _ in range(share):
                started = time.perf_counter()
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                answer = response.read()
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if response.status != 201:
                        failures.append(f"{response.status} {answer[:200]!r}")
        finally:
            conn.close()

    shares = [count // connections + (1 if i < count % connections else 0) for i in range(connections)]
    threads = [threading.Thread(target=run, args=(share,)) for share in shares]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} failed POSTs, first: {failures[0]}")
    latencies.sort()
    return {"batches": count, "frames": count * BATCH_FRAMES, "seconds": round(elapsed, 3),
            "frames_per_s": round(count * BATCH_FRAMES / elapsed), "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "max_ms": round(latencies[-1] * 1000, 1)}


def bench_ingest(args) -> dict:
    import orjson

    from accounts.services import issue_tokens
    from training.frames import BINARY_CONTENT_TYPE, encode_binary_frames

    user, session = make_owner_and_session("bench ingest", robot_model=False)
    token = issue_tokens(user)["access"]
    batch = both_hands_batch()
    # Coordinates to 5 decimals, as a client sends them (MediaPipe is not more precise than that).
    frames = json.loads(json.dumps(batch.to_json()), parse_float=lambda text: round(float(text), 5))
    json_body = orjson.dumps({"episode": None, "frames": frames, "end_episode": True})
    binary_body = encode_binary_frames(batch)
    auth = {"Authorization": f"Bearer {token}"}
    modes = [
        ("platform JSON", f"/api/v1/training/sessions/{session.pk}/gestures", json_body,
         {**auth, "Content-Type": "application/json"}, args.batches),
        ("platform binary", f"/api/v1/training/sessions/{session.pk}/gestures?end_episode=true", binary_body,
         {**auth, "Content-Type": BINARY_CONTENT_TYPE}, args.batches),
        ("baseline: row per landmark", f"/bench/handpose-rows/{session.pk}", json_body,
         {"Content-Type": "application/json"}, args.baseline_batches),
    ]
    results: dict[str, list[dict]] = {}
    log_path = harness.BENCH_VAR_DIR / "training-daphne.log"
    with harness.DaphneServer(settings_module=SETTINGS, log_path=log_path,
                              daphne_args=("--websocket-max-message-size", "16777216")) as server:
        for _name, path, body, headers, _count in modes:  # warm-up
            post_batches(server.port, path, body, headers, 1)
        for _ in range(args.rounds):
            for connections in (1, 2):
                for name, path, body, headers, count in modes:
                    cpu = server.cpu_seconds()
                    result = post_batches(server.port, path, body, headers, count, connections)
                    result["server_cpu_pct"] = round(100 * (server.cpu_seconds() - cpu) / result["seconds"])
                    results.setdefault(f"{name} ×{connections}", []).append(result)
    summary = []
    for key, runs in results.items():
        best = max(runs, key=lambda r: r["frames_per_s"])
        summary.append({"mode": key, **best, "rounds": [r["frames_per_s"] for r in runs]})
    by_mode = {row["mode"]: row for row in summary}
    ratios = {}
    for connections in (1, 2):
        baseline = by_mode[f"baseline: row per landmark ×{connections}"]["frames_per_s"]
        for kind in ("JSON", "binary"):
            ratios[f"{kind} ×{connections}"] = round(by_mode[f"platform {kind} ×{connections}"]["frames_per_s"] /
                                                     baseline, 1)
    return {"json_body_bytes": len(json_body), "binary_body_bytes": len(binary_body), "rows": summary,
            "ratio_to_baseline": ratios}


# --- 2. export ------------------------------------------------------------------------------------
def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def export_child(episodes: int) -> None:
    """In a fresh process: record `episodes` × 1,000 frames, then time the export job alone."""
    harness.setup_django(SETTINGS)
    from training import exporting, services
    from training.frames import FrameBatch

    user, session = make_owner_and_session(f"bench export {episodes}")
    batch = both_hands_batch()
    # A worker runs exports one after another: warm this process up (imports, first connections,
    # first parquet writer) with a one-episode export, as a worker's earlier jobs would.
    warm_user, warm = make_owner_and_session("bench export warm-up")
    services.ingest_frames(actor=warm_user, session=warm, batch=FrameBatch(batch.timestamps, batch.values),
                           end_episode=True)
    exporting.run_dataset_export(export_id=services.request_export(actor=warm_user, session=warm)[0].pk)
    for _ in range(episodes):
        services.ingest_frames(actor=user, session=session, batch=FrameBatch(batch.timestamps, batch.values),
                               end_episode=True)
    export, _ = services.request_export(actor=user, session=session)
    import gc

    import pyarrow.parquet  # noqa: F401 - imported before measuring: memory the job itself adds

    import training.lerobot  # noqa: F401

    gc.collect()
    before_kb = _rss_kb()
    started = time.perf_counter()
    export = exporting.run_dataset_export(export_id=export.pk)
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if export.status != "completed":
        raise SystemExit(f"export failed: {export.error}")
    print(json.dumps({"episodes": episodes, "frames": export.frame_count, "seconds": round(seconds, 3),
                      "frames_per_s": round(export.frame_count / seconds), "archive_mb": round(export.archive_size / 2**20, 1),
                      "rss_before_mb": round(before_kb / 1024, 1), "peak_rss_mb": round(peak_kb / 1024, 1),
                      "added_mb": round((peak_kb - before_kb) / 1024, 1)}))


def bench_export(args) -> dict:
    rows = []
    for episodes in (10, args.export_episodes):
        result = subprocess.run([sys.executable, __file__, "--export-child", str(episodes)], cwd=ROOT,
                                env=harness.process_env(SETTINGS), capture_output=True, text=True, timeout=1800)
        if result.returncode != 0:
            raise RuntimeError(f"export child failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
        rows.append(json.loads(result.stdout.strip().splitlines()[-1]))
    return {"rows": rows}


# --- 3. video -------------------------------------------------------------------------------------
def bench_video(args) -> dict:
    import numpy as np

    from training.hands import HandTracker
    from training.tests.factories import hand_photo, write_video
    from training.video import extract_hands_from_video, iter_video_frames

    photo = hand_photo()
    if photo is None:
        raise RuntimeError("ultralytics' assets are needed (requirements/dev-nodeps.txt)")
    frames = []
    for i in range(args.video_frames):
        canvas = np.full((480, 640, 3), 190, dtype=np.uint8)
        x = 40 + (i * 3) % 260
        canvas[80:400, x:x + 320] = photo
        frames.append(canvas)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_video(Path(tmp) / "hand.mp4", frames, fps=30)
        with path.open("rb") as video:
            _, decoded = iter_video_frames(video)
            decoded = [rgb for _, rgb in decoded]
        raw_times, pipeline_times, present = [], [], 0
        for _ in range(3):
            with HandTracker(tracking=True) as tracker:
                started = time.perf_counter()
                for rgb in decoded:
                    tracker.detect(rgb)
                raw_times.append(time.perf_counter() - started)
            with path.open("rb") as video:
                started = time.perf_counter()
                result = extract_hands_from_video(video)
                pipeline_times.append(time.perf_counter() - started)
            present = int(result.batch.present.any(axis=1).sum())
    n = len(decoded)
    raw, pipeline = min(raw_times) / n * 1000, min(pipeline_times) / n * 1000
    return {"frames": n, "size": "640x480", "frames_with_hands": present,
            "raw_ms_per_frame": round(raw, 2), "pipeline_ms_per_frame": round(pipeline, 2),
            "ratio": round(pipeline / raw, 3),
            "raw_runs_ms_per_frame": [round(t / n * 1000, 2) for t in raw_times],
            "pipeline_runs_ms_per_frame": [round(t / n * 1000, 2) for t in pipeline_times]}


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.export_child:
        export_child(args.export_child)
        return 0
    only = set(args.only.split(","))
    label = ensure_database()
    harness.setup_django(SETTINGS)
    report: dict = {"database": label}
    if "ingest" in only:
        report["ingest"] = bench_ingest(args)
        print("\nIngest (1,000-frame batches, both hands):\n" + harness.format_table(
            [{k: v for k, v in row.items() if k != "rounds"} for row in report["ingest"]["rows"]],
            [("mode", "mode", "{}"), ("frames_per_s", "frames/s", "{:d}"), ("p50_ms", "p50 ms", "{:.1f}"),
             ("max_ms", "max ms", "{:.1f}"), ("server_cpu_pct", "server CPU %", "{:d}")]))
        print("ratio to the row-per-landmark baseline:", report["ingest"]["ratio_to_baseline"])
    if "export" in only:
        report["export"] = bench_export(args)
        print("\nExport (state + action, no video):\n" + harness.format_table(report["export"]["rows"], [
            ("episodes", "episodes", "{:d}"), ("frames", "frames", "{:d}"), ("seconds", "seconds", "{:.3f}"),
            ("frames_per_s", "frames/s", "{:d}"), ("archive_mb", "zip MB", "{:.1f}"),
            ("rss_before_mb", "RSS before MB", "{:.1f}"), ("peak_rss_mb", "peak MB", "{:.1f}"),
            ("added_mb", "added MB", "{:.1f}")]))
    if "video" in only:
        report["video"] = bench_video(args)
        print("\nVideo extraction:", json.dumps(report["video"], indent=2))
    missed = []
    if "ingest" in report:
        best = max(r["frames_per_s"] for r in report["ingest"]["rows"] if r["mode"].startswith("platform"))
        if best < GOALS["ingest_fps"]:
            missed.append("ingest frames/s")
        if max(report["ingest"]["ratio_to_baseline"].values()) < GOALS["ingest_ratio"]:
            missed.append("ingest ratio")
    if "export" in report and report["export"]["rows"][-1]["frames_per_s"] < GOALS["export_fps"]:
        missed.append("export frames/s")
    if "video" in report and report["video"]["ratio"] > GOALS["video_ratio"]:
        missed.append("video ratio")
    report["missed"] = missed
    print("\nGoals missed:", ", ".join(missed) or "none")
    if args.json:
        print("written:", harness.write_json(args.json, report))
    return 2 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
