"""Load a LeRobot v3.0 dataset with lerobot's own reader and print what it sees.

Run it with a Python that has lerobot installed (kept out of the app's venv: lerobot 0.4.x pins an older torch):

    HF_HUB_OFFLINE=1 /tmp/lerobot-venv/bin/python benchmarks/check_lerobot_dataset.py DATASET_ROOT [--video-backend pyav]

Exits non-zero when lerobot cannot load the dataset, when its counts disagree with meta/info.json, or when an
item's shapes or frame/episode indices are not what the features declare.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="dataset root (holds meta/info.json)")
    parser.add_argument("--items", type=int, default=5, help="items to read, spread over the dataset")
    parser.add_argument("--video-backend", default=None, help="lerobot video backend (torchcodec, pyav)")
    args = parser.parse_args(argv)

    try:
        import lerobot
        from lerobot.datasets.lerobot_dataset import LeRobotDataset, LeRobotDatasetMetadata
    except ImportError as exc:
        print(f"lerobot is not importable here: {exc}", file=sys.stderr)
        return 2

    root = args.root.resolve()
    info = json.loads((root / "meta" / "info.json").read_text())
    try:
        meta = LeRobotDatasetMetadata("local/check", root=root)
        dataset = LeRobotDataset("local/check", root=root, video_backend=args.video_backend)
        print(f"lerobot {getattr(lerobot, '__version__', '?')}; video backend {dataset.video_backend}")
        print(f"num_episodes={dataset.num_episodes} num_frames={dataset.num_frames} fps={dataset.fps}")
        print(f"tasks={list(meta.tasks.index)}")
        print("features:")
        for key, feature in dataset.features.items():
            print(f"  {key}: dtype={feature['dtype']} shape={tuple(feature['shape'])}")
        print("stats keys:", {key: sorted(value) for key, value in list(meta.stats.items())[:2]}, "...")

        problems = []
        if dataset.num_episodes != info["total_episodes"]:
            problems.append(f"num_episodes {dataset.num_episodes} != info {info['total_episodes']}")
        if dataset.num_frames != info["total_frames"] or len(dataset) != info["total_frames"]:
            problems.append(f"num_frames {dataset.num_frames}/{len(dataset)} != info {info['total_frames']}")

        n = len(dataset)
        picks = sorted({round(i * (n - 1) / max(args.items - 1, 1)) for i in range(args.items)})
        for idx in picks:
            item = dataset[idx]
            shapes = {key: tuple(value.shape) for key, value in item.items() if hasattr(value, "shape")}
            print(
                f"item {idx}: task={item['task']!r} episode={int(item['episode_index'])} "
                f"frame={int(item['frame_index'])} shapes={shapes}"
            )
            if int(item["index"]) != idx:
                problems.append(f"item {idx} has index {int(item['index'])}")
            episode = dataset.meta.episodes[int(item["episode_index"])]
            expected_frame = idx - episode["dataset_from_index"]
            if int(item["frame_index"]) != expected_frame:
                problems.append(f"item {idx}: frame_index {int(item['frame_index'])} != {expected_frame}")
            for key, feature in dataset.features.items():
                if key not in item:
                    problems.append(f"item {idx} lacks {key}")
                    continue
                shape = tuple(feature["shape"])
                if feature["dtype"] in ("video", "image"):
                    shape = (shape[2], shape[0], shape[1])  # lerobot returns channel-first float images
                elif shape == (1,):
                    shape = ()
                if tuple(item[key].shape) != shape:
                    problems.append(f"item {idx}: {key} shape {tuple(item[key].shape)} != {shape}")
    except Exception:
        traceback.print_exc()
        print("FAILED: lerobot could not load or read the dataset", file=sys.stderr)
        return 1
    if problems:
        print("FAILED:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
