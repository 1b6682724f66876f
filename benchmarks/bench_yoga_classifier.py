"""Yoga pose recognition: the numpy classifier alone vs the hybrid (classifier + rules) vs the rules alone, on
held-out synthetic skeletons, plus training time and per-skeleton recognition latency.

    .venv/bin/python benchmarks/bench_yoga_classifier.py [--train-seed 0] [--test-seed 1] [--n-train 300]
        [--n-test 200] [--json PATH] [--check]

No database, no Django: posture.yoga is a pure module.

1. Training: ``train_classifier(train_seed, n_train)`` — the same call the process makes lazily on first use —
   timed three times (synthetic data generation + feature extraction + 300 Adam steps); first and median.
2. Held-out sets drawn with `--test-seed` (never the training seed), `--n-test` skeletons per pose (asymmetric
   poses split over both sides):
   * "in-distribution": the training set's noise (angles within ±1.5 × tolerance, 20° yaw, 6° roll, keypoint
     noise 1.5 % of the torso, 3 % of keypoints dropped);
   * "harder": angles within ±2 × tolerance, 35° yaw, keypoint noise 2.5 %, 8 % dropped — the classifier never
     saw this much noise.
   For each: accuracy overall and per pose for the three methods, how often the reported side of a recognised
   asymmetric pose is right, and the hybrid's confusions.
3. Latency: ``recognise_pose`` on single skeletons (what one API call or socket frame pays), median µs.

Goals: hybrid ≥ 90 % on the in-distribution set and training < 3 s. `--check` exits 2 when one is missed.
Synthetic skeletons are drawn from the catalogue's own targets, so these figures say the pipeline works and
how it degrades with noise — not how it does on photographs of people.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402
from posture import yoga  # noqa: E402

GOALS = {"hybrid_accuracy": 0.90, "train_seconds": 3.0}
HOLDOUT_SETS = {
    "in-distribution": {},
    "harder": {"jitter": 2.0, "yaw_deg": 35.0, "keypoint_noise": 0.025, "dropout": 0.08},
}
METHODS = ("classifier", "hybrid", "rules")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-seed", type=int, default=yoga.DEFAULT_SEED)
    parser.add_argument("--test-seed", type=int, default=1)
    parser.add_argument("--n-train", type=int, default=yoga.DEFAULT_SAMPLES_PER_POSE, help="skeletons per pose")
    parser.add_argument("--n-test", type=int, default=200, help="held-out skeletons per pose and set")
    parser.add_argument("--json", help="write the results here as JSON")
    parser.add_argument("--check", action="store_true", help="exit 2 when a goal is missed")
    args = parser.parse_args(argv)
    if args.test_seed == args.train_seed:
        parser.error("--test-seed must differ from --train-seed (a held-out set).")
    return args


def measure_training(seed: int, n_per_pose: int, runs: int = 3) -> tuple[yoga.PoseClassifier, dict]:
    seconds, model = [], None
    for _ in range(runs):
        started = time.perf_counter()
        model = yoga.train_classifier(seed, n_per_pose)
        seconds.append(time.perf_counter() - started)
    return model, {"first_s": seconds[0], "median_s": statistics.median(seconds), "runs": runs,
                   "samples": n_per_pose * len(yoga.CATALOGUE), "final_loss": model.final_loss}


def measure_latency(model: yoga.PoseClassifier, seed: int, count: int = 300) -> dict:
    keypoints, _, _ = yoga.synthetic_dataset(seed + 1000, max(1, count // len(yoga.CATALOGUE)), dropout=0.0)
    timings = []
    for kp in keypoints:
        started = time.perf_counter()
        yoga.recognise_pose(kp, classifier=model)
        timings.append(time.perf_counter() - started)
    timings.sort()
    return {"median_us": 1e6 * statistics.median(timings), "p95_us": 1e6 * timings[int(0.95 * (len(timings) - 1))],
            "skeletons": len(timings)}


def confusion_lines(confusion: dict[str, dict[str, int]], limit: int = 8) -> list[str]:
    pairs = sorted(((count, truth, guess) for truth, row in confusion.items() for guess, count in row.items()),
                   reverse=True)
    return [f"  {truth} → {guess}: {count}" for count, truth, guess in pairs[:limit]] or ["  (none)"]


def report(results: dict) -> str:
    lines = [
        f"Training: {results['training']['samples']} skeletons, first {results['training']['first_s']:.2f} s, "
        f"median of {results['training']['runs']} {results['training']['median_s']:.2f} s "
        f"(final loss {results['training']['final_loss']:.3f})",
        f"Recognition latency (one skeleton): median {results['latency']['median_us']:.0f} µs, "
        f"p95 {results['latency']['p95_us']:.0f} µs",
        "",
    ]
    overall_rows = [{"set": name, **{m: 100 * r["overall"][m] for m in METHODS}, "side": 100 * r["side_accuracy"],
                     "n": r["samples"]} for name, r in results["holdout"].items()]
    lines.append(harness.format_table(overall_rows, [
        ("set", "held-out set", "{}"), ("n", "skeletons", "{}"), ("classifier", "classifier %", "{:.1f}"),
        ("hybrid", "hybrid %", "{:.1f}"), ("rules", "rules %", "{:.1f}"), ("side", "side right %", "{:.1f}"),
    ]))
    for name, r in results["holdout"].items():
        rows = [{"pose": slug, **{m: 100 * v[m] for m in METHODS}} for slug, v in r["per_pose"].items()]
        lines += ["", f"Per pose, {name}:", harness.format_table(rows, [
            ("pose", "pose", "{}"), ("classifier", "classifier %", "{:.1f}"), ("hybrid", "hybrid %", "{:.1f}"),
            ("rules", "rules %", "{:.1f}"),
        ]), f"Hybrid confusions, {name} (true → predicted: count):", *confusion_lines(r["confusion"])]
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    model, training = measure_training(args.train_seed, args.n_train)
    results = {
        "benchmark": "yoga_classifier",
        "config": {"train_seed": args.train_seed, "test_seed": args.test_seed, "n_train_per_pose": args.n_train,
                   "n_test_per_pose": args.n_test, "hybrid": {"classifier_weight": yoga.CLASSIFIER_WEIGHT,
                                                              "rules_weight": yoga.RULES_WEIGHT},
                   "holdout_sets": HOLDOUT_SETS},
        "training": training,
        "holdout": {name: yoga.evaluate(model, args.n_test, args.test_seed, **options)
                    for name, options in HOLDOUT_SETS.items()},
        "latency": measure_latency(model, args.test_seed),
    }
    misses = []
    if results["holdout"]["in-distribution"]["overall"]["hybrid"] < GOALS["hybrid_accuracy"]:
        misses.append("hybrid accuracy")
    if training["first_s"] >= GOALS["train_seconds"]:
        misses.append("training time")
    results["goals"] = {**GOALS, "missed": misses}
    print(report(results))
    print(f"\nGoals: hybrid ≥ {GOALS['hybrid_accuracy']:.0%} in-distribution, training < {GOALS['train_seconds']:.0f} s"
          f" — {'missed: ' + ', '.join(misses) if misses else 'met'}")
    if args.json:
        print(f"JSON: {harness.write_json(args.json, results)}")
    return 2 if args.check and misses else 0


if __name__ == "__main__":
    sys.exit(main())
