"""LeRobot v3.0 writer: the files it writes, read back with pyarrow (and PyAV for the video)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from training.lerobot import (
    _QUANTILE_BINS,
    DEFAULT_FEATURES,
    QUANTILE_KEYS,
    LeRobotWriter,
    _episode_stats,
    _Scratch,
    read_dataset_summary,
)

FPS = 10
INFO_KEYS = {
    "codebase_version",
    "robot_type",
    "total_episodes",
    "total_frames",
    "total_tasks",
    "chunks_size",
    "data_files_size_in_mb",
    "video_files_size_in_mb",
    "fps",
    "splits",
    "data_path",
    "video_path",
    "features",
}
STATS = ("min", "max", "mean", "std", "count", *QUANTILE_KEYS)


def _features(video: tuple[int, int] | None = None) -> dict:
    features = {
        "observation.state": {"dtype": "float32", "shape": [4], "names": ["a", "b", "c", "d"]},
        "action": {"dtype": "float32", "shape": [2], "names": ["x", "y"]},
        "observation.gripper": {"dtype": "float32", "shape": [1], "names": ["g"]},
    }
    if video:
        features["observation.images.camera"] = {
            "dtype": "video",
            "shape": [video[0], video[1], 3],
            "names": ["height", "width", "channels"],
        }
    return features


def _episode(rng: np.random.Generator, n: int, constant_dim: bool = True) -> dict[str, np.ndarray]:
    state = rng.normal(size=(n, 4)).astype(np.float32) * 3 + 1
    if constant_dim:
        state[:, 3] = 0.5  # a constant column: std must be exactly 0, not NaN
    return {
        "observation.state": state,
        "action": rng.uniform(-1, 1, size=(n, 2)).astype(np.float64),  # float64 input is cast to float32
        "observation.gripper": rng.uniform(0, 1, size=n).astype(np.float32),  # (n,) accepted for shape [1]
    }


def _read_data(root: Path) -> pa.Table:
    paths = sorted((root / "data").glob("*/*.parquet"))
    assert paths
    return pa.concat_tables([pq.read_table(p) for p in paths])


def _read_episodes(root: Path) -> list[dict]:
    rows = []
    for path in sorted((root / "meta" / "episodes").glob("*/*.parquet")):
        rows.extend(pq.read_table(path).to_pylist())
    return rows


def _walk_numbers(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk_numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk_numbers(v)
    elif isinstance(value, float):
        yield value


def _assert_no_nan_in_parquet(path: Path) -> None:
    table = pq.read_table(path)
    for column in table.columns:
        flat = column.combine_chunks()
        while pa.types.is_list(flat.type) or pa.types.is_fixed_size_list(flat.type):
            flat = flat.flatten()
        if pa.types.is_floating(flat.type):
            values = flat.to_numpy(zero_copy_only=False)
            assert np.isfinite(values).all(), f"{path}: {column}"


@pytest.fixture
def three_episodes(tmp_path):
    rng = np.random.default_rng(7)
    episodes = [
        ("pick the cube", _episode(rng, 5)),
        ("place the cube", _episode(rng, 17)),
        ("pick the cube", _episode(rng, 9)),
    ]
    root = tmp_path / "ds"
    with LeRobotWriter(root, fps=FPS, features=_features(), robot_type="so100") as writer:
        for i, (task, frames) in enumerate(episodes):
            assert writer.add_episode(task=task, frames=frames) == i
    return root, episodes


def test_info_json_has_lerobot_keys_and_totals(three_episodes):
    root, episodes = three_episodes
    info = json.loads((root / "meta" / "info.json").read_text())
    assert set(info) == INFO_KEYS
    assert info["codebase_version"] == "v3.0"
    assert info["robot_type"] == "so100"
    assert info["total_episodes"] == 3
    assert info["total_frames"] == 5 + 17 + 9
    assert info["total_tasks"] == 2
    assert info["fps"] == FPS
    assert info["splits"] == {"train": "0:3"}
    assert info["chunks_size"] == 1000
    assert info["data_files_size_in_mb"] == 100
    assert info["video_files_size_in_mb"] == 500
    assert info["data_path"] == "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    assert info["video_path"] is None  # no video feature: lerobot writes null too
    features = info["features"]
    assert list(features) == ["observation.state", "action", "observation.gripper", *DEFAULT_FEATURES]
    assert features["observation.state"] == {"dtype": "float32", "shape": [4], "names": ["a", "b", "c", "d"]}
    for key in ("frame_index", "episode_index", "index", "task_index"):
        assert features[key] == {"dtype": "int64", "shape": [1], "names": None}
    assert features["timestamp"] == {"dtype": "float32", "shape": [1], "names": None}


def test_frame_rows(three_episodes):
    root, episodes = three_episodes
    table = _read_data(root)
    lengths = [len(frames["action"]) for _, frames in episodes]
    total = sum(lengths)
    assert table.num_rows == total
    schema = table.schema
    assert schema.field("observation.state").type == pa.list_(pa.float32(), 4)
    assert schema.field("action").type == pa.list_(pa.float32(), 2)
    assert schema.field("observation.gripper").type == pa.float32()  # shape [1]: a plain scalar column
    assert schema.field("timestamp").type == pa.float32()
    for key in ("frame_index", "episode_index", "index", "task_index"):
        assert schema.field(key).type == pa.int64()

    index = table["index"].to_numpy()
    episode_index = table["episode_index"].to_numpy()
    frame_index = table["frame_index"].to_numpy()
    np.testing.assert_array_equal(index, np.arange(total))
    np.testing.assert_array_equal(episode_index, np.repeat(np.arange(3), lengths))
    np.testing.assert_array_equal(frame_index, np.concatenate([np.arange(n) for n in lengths]))
    timestamps = table["timestamp"].to_numpy()
    np.testing.assert_array_equal(timestamps, (frame_index / FPS).astype(np.float32))

    tasks = pq.read_table(root / "meta" / "tasks.parquet").to_pydict()
    assert tasks == {"task_index": [0, 1], "task": ["pick the cube", "place the cube"]}
    text_of = dict(zip(tasks["task_index"], tasks["task"], strict=True))
    task_index = table["task_index"].to_numpy()
    for e, (task, _frames) in enumerate(episodes):
        assert {text_of[t] for t in task_index[episode_index == e]} == {task}

    state = np.stack(table["observation.state"].to_numpy(zero_copy_only=False))
    np.testing.assert_array_equal(state, np.concatenate([f["observation.state"] for _, f in episodes]))
    action = np.stack(table["action"].to_numpy(zero_copy_only=False))
    expected_action = np.concatenate([f["action"] for _, f in episodes]).astype(np.float32)
    np.testing.assert_array_equal(action, expected_action)


def test_tasks_parquet_reads_back_with_the_task_text_as_index(three_episodes):
    root, _ = three_episodes
    meta = json.loads(pq.read_schema(root / "meta" / "tasks.parquet").metadata[b"pandas"])
    assert meta["index_columns"] == ["task"]


def test_stats_json_matches_the_data(three_episodes):
    root, episodes = three_episodes
    stats = json.loads((root / "meta" / "stats.json").read_text())
    assert set(stats) == {"observation.state", "action", "observation.gripper", *DEFAULT_FEATURES}
    table = _read_data(root)
    columns = {
        "observation.state": np.stack(table["observation.state"].to_numpy(zero_copy_only=False)),
        "action": np.stack(table["action"].to_numpy(zero_copy_only=False)),
        "observation.gripper": table["observation.gripper"].to_numpy()[:, None],
    }
    for key in DEFAULT_FEATURES:
        columns[key] = table[key].to_numpy()[:, None]
    for key, values in columns.items():
        entry = stats[key]
        assert set(entry) == set(STATS)
        dim = values.shape[1]
        as64 = values.astype(np.float64)
        np.testing.assert_allclose(entry["min"], values.min(axis=0), rtol=0, atol=0)
        np.testing.assert_allclose(entry["max"], values.max(axis=0), rtol=0, atol=0)
        np.testing.assert_allclose(entry["mean"], as64.mean(axis=0), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(entry["std"], as64.std(axis=0), rtol=1e-9, atol=1e-12)
        assert entry["count"] == [len(values)]
        for q in QUANTILE_KEYS:
            assert len(entry[q]) == dim
            assert np.all(np.asarray(entry[q]) >= values.min(axis=0))
            assert np.all(np.asarray(entry[q]) <= values.max(axis=0))
        qs = np.asarray([entry[q] for q in QUANTILE_KEYS])
        assert np.all(np.diff(qs, axis=0) >= -1e-12)
    assert stats["observation.state"]["std"][3] == 0.0  # the constant column
    # documented rule: aggregate quantile = count-weighted mean of the per-episode quantiles
    lengths = np.array([len(f["action"]) for _, f in episodes])
    per_episode = [np.quantile(f["action"].astype(np.float32), 0.5, axis=0) for _, f in episodes]
    expected_q50 = (np.stack(per_episode) * lengths[:, None]).sum(axis=0) / lengths.sum()
    np.testing.assert_allclose(stats["action"]["q50"], expected_q50, rtol=1e-6)
    # integer features keep integer extremes
    assert stats["index"]["min"] == [0] and stats["index"]["max"] == [int(lengths.sum()) - 1]
    assert isinstance(stats["index"]["max"][0], int)


def test_episode_rows_point_at_their_frames(three_episodes):
    root, episodes = three_episodes
    rows = _read_episodes(root)
    assert [r["episode_index"] for r in rows] == [0, 1, 2]
    start = 0
    for row, (task, frames) in zip(rows, episodes, strict=True):
        n = len(frames["action"])
        assert row["length"] == n
        assert row["tasks"] == [task]
        assert (row["dataset_from_index"], row["dataset_to_index"]) == (start, start + n)
        assert (row["meta/episodes/chunk_index"], row["meta/episodes/file_index"]) == (0, 0)
        path = root / f"data/chunk-{row['data/chunk_index']:03d}/file-{row['data/file_index']:03d}.parquet"
        rows_there = pq.read_table(path, columns=["index", "episode_index"])
        mine = rows_there.filter(pa.compute.equal(rows_there["episode_index"], row["episode_index"]))
        np.testing.assert_array_equal(mine["index"].to_numpy(), np.arange(start, start + n))
        # per-episode stats as lerobot's compute_episode_stats
        state = frames["observation.state"]
        np.testing.assert_array_equal(row["stats/observation.state/min"], state.min(axis=0))
        np.testing.assert_array_equal(row["stats/observation.state/max"], state.max(axis=0))
        np.testing.assert_allclose(row["stats/observation.state/mean"], state.astype(np.float64).mean(axis=0))
        np.testing.assert_allclose(row["stats/observation.state/std"], state.astype(np.float64).std(axis=0), atol=1e-12)
        np.testing.assert_allclose(
            row["stats/observation.state/q10"], np.quantile(state, 0.10, axis=0), rtol=1e-6, atol=1e-7
        )
        assert row["stats/observation.state/count"] == [n]
        assert row["stats/frame_index/min"] == [0] and row["stats/frame_index/max"] == [n - 1]
        assert row["stats/episode_index/std"] == [0.0]
        start += n
    schema = pq.read_schema(root / "meta/episodes/chunk-000/file-000.parquet")
    assert schema.field("tasks").type == pa.list_(pa.string())
    assert schema.field("stats/observation.state/mean").type == pa.list_(pa.float64())
    assert schema.field("stats/index/min").type == pa.list_(pa.int64())


def test_no_nan_anywhere(three_episodes):
    root, _ = three_episodes
    for path in (root / "meta").rglob("*.json"):
        text = path.read_text()
        assert "NaN" not in text and "Infinity" not in text
        assert all(math.isfinite(x) for x in _walk_numbers(json.loads(text)))
    for path in root.rglob("*.parquet"):
        _assert_no_nan_in_parquet(path)


def test_summary_helper(three_episodes):
    root, episodes = three_episodes
    summary = read_dataset_summary(root)
    assert summary["info"]["total_frames"] == 31
    assert summary["episode_lengths"] == [5, 17, 9]
    assert summary["tasks"] == {0: "pick the cube", 1: "place the cube"}


def test_data_files_rotate_and_chunks_roll_over(tmp_path):
    rng = np.random.default_rng(1)
    root = tmp_path / "ds"
    lengths = [40, 25, 60, 30, 50, 20, 45]
    with LeRobotWriter(root, fps=FPS, features=_features(), data_file_size_mb=0.004, chunks_size=2) as writer:
        for n in lengths:
            writer.add_episode(task="t", frames=_episode(rng, n))
    files = sorted((root / "data").glob("*/*.parquet"))
    assert len(files) >= 3
    assert (root / "data/chunk-001/file-000.parquet").exists()  # chunk_index advanced after 2 files
    table = pa.concat_tables([pq.read_table(p) for p in files])
    np.testing.assert_array_equal(table["index"].to_numpy(), np.arange(sum(lengths)))  # sorted path order = index
    rows = _read_episodes(root)
    seen = set()
    for row in rows:
        path = root / f"data/chunk-{row['data/chunk_index']:03d}/file-{row['data/file_index']:03d}.parquet"
        part = pq.read_table(path, columns=["index", "episode_index"])
        mine = part.filter(pa.compute.equal(part["episode_index"], row["episode_index"]))
        assert mine.num_rows == row["length"]  # an episode never spans two files
        np.testing.assert_array_equal(
            mine["index"].to_numpy(), np.arange(row["dataset_from_index"], row["dataset_to_index"])
        )
        seen.add(path)
    assert seen == set(files)  # every file holds referenced rows
    chunk_file = [(r["data/chunk_index"], r["data/file_index"]) for r in rows]
    assert chunk_file == sorted(chunk_file)
    assert all(f < 2 for _, f in chunk_file)


def test_episodes_metadata_rotates_and_names_its_own_file(tmp_path):
    rng = np.random.default_rng(11)
    root = tmp_path / "ds"
    with LeRobotWriter(root, fps=FPS, features=_features(), data_file_size_mb=0.004) as writer:
        for _ in range(140):  # rows are written 64 at a time
            writer.add_episode(task="t", frames=_episode(rng, 2))
    meta_files = sorted((root / "meta" / "episodes").glob("*/*.parquet"))
    assert len(meta_files) >= 2
    indices = []
    for path in meta_files:
        for row in pq.read_table(path).to_pylist():
            where = f"chunk-{row['meta/episodes/chunk_index']:03d}/file-{row['meta/episodes/file_index']:03d}.parquet"
            assert path.as_posix().endswith(where)
            indices.append(row["episode_index"])
    assert indices == list(range(140))  # sorted path order = episode order
    assert read_dataset_summary(root)["episode_lengths"] == [2] * 140


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        ({"action": np.full((3, 2), np.nan)}, "non-finite value nan at frame 0, dimension 0 ('x')"),
        ({"observation.state": np.array([[0, 0, 0, np.inf]] * 3, dtype=np.float32)}, "non-finite value inf"),
        ({"action": np.array([[1e39, 0]] * 3)}, "overflows float32"),
        ({"action": np.zeros((3, 3), dtype=np.float32)}, "expected shape (n, 2), got (3, 3)"),
        ({"action": np.zeros((4, 2), dtype=np.float32)}, "has 4 frames"),
        ({"action": np.zeros((3, 2), dtype=object)}, "not numeric"),
        ({"extra": np.zeros((3, 1))}, "unexpected features ['extra']"),
        ({"action": None}, "expected shape (n, 2)"),
    ],
)
def test_bad_input_raises_value_error_and_leaves_the_writer_usable(tmp_path, frames, message):
    rng = np.random.default_rng(2)
    root = tmp_path / "ds"
    writer = LeRobotWriter(root, fps=FPS, features=_features())
    good = _episode(rng, 3)
    with pytest.raises(ValueError) as raised:
        writer.add_episode(task="t", frames={**good, **frames})
    assert message in str(raised.value)
    assert writer.add_episode(task="t", frames=good) == 0
    info = writer.finish()
    assert info["total_episodes"] == 1 and info["total_frames"] == 3


def test_missing_feature_and_empty_task_raise(tmp_path):
    writer = LeRobotWriter(tmp_path / "ds", fps=FPS, features=_features())
    frames = _episode(np.random.default_rng(0), 2)
    with pytest.raises(ValueError, match="missing features"):
        writer.add_episode(task="t", frames={"action": frames["action"]})
    with pytest.raises(ValueError, match="task"):
        writer.add_episode(task="  ", frames=frames)
    with pytest.raises(ValueError, match="at least one frame"):
        writer.add_episode(task="t", frames={k: v[:0] for k, v in frames.items()})
    with pytest.raises(ValueError, match="without episodes"):
        writer.finish()
    writer.abort()


def test_bad_declarations_raise():
    with pytest.raises(ValueError, match="default feature"):
        LeRobotWriter(Path("/nonexistent"), fps=FPS, features={"index": {"dtype": "int64", "shape": [1]}})
    with pytest.raises(ValueError, match="must not contain '/'"):
        LeRobotWriter(Path("/nonexistent"), fps=FPS, features={"a/b": {"dtype": "float32", "shape": [1]}})
    with pytest.raises(ValueError, match="names"):
        LeRobotWriter(Path("/nonexistent"), fps=FPS, features={"a": {"dtype": "float32", "shape": [2], "names": ["x"]}})
    with pytest.raises(ValueError, match="fps"):
        LeRobotWriter(Path("/nonexistent"), fps=0, features=_features())
    with pytest.raises(ValueError, match="video_keys"):
        LeRobotWriter(Path("/nonexistent"), fps=FPS, features=_features(), video_keys=("observation.images.x",))
    with pytest.raises(ValueError, match="even"):
        LeRobotWriter(Path("/nonexistent"), fps=FPS, features=_features(video=(31, 48)))


def test_an_exception_inside_the_context_leaves_no_info_json(tmp_path):
    root = tmp_path / "ds"
    with pytest.raises(RuntimeError, match="boom"), LeRobotWriter(root, fps=FPS, features=_features()) as writer:
        writer.add_episode(task="t", frames=_episode(np.random.default_rng(0), 4))
        raise RuntimeError("boom")
    assert not (root / "meta" / "info.json").exists()


def test_caller_may_reuse_its_buffers(tmp_path):
    """The arrays are copied before the background write: overwriting them after add_episode changes nothing."""
    rng = np.random.default_rng(3)
    root = tmp_path / "ds"
    frames = _episode(rng, 50)
    expected = frames["observation.state"].copy()
    with LeRobotWriter(root, fps=FPS, features=_features(), background=True) as writer:
        writer.add_episode(task="t", frames=frames)
        frames["observation.state"][:] = -7
    state = np.stack(_read_data(root)["observation.state"].to_numpy(zero_copy_only=False))
    np.testing.assert_array_equal(state, expected)


def test_background_and_inline_write_the_same_files(tmp_path):
    rng = np.random.default_rng(4)
    episodes = [_episode(rng, n) for n in (30, 8, 64)]
    outputs = []
    for background in (True, False):
        root = tmp_path / f"ds-{background}"
        with LeRobotWriter(root, fps=FPS, features=_features(), background=background) as writer:
            for i, frames in enumerate(episodes):
                writer.add_episode(task=f"task {i % 2}", frames=frames)
        outputs.append(
            {
                p.relative_to(root).as_posix(): (pq.read_table(p) if p.suffix == ".parquet" else p.read_text())
                for p in root.rglob("*")
                if p.is_file()
            }
        )
    assert outputs[0].keys() == outputs[1].keys()
    for key, value in outputs[0].items():
        other = outputs[1][key]
        assert value.equals(other) if isinstance(value, pa.Table) else value == other, key


def test_histogram_quantiles_are_close_to_exact():
    rng = np.random.default_rng(5)
    values = rng.normal(size=(4000, 16)).astype(np.float32)  # above the exact threshold: histogram path
    stats, m2 = _episode_stats(values, _Scratch())
    width = (values.max(axis=0) - values.min(axis=0)).astype(np.float64) / _QUANTILE_BINS
    ordered = np.sort(values, axis=0).astype(np.float64)
    for q, key in zip((0.01, 0.10, 0.50, 0.90, 0.99), QUANTILE_KEYS, strict=True):
        pos = q * (len(values) - 1)  # numpy's "linear" rule interpolates between these two order statistics
        low, high = ordered[math.floor(pos)], ordered[math.ceil(pos)]
        assert np.all(stats[key] >= low - width - 1e-6), key
        assert np.all(stats[key] <= high + width + 1e-6), key
        assert np.all(np.abs(stats[key] - np.quantile(values, q, axis=0)) <= (high - low) + width + 1e-6), key
    np.testing.assert_allclose(m2, ((values.astype(np.float64) - values.mean(axis=0, dtype=np.float64)) ** 2).sum(0))
    small = values[:100, :4]  # exact path: numpy's "linear" quantiles
    stats_small, _ = _episode_stats(small, _Scratch())
    np.testing.assert_allclose(stats_small["q90"], np.quantile(small, 0.9, axis=0), rtol=1e-6)


def test_single_frame_episode(tmp_path):
    root = tmp_path / "ds"
    with LeRobotWriter(root, fps=FPS, features=_features()) as writer:
        writer.add_episode(task="t", frames=_episode(np.random.default_rng(6), 1))
    stats = json.loads((root / "meta" / "stats.json").read_text())
    assert stats["action"]["std"] == [0.0, 0.0]
    assert stats["timestamp"]["max"] == [0.0]


def _gradient_frames(n: int, height: int, width: int):
    for i in range(n):
        frame = np.zeros((height, width, 3), dtype=np.uint8)
        frame[..., 0] = (np.arange(width) * 255 // max(width - 1, 1)).astype(np.uint8)
        frame[..., 1] = (i * 20) % 256
        frame[..., 2] = 128
        yield frame


def test_video_feature_writes_a_decodable_mp4(tmp_path):
    rng = np.random.default_rng(8)
    root = tmp_path / "ds"
    height, width = 32, 48
    features = _features(video=(height, width))
    lengths = [12, 7]
    with LeRobotWriter(root, fps=FPS, features=features, video_keys=("observation.images.camera",)) as writer:
        for n in lengths:
            writer.add_episode(
                task="wave",
                frames=_episode(rng, n),
                video_frames={"observation.images.camera": _gradient_frames(n, height, width)},
            )
    info = json.loads((root / "meta" / "info.json").read_text())
    assert info["video_path"] == "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
    camera = info["features"]["observation.images.camera"]
    assert camera["shape"] == [height, width, 3]
    assert camera["info"] == {
        "video.height": height,
        "video.width": width,
        "video.codec": "h264",
        "video.pix_fmt": "yuv420p",
        "video.is_depth_map": False,
        "video.fps": FPS,
        "video.channels": 3,
        "has_audio": False,
    }
    assert "observation.images.camera" not in pq.read_schema(root / "data/chunk-000/file-000.parquet").names
    rows = _read_episodes(root)
    for episode_index, (row, n) in enumerate(zip(rows, lengths, strict=True)):
        key = "videos/observation.images.camera"
        assert row[f"{key}/from_timestamp"] == 0.0
        assert row[f"{key}/to_timestamp"] == pytest.approx(n / FPS)
        assert (row[f"{key}/chunk_index"], row[f"{key}/file_index"]) == (0, episode_index)
        path = root / f"videos/observation.images.camera/chunk-000/file-{episode_index:03d}.mp4"
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            decoded = list(container.decode(stream))
        assert len(decoded) == n
        assert (decoded[0].height, decoded[0].width) == (height, width)
        times = [float(frame.pts * stream.time_base) for frame in decoded]
        np.testing.assert_allclose(times, np.arange(n) / FPS, atol=1e-6)
        first = decoded[0].to_ndarray(format="rgb24")
        assert abs(int(first[..., 2].mean()) - 128) <= 3
        # image stats: lerobot's (3, 1, 1) in [0, 1], count = frames sampled (all of them below 100 frames)
        assert row["stats/observation.images.camera/count"] == [n]
        mean = np.asarray(row["stats/observation.images.camera/mean"])
        assert mean.shape == (3, 1, 1)
        assert mean[2, 0, 0] == pytest.approx(128 / 255)
    stats = json.loads((root / "meta" / "stats.json").read_text())["observation.images.camera"]
    for key in STATS:
        if key != "count":
            arr = np.asarray(stats[key])
            assert arr.shape == (3, 1, 1)
            assert np.all((arr >= 0) & (arr <= 1))
    assert stats["count"] == [sum(lengths)]
    assert stats["std"][2] == [[0.0]]  # blue is constant


def test_video_frame_count_or_shape_mismatch_raises_and_leaves_no_file(tmp_path):
    root = tmp_path / "ds"
    writer = LeRobotWriter(root, fps=FPS, features=_features(video=(16, 16)))
    frames = _episode(np.random.default_rng(9), 5)
    key = "observation.images.camera"
    with pytest.raises(ValueError, match="4 frames for an episode of 5"):
        writer.add_episode(task="t", frames=frames, video_frames={key: _gradient_frames(4, 16, 16)})
    with pytest.raises(ValueError, match="frame 0 must be uint8"):
        writer.add_episode(task="t", frames=frames, video_frames={key: [np.zeros((16, 16, 3), np.float32)] * 5})
    with pytest.raises(ValueError, match="missing video features"):
        writer.add_episode(task="t", frames=frames)
    assert not list(root.rglob("*.mp4"))
    assert writer.add_episode(task="t", frames=frames, video_frames={key: _gradient_frames(5, 16, 16)}) == 0
    writer.finish()
    assert len(list(root.rglob("*.mp4"))) == 1


@pytest.mark.parametrize("background", [True, False])
def test_a_failed_write_breaks_the_writer(tmp_path, monkeypatch, background):
    from training import lerobot

    def fail(self, table):
        raise OSError("disk full")

    frames = _episode(np.random.default_rng(10), 4)
    writer = LeRobotWriter(tmp_path / "ds", fps=FPS, features=_features(), background=background)
    monkeypatch.setattr(lerobot._RotatingParquet, "write", fail)
    if background:
        writer.add_episode(task="t", frames=frames)  # accepted; the write fails on the worker
        with pytest.raises(RuntimeError, match="disk full"):
            writer.add_episode(task="t", frames=frames)
    else:
        with pytest.raises(OSError, match="disk full"):
            writer.add_episode(task="t", frames=frames)
    with pytest.raises(RuntimeError, match="failed earlier"):
        writer.finish()
    writer.abort()
    assert not (tmp_path / "ds" / "meta" / "info.json").exists()
