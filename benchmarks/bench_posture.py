"""Live posture: raw MediaPipe Pose per picture vs the socket's round trip on a live daphne server,
side by side on the same pictures, and three sockets at once (does latency grow?).

    .venv/bin/python benchmarks/bench_posture.py [--frames 100] [--duration 60] [--fps 10] [--json PATH]

1. Raw: in this process, decode + MediaPipe Pose (the platform's estimator) + the posture score for
   each picture, one after another. Socket: one client sends a picture, waits for its answer, sends
   the next (no overlap, so no frame is dropped); round trip measured at the client. The two
   alternate in rounds (raw, socket, raw, socket); medians of per-picture times.
2. Load: three sockets, each sending a picture every 1/fps s for `--duration` s (newest wins on the
   server); per socket the answers' latency in the first and the last 10 s, answers/s and dropped.
3. Batch: `POST /api/v1/yoga/batch-analyze` with `--batch` base64 pictures per request against
   Mountain, vs raw (decode + model + yoga analysis) in this process on the same pictures: images/s.

Goals (issue 5): socket overhead ≤ 15 % over raw; with three sockets on 2 cores, latency does not
grow over the run. `--check` exits 2 when one is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402

SETTINGS = "config.settings.bench"


def pictures(count: int) -> list[bytes]:
    """JPEGs of skimage's astronaut (public domain), shifted a little each, so no two are equal."""
    import numpy as np
    from PIL import Image
    from skimage import data

    base = data.astronaut()
    out = []
    for k in range(count):
        shifted = np.roll(base, shift=(k % 7) - 3, axis=1)
        buffer = io.BytesIO()
        Image.fromarray(shifted).save(buffer, format="JPEG", quality=85)
        out.append(buffer.getvalue())
    return out


def raw_times(frames: list[bytes]) -> list[float]:
    from core.images import decode_image
    from posture import geometry
    from posture.estimators import get_estimator

    estimator = get_estimator("mediapipe")
    times = []
    for picture in frames:
        started = time.perf_counter()
        keypoints = estimator.estimate(decode_image(picture))
        geometry.posture_score_from_keypoints(keypoints)
        times.append(time.perf_counter() - started)
    return times


async def socket_times(url: str, frames: list[bytes]) -> list[float]:
    from websockets.asyncio.client import connect

    times = []
    async with connect(url, max_size=2**24) as ws:
        json.loads(await ws.recv())  # ready
        for picture in frames:
            started = time.perf_counter()
            await ws.send(picture)
            reply = json.loads(await ws.recv())
            if reply.get("type") != "posture":
                raise RuntimeError(f"unexpected answer: {reply}")
            times.append(time.perf_counter() - started)
    return times


async def one_loaded_socket(url: str, frames: list[bytes], fps: float, duration: float) -> dict:
    from websockets.asyncio.client import connect

    answers: list[tuple[float, float]] = []  # (when, latency ms)
    dropped = 0
    async with connect(url, max_size=2**24) as ws:
        json.loads(await ws.recv())
        start = time.monotonic()

        async def sender():
            k = 0
            while time.monotonic() - start < duration:
                await ws.send(frames[k % len(frames)])
                k += 1
                await asyncio.sleep(1 / fps)
            return k

        async def receiver():
            nonlocal dropped
            while True:
                reply = json.loads(await ws.recv())
                if reply.get("type") == "posture":
                    answers.append((time.monotonic() - start, reply["latency_ms"]))
                    dropped = reply["dropped"]

        receiving = asyncio.create_task(receiver())
        sent = await sender()
        await asyncio.sleep(2)
        receiving.cancel()
    first = sorted(lat for when, lat in answers if when < 10)
    last = sorted(lat for when, lat in answers if when >= duration - 10)
    return {"sent": sent, "answered": len(answers), "dropped": dropped,
            "answers_per_s": round(len(answers) / duration, 2),
            "latency_p50_first_10s": round(statistics.median(first), 1) if first else None,
            "latency_p50_last_10s": round(statistics.median(last), 1) if last else None,
            "latency_max_last_10s": round(last[-1], 1) if last else None}


def batch_figures(server, token: str, frames: list[bytes], size: int) -> dict:
    import base64

    from core.images import decode_image
    from posture.estimators import get_estimator
    from posture.geometry import NoPersonDetected
    from posture.yoga import analyze_pose

    chosen = frames[:size]
    estimator = get_estimator("mediapipe")
    started = time.perf_counter()
    for picture in chosen:
        with contextlib.suppress(NoPersonDetected):  # a portrait: an error entry, the same work
            analyze_pose(estimator.estimate(decode_image(picture)), "mountain")
    raw = time.perf_counter() - started
    body = json.dumps({"pose": "mountain", "images": [base64.b64encode(p).decode() for p in chosen]}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    harness.fetch(server.host, server.port, "/api/v1/yoga/batch-analyze", headers, "POST", body, timeout=120)
    started = time.perf_counter()
    reply = harness.fetch(server.host, server.port, "/api/v1/yoga/batch-analyze", headers, "POST", body, timeout=120)
    api = time.perf_counter() - started
    if reply.status != 200:
        raise RuntimeError(f"batch-analyze answered {reply.status}: {reply.body[:300]!r}")
    return {"images": len(chosen), "raw_images_per_s": round(len(chosen) / raw, 2),
            "api_images_per_s": round(len(chosen) / api, 2), "ratio": round(raw / api, 3)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)

    harness.manage("migrate", "--run-syncdb", "--noinput", "-v", "0", settings_module=SETTINGS)
    harness.setup_django(SETTINGS)
    from accounts import services as accounts
    from accounts.models import User

    email = "bench-posture@example.com"
    user = User.objects.filter(email=email).first() or accounts.register_user(
        email=email, password="Bench-only-P0sture-Pw", full_name="Bench Posture")
    frames = pictures(args.frames)
    raw_times(frames[:5])  # load the model once here

    report: dict = {"frames": len(frames), "rounds": []}
    log_path = harness.BENCH_VAR_DIR / "posture-daphne.log"
    with harness.DaphneServer(settings_module=SETTINGS, log_path=log_path,
                              daphne_args=("--websocket-max-message-size", "16777216")) as server:
        url = f"ws://{server.host}:{server.port}/ws/v1/posture/mediapipe/?token={accounts.issue_tokens(user)['access']}"
        asyncio.run(socket_times(url, frames[:5]))  # the server loads its model
        for _ in range(args.rounds):
            raw = raw_times(frames)
            sock = asyncio.run(socket_times(url, frames))
            report["rounds"].append({"raw_ms": round(statistics.median(raw) * 1000, 2),
                                     "socket_ms": round(statistics.median(sock) * 1000, 2)})
        raw_ms = statistics.median(r["raw_ms"] for r in report["rounds"])
        socket_ms = statistics.median(r["socket_ms"] for r in report["rounds"])
        report["raw_ms"], report["socket_ms"] = raw_ms, socket_ms
        report["overhead_pct"] = round(100 * (socket_ms / raw_ms - 1), 1)
        print(f"raw {raw_ms:.2f} ms, socket {socket_ms:.2f} ms per picture: overhead {report['overhead_pct']} %"
              f" (rounds: {report['rounds']})")

        async def three():
            return await asyncio.gather(*(one_loaded_socket(url, frames, args.fps, args.duration) for _ in range(3)))

        report["batch"] = batch_figures(server, accounts.issue_tokens(user)["access"], frames, args.batch)
        print("batch:", report["batch"])

        cpu = server.cpu_seconds()
        report["load"] = asyncio.run(three())
        report["load_server_cpu_pct"] = round(100 * (server.cpu_seconds() - cpu) / (args.duration + 2))
        for row in report["load"]:
            print("socket:", row)
    missed = []
    if report["overhead_pct"] > 15:
        missed.append("socket overhead")
    for row in report["load"]:
        first, last = row["latency_p50_first_10s"], row["latency_p50_last_10s"]
        if first and last and last > 2 * first + 50:
            missed.append("latency growth")
            break
    report["missed"] = missed
    print("Goals missed:", ", ".join(missed) or "none")
    if args.json:
        print("written:", harness.write_json(args.json, report))
    return 2 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
