"""Write LeRobot datasets in format v3.0 (``codebase_version`` "v3.0", as read by lerobot 0.4.x).

A pure module: numpy, pyarrow and PyAV only, no Django and no lerobot. :class:`LeRobotWriter` streams one
episode at a time: the memory it holds does not grow with the number of episodes (per-feature running sums,
the task table and a small buffer of episode-metadata rows).

Layout written under ``root`` (the paths are lerobot's defaults)::

    meta/info.json                              the 13 keys (codebase_version ... features)
    meta/stats.json                             per feature: min, max, mean, std, count, q01, q10, q50, q90, q99
    meta/tasks.parquet                          task_index (int64); the task text is the pandas index "task"
    meta/episodes/chunk-000/file-000.parquet    one row per episode (pointers, length, tasks, stats/<f>/<stat>)
    data/chunk-CCC/file-FFF.parquet             one row per frame, many episodes per file
    videos/<key>/chunk-CCC/file-FFF.mp4         video features only: one MP4 per episode

Decisions, matched against lerobot 0.4.4's reader (``LeRobotDatasetMetadata`` / ``LeRobotDataset``):

* Frame columns: the user features in declaration order, then ``timestamp`` (float32), ``frame_index``,
  ``episode_index``, ``index``, ``task_index`` (int64). A feature of shape ``[1]`` is a plain scalar column
  (lerobot maps it to ``datasets.Value``); a feature of shape ``[d]`` is ``fixed_size_list<dtype>[d]``
  (``datasets.Sequence(length=d)``). Video features have no column: their frames live in the MP4 files.
* ``index`` is global (0..N-1) and equals the row position over the data files read in path order;
  ``timestamp`` is ``frame_index / fps``; task indices follow first use of each task text.
* An episode never spans two data files. Before an episode is written, the current data file is closed and
  the next one opened when ``bytes_written + bytes_per_frame_so_far * n >= data_file_size_mb`` (lerobot's own
  rule, applied to the bytes handed to the file). ``file_index`` then advances and wraps into the next
  ``chunk_index`` after ``chunks_size`` files. The episodes metadata file rotates the same way.
* ``video_path`` is null when there is no video feature (as lerobot's ``create_empty_dataset_info`` writes it).
* Video: one MP4 per episode (``from_timestamp`` 0, ``to_timestamp`` n / fps); the per-video file counter
  follows the same chunk rule. Frames are encoded as yuv420p with pts = frame number in a 1/fps time base,
  so decoded timestamps are exactly ``frame_index / fps``; default encoder options are lerobot's (g=2, crf=30).
* Stats per episode are lerobot's ``compute_episode_stats``: vector features per dimension; default features
  with shape (1,); video features per channel over a sample of frames (lerobot's ``sample_indices`` and
  ``auto_downsample_height_width``), divided by 255 and shaped (3, 1, 1), ``count`` = frames sampled.
  min/max/mean/std are exact. Per-episode quantiles follow numpy's "linear" rule: exactly for small episodes
  and for the default and video features, and above 16,384 values per feature from a 500-bin histogram on
  [min, max], interpolated in the bin (within one bin width of numpy's order statistics), as lerobot's own
  ``RunningQuantileStats`` estimates them (5000 bins there; sorting every column cost more than the write).
* ``stats.json`` aggregates like lerobot's ``aggregate_stats``: min/max are exact, mean and std are exact over
  all frames (Chan's parallel update of per-episode mean and sum of squared deviations, in float64), count is
  the sum, and each quantile is the count-weighted mean of the per-episode quantiles (so an approximation of
  the global quantile, as in lerobot). A dimension whose min equals its max gets std 0. No value is NaN.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "CODEBASE_VERSION",
    "DEFAULT_FEATURES",
    "LeRobotWriter",
    "read_dataset_summary",
]

CODEBASE_VERSION = "v3.0"
DEFAULT_CHUNKS_SIZE = 1000
DEFAULT_DATA_FILE_SIZE_MB = 100
DEFAULT_VIDEO_FILE_SIZE_MB = 500
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
INFO_PATH = "meta/info.json"
STATS_PATH = "meta/stats.json"
TASKS_PATH = "meta/tasks.parquet"

# lerobot's DEFAULT_FEATURES, in its order; the writer appends them after the user features.
DEFAULT_FEATURES: dict[str, dict[str, Any]] = {
    "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    "episode_index": {"dtype": "int64", "shape": [1], "names": None},
    "index": {"dtype": "int64", "shape": [1], "names": None},
    "task_index": {"dtype": "int64", "shape": [1], "names": None},
}

QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)
QUANTILE_KEYS = ("q01", "q10", "q50", "q90", "q99")
STAT_KEYS = ("min", "max", "mean", "std", "count", *QUANTILE_KEYS)

_NUMERIC_DTYPES = {
    "float32": pa.float32(),
    "float64": pa.float64(),
    "int32": pa.int32(),
    "int64": pa.int64(),
}
_DEFAULT_VIDEO_OPTIONS = {"g": "2", "crf": "30"}
_EPISODE_META_BUFFER = 64  # episode rows buffered before they are written (bounded memory)
_EXACT_QUANTILE_VALUES = 16_384  # per-episode arrays up to this many values get exact quantiles
_QUANTILE_BINS = 500  # histogram bins for the quantiles of larger arrays (lerobot uses 5000, at far more cost)
_MB = 1024 * 1024


class _Feature:
    """A declared non-video feature (1-D numeric) or a video feature."""

    __slots__ = ("key", "dtype", "shape", "names", "dim", "is_video", "np_dtype", "pa_type")

    def __init__(self, key: str, spec: Mapping[str, Any]):
        if not isinstance(key, str) or not key:
            raise ValueError(f"feature names must be non-empty strings, got {key!r}")
        if "/" in key:
            raise ValueError(f"feature name {key!r} must not contain '/'")
        if key in DEFAULT_FEATURES:
            raise ValueError(f"feature {key!r} is a default feature; the writer adds it itself")
        if not isinstance(spec, Mapping) or "dtype" not in spec or "shape" not in spec:
            raise ValueError(f"feature {key!r} needs a mapping with 'dtype' and 'shape', got {spec!r}")
        self.key = key
        self.dtype = str(spec["dtype"])
        try:
            self.shape = tuple(int(s) for s in spec["shape"])
        except (TypeError, ValueError):
            raise ValueError(f"feature {key!r}: shape must be a list of ints, got {spec['shape']!r}") from None
        self.names = spec.get("names")
        self.is_video = self.dtype == "video"
        if self.is_video:
            if len(self.shape) != 3 or self.shape[2] != 3 or min(self.shape) < 1:
                raise ValueError(f"video feature {key!r}: shape must be [height, width, 3], got {list(self.shape)}")
            height, width, _ = self.shape
            if height % 2 or width % 2:
                raise ValueError(f"video feature {key!r}: yuv420p needs an even height and width, got {height}x{width}")
            self.names = list(self.names) if self.names is not None else ["height", "width", "channels"]
            self.dim = 3
            self.np_dtype = np.dtype(np.uint8)
            self.pa_type = None
            return
        if self.dtype not in _NUMERIC_DTYPES:
            raise ValueError(
                f"feature {key!r}: dtype {self.dtype!r} is not supported "
                f"(use one of {sorted(_NUMERIC_DTYPES)} or 'video')"
            )
        if len(self.shape) != 1 or self.shape[0] < 1:
            raise ValueError(f"feature {key!r}: shape must be [d] with d >= 1, got {list(self.shape)}")
        self.dim = self.shape[0]
        if self.names is not None:
            self.names = list(self.names)
            if len(self.names) != self.dim:
                raise ValueError(f"feature {key!r}: {len(self.names)} names for shape {list(self.shape)}")
        self.np_dtype = np.dtype(self.dtype)
        base = _NUMERIC_DTYPES[self.dtype]
        self.pa_type = base if self.dim == 1 else pa.list_(base, self.dim)

    @property
    def is_float(self) -> bool:
        return self.np_dtype.kind == "f"

    def info(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "shape": list(self.shape), "names": self.names}


# --------------------------------------------------------------------------------------------- statistics


class _Scratch:
    """Work buffers kept across episodes.

    Multi-megabyte temporaries allocated afresh for every episode page-fault each time under glibc's malloc
    (its heap is trimmed and regrown), which tripled the cost of the statistics; these are allocated once and
    grow to the largest episode seen.
    """

    def __init__(self) -> None:
        self._buffers: dict[tuple[str, str], np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        dtype = np.dtype(dtype)
        size = math.prod(shape)
        buf = self._buffers.get((name, dtype.str))
        if buf is None or buf.size < size:
            buf = np.empty(size, dtype=dtype)
            self._buffers[(name, dtype.str)] = buf
        return buf[:size].reshape(shape)


def _episode_stats(
    values: np.ndarray, scratch: _Scratch, vmin: np.ndarray | None = None, vmax: np.ndarray | None = None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Stats over axis 0 of an (n, d) array: lerobot's keys, plus the sum of squared deviations (for merging).

    min/max/mean/std are exact (mean and the squared deviations in float64). Quantiles follow numpy's "linear"
    rule exactly when the episode is small (n * d <= _EXACT_QUANTILE_VALUES); above that they come, as in
    lerobot's RunningQuantileStats, from a histogram of _QUANTILE_BINS bins between the episode's min and max,
    interpolated within the bin (within (max - min) / _QUANTILE_BINS of the order statistics numpy would
    interpolate between), which keeps the cost linear: a sort of every column cost more than the parquet write.
    """
    n, dim = values.shape
    centred = scratch.get("centred", (n, dim), np.float64)
    np.copyto(centred, values, casting="unsafe")
    mean = centred.sum(axis=0) / n
    centred -= mean
    m2 = np.einsum("ij,ij->j", centred, centred)
    vmin = values.min(axis=0) if vmin is None else vmin
    vmax = values.max(axis=0) if vmax is None else vmax
    std = np.sqrt(m2 / n)
    std[vmin == vmax] = 0.0
    if values.size <= _EXACT_QUANTILE_VALUES:
        quant = _exact_quantiles(values)
    else:
        quant = _histogram_quantiles(values, vmin, vmax, scratch)
    stats = {"min": vmin, "max": vmax, "mean": mean, "std": std, "count": np.array([n], dtype=np.int64)}
    for key, row in zip(QUANTILE_KEYS, quant, strict=True):
        stats[key] = np.clip(row, vmin, vmax)
    return stats, m2


def _default_feature_stats(
    n: int, start: int, episode_index: int, task_index: int, timestamps: np.ndarray
) -> dict[str, tuple[dict[str, np.ndarray], np.ndarray]]:
    """Stats of the five default columns in closed form (what _episode_stats would give, without its cost)."""
    qs = np.asarray(QUANTILES)
    count = np.array([n], dtype=np.int64)

    def arange_stats(first: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
        m2 = np.array([n * (n * n - 1) / 12.0])
        stats = {
            "min": np.array([first], dtype=np.int64),
            "max": np.array([first + n - 1], dtype=np.int64),
            "mean": np.array([first + (n - 1) / 2.0]),
            "std": np.sqrt(m2 / n),
            "count": count,
        }
        for key, q in zip(QUANTILE_KEYS, qs, strict=True):
            stats[key] = np.array([first + q * (n - 1)])
        return stats, m2

    def constant_stats(value: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
        stats = {
            "min": np.array([value], dtype=np.int64),
            "max": np.array([value], dtype=np.int64),
            "mean": np.array([float(value)]),
            "std": np.zeros(1),
            "count": count,
        }
        for key in QUANTILE_KEYS:
            stats[key] = np.array([float(value)])
        return stats, np.zeros(1)

    ts = timestamps.astype(np.float64)  # increasing: the quantiles interpolate between neighbours directly
    ts_mean = ts.mean()
    ts_m2 = np.array([np.dot(ts - ts_mean, ts - ts_mean)])
    pos = qs * (n - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, n - 1)
    ts_q = ts[lo] + (ts[hi] - ts[lo]) * (pos - lo)
    ts_stats = {
        "min": timestamps[:1].copy(),
        "max": timestamps[-1:].copy(),
        "mean": np.array([ts_mean]),
        "std": np.sqrt(ts_m2 / n),
        "count": count,
    }
    for key, value in zip(QUANTILE_KEYS, ts_q, strict=True):
        ts_stats[key] = np.array([value])
    return {
        "timestamp": (ts_stats, ts_m2),
        "frame_index": arange_stats(0),
        "episode_index": constant_stats(episode_index),
        "index": arange_stats(start),
        "task_index": constant_stats(task_index),
    }


def _exact_quantiles(values: np.ndarray) -> np.ndarray:
    """numpy's "linear" quantiles over axis 0 from one sort; returns (len(QUANTILES), d) float64."""
    n = values.shape[0]
    ordered = np.sort(values, axis=0)
    pos = np.asarray(QUANTILES) * (n - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, n - 1)
    low = ordered[lo].astype(np.float64)
    return low + (ordered[hi].astype(np.float64) - low) * (pos - lo)[:, None]


def _histogram_quantiles(values: np.ndarray, vmin: np.ndarray, vmax: np.ndarray, scratch: _Scratch) -> np.ndarray:
    """Quantiles over axis 0 from per-column histograms of _QUANTILE_BINS bins on [min, max] (vectorised).

    The quantile q is read in the bin where the cumulative count reaches the rank 1 + q * (n - 1) (numpy's
    "linear" rule; lerobot reads q * n), interpolating linearly inside that bin: the estimate lies within one bin
    width of the order statistics that numpy interpolates between. Returns (len(QUANTILES), d) float64.
    """
    n, dim = values.shape
    bins = _QUANTILE_BINS
    lo = vmin.astype(np.float64)
    width = vmax.astype(np.float64) - lo
    # a hair under bins / width, so that float32 rounding cannot push the maximum past the last bin
    scale = np.divide(bins * (1 - 1e-4), width, out=np.zeros(dim), where=width > 0)
    work = scratch.get("binpos", (n, dim), np.float32)
    np.subtract(values, lo.astype(np.float32), out=work, casting="unsafe")
    np.multiply(work, scale.astype(np.float32), out=work)
    idx = scratch.get("binidx", (n, dim), np.int32)
    np.copyto(idx, work, casting="unsafe")  # truncation: the bin number
    if values.dtype != np.float32:  # lo rounded to float32 may sit a little off the true min or max
        np.clip(idx, 0, bins - 1, out=idx)
    columns = np.arange(dim, dtype=np.int64)
    idx += (columns * bins).astype(np.int32)
    hist = np.bincount(idx.ravel(), minlength=dim * bins)
    cum = scratch.get("cum", (dim, bins), np.int64)
    np.cumsum(hist.reshape(dim, bins), axis=1, out=cum)
    # one searchsorted for all columns: shifting column c by c * (n + 1) keeps the flat cumulative counts sorted
    shift = columns * (n + 1)
    cum += shift[:, None]
    flat = cum.ravel()
    # (q, 1): the 1-based fractional rank of numpy's "linear" rule, 1 + q * (n - 1), so both paths agree
    target = 1.0 + np.asarray(QUANTILES)[:, None] * (n - 1)
    wanted = np.ceil(target).astype(np.int64) + shift[None, :]  # counts are integers: >= ceil(t) <=> >= t
    pos = np.searchsorted(flat, wanted.ravel(), side="left").reshape(wanted.shape)
    pos = np.clip(pos, columns * bins, columns * bins + bins - 1)
    first = pos == columns * bins
    before = np.where(first, 0, flat[np.maximum(pos - 1, 0)] - shift[None, :])
    in_bin = np.maximum(hist[pos], 1)
    frac = np.clip((target - before) / in_bin, 0.0, 1.0)
    bin_width = np.divide(1.0, scale, out=np.zeros(dim), where=scale > 0)
    return lo + (pos - columns * bins + frac) * bin_width


def _quantiles_from_histogram(hist: np.ndarray) -> np.ndarray:
    """Exact "linear" quantiles of uint8 data given its 256-bin histogram; returns (len(QUANTILES),)."""
    cum = np.cumsum(hist)
    total = int(cum[-1])
    pos = np.asarray(QUANTILES) * (total - 1)
    lo = np.floor(pos)
    hi = np.minimum(lo + 1, total - 1)
    v_lo = np.searchsorted(cum, lo, side="right").astype(np.float64)
    v_hi = np.searchsorted(cum, hi, side="right").astype(np.float64)
    return v_lo + (v_hi - v_lo) * (pos - lo)


def _image_stats(samples: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per-channel stats of sampled frames (k, h, w, 3) uint8, in [0, 1] like lerobot (count = k frames)."""
    k = samples.shape[0]
    pixels = samples.reshape(-1, 3)
    hists = [np.bincount(pixels[:, c], minlength=256)[:256].astype(np.float64) for c in range(3)]
    levels = np.arange(256, dtype=np.float64) / 255.0
    n_pix = pixels.shape[0]
    mean = np.array([(h * levels).sum() / n_pix for h in hists])
    m2_per_pixel = np.array([(h * np.square(levels - m)).sum() / n_pix for h, m in zip(hists, mean, strict=True)])
    vmin = np.array([np.flatnonzero(h)[0] for h in hists], dtype=np.float64) / 255.0
    vmax = np.array([np.flatnonzero(h)[-1] for h in hists], dtype=np.float64) / 255.0
    std = np.sqrt(m2_per_pixel)
    std[vmin == vmax] = 0.0
    quant = np.stack([_quantiles_from_histogram(h) for h in hists], axis=1) / 255.0  # (5, 3)
    stats = {"min": vmin, "max": vmax, "mean": mean, "std": std, "count": np.array([k], dtype=np.int64)}
    for key, row in zip(QUANTILE_KEYS, quant, strict=True):
        stats[key] = row
    # weights are sampled frames (as lerobot's aggregate): m2 in "per frame" units keeps Chan's update exact
    return stats, m2_per_pixel * k


class _RunningStats:
    """Merges per-episode stats: exact min/max/mean/std/count, count-weighted mean of the quantiles."""

    def __init__(self, dim: int):
        self.count = 0
        self.mean = np.zeros(dim)
        self.m2 = np.zeros(dim)
        self.min: np.ndarray | None = None
        self.max: np.ndarray | None = None
        self.qsum = np.zeros((len(QUANTILES), dim))

    def update(self, stats: dict[str, np.ndarray], m2: np.ndarray) -> None:
        n_b = int(stats["count"][0])
        n_a = self.count
        total = n_a + n_b
        delta = stats["mean"] - self.mean
        self.mean = self.mean + delta * (n_b / total)
        self.m2 = self.m2 + m2 + np.square(delta) * (n_a * n_b / total)
        self.count = total
        self.min = stats["min"].copy() if self.min is None else np.minimum(self.min, stats["min"])
        self.max = stats["max"].copy() if self.max is None else np.maximum(self.max, stats["max"])
        for i, key in enumerate(QUANTILE_KEYS):
            self.qsum[i] += np.asarray(stats[key], dtype=np.float64) * n_b

    def result(self) -> dict[str, np.ndarray]:
        std = np.sqrt(np.maximum(self.m2, 0.0) / self.count)
        std[self.min == self.max] = 0.0
        out = {"min": self.min, "max": self.max, "mean": self.mean, "std": std, "count": np.array([self.count])}
        for i, key in enumerate(QUANTILE_KEYS):
            out[key] = np.clip(self.qsum[i] / self.count, self.min, self.max)
        return out


def _stat_to_json(value: np.ndarray, image: bool) -> list:
    arr = np.asarray(value)
    if image:
        arr = arr.reshape(3, 1, 1)
    return arr.tolist()


# --------------------------------------------------------------------------------------------- files


class _RotatingParquet:
    """A ParquetWriter over data/...-style paths; rotates files by size, an episode never spans two files."""

    def __init__(self, root: Path, pattern: str, schema: pa.Schema, max_bytes: float, chunks_size: int, **options):
        self.root = root
        self.pattern = pattern
        self.schema = schema
        self.max_bytes = max_bytes
        self.chunks_size = chunks_size
        self.options = options
        self.chunk_index = 0
        self.file_index = 0
        self.rows_in_file = 0
        self.files_written = 0
        self._sink: pa.NativeFile | None = None
        self._writer: pq.ParquetWriter | None = None

    def place(self, n_rows: int) -> tuple[int, int]:
        """Choose the (chunk_index, file_index) that n_rows more rows go to, rotating first if needed."""
        if self._writer is not None and self.rows_in_file > 0:
            written = self._sink.tell()
            if written + written / self.rows_in_file * n_rows >= self.max_bytes:
                self._close_file()
                self.file_index += 1
                if self.file_index >= self.chunks_size:
                    self.file_index = 0
                    self.chunk_index += 1
        return self.chunk_index, self.file_index

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            path = self.root / self.pattern.format(chunk_index=self.chunk_index, file_index=self.file_index)
            path.parent.mkdir(parents=True, exist_ok=True)
            # a large user-space buffer: fewer, bigger write calls than ParquetWriter's page-sized ones
            self._sink = pa.BufferedOutputStream(pa.OSFile(str(path), "wb"), buffer_size=8 * _MB)
            self._writer = pq.ParquetWriter(self._sink, self.schema, **self.options)
            self.files_written += 1
        self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
        self.rows_in_file += table.num_rows

    def _close_file(self) -> None:
        writer, sink = self._writer, self._sink
        self._writer = self._sink = None
        self.rows_in_file = 0
        try:
            if writer is not None:
                writer.close()
        finally:
            if sink is not None:
                sink.close()

    def close(self) -> None:
        self._close_file()


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=4, ensure_ascii=False, allow_nan=False)
    os.replace(tmp, path)


def _list_array(flat: np.ndarray, width: int, value_type: pa.DataType) -> pa.Array:
    """Rows of `width` values from a flat array, as list<value_type> (variable-size lists, like lerobot's)."""
    rows = len(flat) // width if width else 0
    offsets = pa.array(np.arange(0, rows * width + 1, width, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array(flat, type=value_type))


def _image_stat_array(flat: np.ndarray, value_type: pa.DataType) -> pa.Array:
    """Rows of shape (3, 1, 1) from a flat array of 3 values a row: list<list<list<value>>>."""
    n = len(flat)
    ones = pa.array(np.arange(0, n + 1, dtype=np.int32))
    inner = pa.ListArray.from_arrays(ones, pa.array(flat, type=value_type))
    middle = pa.ListArray.from_arrays(ones, inner)
    return pa.ListArray.from_arrays(pa.array(np.arange(0, n + 1, 3, dtype=np.int32)), middle)


def _sample_indices(n: int) -> np.ndarray:
    """lerobot's sample_indices: about n**0.75 frames (100..10000), evenly spread."""
    min_samples = min(100, n)
    k = max(min_samples, min(int(n**0.75), 10_000))
    return np.round(np.linspace(0, n - 1, k)).astype(int)


def _downsample(frame: np.ndarray) -> np.ndarray:
    """lerobot's auto_downsample_height_width on an (h, w, 3) frame."""
    height, width = frame.shape[:2]
    if max(width, height) < 300:
        return frame
    factor = int(width / 150) if width > height else int(height / 150)
    return frame[::factor, ::factor]


# --------------------------------------------------------------------------------------------- writer


class LeRobotWriter:
    """Streams episodes into a LeRobot v3.0 dataset under ``root``.

    ``features`` are the non-default features, e.g.
    ``{"observation.state": {"dtype": "float32", "shape": [128], "names": [...]},
    "observation.images.camera": {"dtype": "video", "shape": [H, W, 3], "names": ["height", "width", "channels"]}}``;
    the five default features are added by the writer. Video features are those of dtype "video"; ``video_keys``,
    when given, must name exactly them.

    Use as a context manager or call :meth:`finish`; a writer whose ``add_episode`` failed for another reason than
    a rejected input (a ``ValueError`` leaves it untouched) refuses to finish. Write into a fresh directory and
    move it into place afterwards: the writer only writes correctly into ``root``.

    With ``background=True`` the parquet write of an episode runs on a worker thread while its statistics are
    computed and the caller prepares the next one (the arrays are copied first, so the caller may reuse them); an
    error there surfaces as RuntimeError from the next ``add_episode`` or from ``finish``. It only pays with a
    free core: on the 2-core machine shared with other work it was slower than the default inline write.
    """

    def __init__(
        self,
        root: Path,
        *,
        fps: int,
        features: dict[str, dict],
        robot_type: str | None = None,
        data_file_size_mb: float = DEFAULT_DATA_FILE_SIZE_MB,
        chunks_size: int = DEFAULT_CHUNKS_SIZE,
        video_keys: tuple[str, ...] = (),
        video_codec: str = "libx264",
        video_options: Mapping[str, str] | None = None,
        background: bool = False,
    ):
        if isinstance(fps, bool) or not isinstance(fps, int) or fps < 1:
            raise ValueError(f"fps must be a positive int, got {fps!r}")
        if not isinstance(chunks_size, int) or not 1 <= chunks_size <= 1000:
            # lerobot reads the files in sorted path order; file-{:03d} only sorts right below 1000
            raise ValueError(f"chunks_size must be an int in 1..1000, got {chunks_size!r}")
        if not (
            isinstance(data_file_size_mb, int | float) and math.isfinite(data_file_size_mb) and data_file_size_mb > 0
        ):
            raise ValueError(f"data_file_size_mb must be a positive number, got {data_file_size_mb!r}")
        if not isinstance(features, Mapping) or not features:
            raise ValueError("features must be a non-empty mapping of feature name to spec")

        self.root = Path(root)
        if (self.root / "meta").exists() or (self.root / "data").exists() or (self.root / "videos").exists():
            raise FileExistsError(f"{self.root} already holds a dataset")
        self.fps = fps
        self.robot_type = robot_type
        self.chunks_size = chunks_size
        self.data_file_size_mb = int(data_file_size_mb) if float(data_file_size_mb).is_integer() else data_file_size_mb
        self.video_codec = video_codec
        self.video_options = dict(_DEFAULT_VIDEO_OPTIONS if video_options is None else video_options)

        self._features = {key: _Feature(key, spec) for key, spec in features.items()}
        self._vectors = [f for f in self._features.values() if not f.is_video]
        self._videos = [f for f in self._features.values() if f.is_video]
        declared = {f.key for f in self._videos}
        if video_keys and set(video_keys) != declared:
            raise ValueError(
                f"video_keys {sorted(video_keys)} must name exactly the features of dtype 'video': {sorted(declared)}"
            )
        if self._videos:
            try:
                codec = av.codec.Codec(video_codec, "w")
            except Exception as exc:  # av raises its own error types for unknown codecs
                raise ValueError(f"video codec {video_codec!r} is not available for encoding: {exc}") from exc
            self._codec_name = codec.canonical_name if hasattr(codec, "canonical_name") else codec.name
        else:
            self._codec_name = None

        fields = [pa.field(f.key, f.pa_type, nullable=False) for f in self._vectors]
        fields += [
            pa.field("timestamp", pa.float32(), nullable=False),
            pa.field("frame_index", pa.int64(), nullable=False),
            pa.field("episode_index", pa.int64(), nullable=False),
            pa.field("index", pa.int64(), nullable=False),
            pa.field("task_index", pa.int64(), nullable=False),
        ]
        self._data_schema = pa.schema(fields)
        self._episodes_schema = self._make_episodes_schema()
        parquet_options = {
            "compression": "snappy",
            # dictionary pages and min/max statistics only where they pay: not on float vectors
            "use_dictionary": ["episode_index", "task_index"],
            "write_statistics": list(DEFAULT_FEATURES),
        }
        self._data = _RotatingParquet(
            self.root, DATA_PATH, self._data_schema, self.data_file_size_mb * _MB, chunks_size, **parquet_options
        )
        self._episodes = _RotatingParquet(
            self.root,
            EPISODES_PATH,
            self._episodes_schema,
            self.data_file_size_mb * _MB,
            chunks_size,
            compression="snappy",
        )
        self._tasks: dict[str, int] = {}
        self._scratch = _Scratch()
        self._stats = {key: _RunningStats(f.dim) for key, f in self._features.items()}
        self._stats.update({key: _RunningStats(1) for key in DEFAULT_FEATURES})
        self._total_frames = 0
        self._total_episodes = 0
        self._episode_rows: list[dict[str, Any]] = []
        self._video_info: dict[str, dict[str, Any]] = {}
        self._finished: dict | None = None
        self._broken: BaseException | None = None
        self._closed = False
        # The parquet write of episode k runs on one worker thread (Arrow releases the GIL) while the statistics
        # of k and the caller's next episode go on; at most one write is in flight, so memory stays bounded.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lerobot-writer") if background else None
        self._pending: Future | None = None

    # ------------------------------------------------------------------ public API

    @property
    def total_episodes(self) -> int:
        return self._total_episodes

    @property
    def total_frames(self) -> int:
        return self._total_frames

    def __enter__(self) -> LeRobotWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            if self._finished is None:
                self.finish()
        else:
            self.abort()

    def add_episode(
        self,
        *,
        task: str,
        frames: Mapping[str, np.ndarray],
        video_frames: Mapping[str, Iterable[np.ndarray]] | None = None,
    ) -> int:
        """Append one episode and return its episode_index.

        ``frames`` maps every non-video feature to an (n, d) array (or (n,) for d == 1), the same n >= 1 for all;
        ``video_frames`` maps every video feature to an iterable of exactly n (H, W, 3) uint8 RGB frames. Inputs
        that do not fit (missing or extra keys, wrong shapes or lengths, NaN or inf) raise ValueError and leave the
        dataset as it was.
        """
        self._check_open()
        if not isinstance(task, str) or not task.strip():
            raise ValueError(f"task must be a non-empty string, got {task!r}")
        arrays, n = self._validate_frames(frames)
        video_frames = dict(video_frames or {})
        missing = [f.key for f in self._videos if f.key not in video_frames]
        extra = sorted(set(video_frames) - {f.key for f in self._videos})
        if missing or extra:
            raise ValueError(f"video_frames: missing video features {missing}, unexpected keys {extra}")

        episode_index = self._total_episodes
        written_videos: list[Path] = []
        try:
            video_meta: dict[str, Any] = {}
            video_stats: dict[str, tuple[dict[str, np.ndarray], np.ndarray]] = {}
            for feature in self._videos:
                path, meta, stats = self._encode_video(feature, episode_index, n, video_frames[feature.key])
                written_videos.append(path)
                video_meta.update(meta)
                video_stats[feature.key] = stats
        except BaseException:
            for path in written_videos:
                path.unlink(missing_ok=True)
            raise

        task_index = self._tasks.setdefault(task, len(self._tasks))
        start = self._total_frames
        self._total_episodes += 1
        self._total_frames += n
        try:
            self._write_episode(episode_index, start, task, task_index, arrays, n, video_meta, video_stats)
        except BaseException as exc:
            self._broken = self._broken or exc
            raise
        return episode_index

    def _wait_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            try:
                pending.result()
            except BaseException as exc:
                self._broken = self._broken or exc
                raise RuntimeError(f"writing an earlier episode failed: {exc!r}") from exc

    def finish(self) -> dict:
        """Write meta/episodes, stats.json, tasks.parquet and info.json (last); close all files; return info."""
        if self._finished is not None:
            return self._finished
        self._check_open()
        if self._total_episodes == 0:
            raise ValueError("cannot finish a LeRobot dataset without episodes")
        try:
            self._wait_pending()
            self._flush_episode_rows()
            self._episodes.close()
            self._data.close()
            self._write_stats()
            self._write_tasks()
            info = self._info()
            _write_json(self.root / INFO_PATH, info)
        except BaseException as exc:
            self._broken = self._broken or exc
            self._close_files()
            raise
        self._closed = True
        self._finished = info
        self._shutdown()
        return info

    def abort(self) -> None:
        """Close open files without writing metadata (the directory is then not a dataset)."""
        self._closed = True
        pending, self._pending = self._pending, None
        if pending is not None:
            with contextlib.suppress(BaseException):
                pending.result()
        self._close_files()

    def _shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    # ------------------------------------------------------------------ validation

    def _check_open(self) -> None:
        if self._broken is not None:
            raise RuntimeError(f"the writer failed earlier and cannot continue: {self._broken!r}")
        if self._closed:
            raise RuntimeError("the writer is closed")

    def _validate_frames(self, frames: Mapping[str, np.ndarray]) -> tuple[dict[str, tuple[np.ndarray, ...]], int]:
        """Checked (array, column min, column max) per non-video feature, and the frame count."""
        if not isinstance(frames, Mapping):
            raise ValueError("frames must be a mapping of feature name to array")
        expected = {f.key for f in self._vectors}
        video_given = sorted(set(frames) & {f.key for f in self._videos})
        if video_given:
            raise ValueError(f"frames: video features {video_given} go in video_frames")
        missing = sorted(expected - set(frames))
        extra = sorted(set(frames) - expected)
        if missing or extra:
            raise ValueError(f"frames: missing features {missing}, unexpected features {extra}")
        arrays: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        n: int | None = None
        for feature in self._vectors:
            raw = np.asarray(frames[feature.key])
            if raw.ndim == 1 and feature.dim == 1:
                raw = raw.reshape(-1, 1)
            if raw.ndim != 2 or raw.shape[1] != feature.dim:
                raise ValueError(f"feature {feature.key!r}: expected shape (n, {feature.dim}), got {tuple(raw.shape)}")
            if raw.shape[0] < 1:
                raise ValueError(f"feature {feature.key!r}: an episode needs at least one frame")
            if n is None:
                n = raw.shape[0]
            elif raw.shape[0] != n:
                raise ValueError(
                    f"feature {feature.key!r} has {raw.shape[0]} frames, but {self._vectors[0].key!r} has {n}"
                )
            kind = raw.dtype.kind
            if feature.is_float:
                if kind not in "fiub":
                    raise ValueError(f"feature {feature.key!r}: dtype {raw.dtype} is not numeric")
            elif kind not in "iub":
                raise ValueError(f"feature {feature.key!r}: expected integers ({feature.dtype}), got {raw.dtype}")
            # in background mode a private copy: the caller may reuse its buffers while the worker writes this one
            with np.errstate(over="ignore", invalid="ignore"):
                if self._executor is not None:
                    arr = np.array(raw, dtype=feature.np_dtype, order="C", copy=True)
                else:
                    arr = np.ascontiguousarray(raw, dtype=feature.np_dtype)
            vmin = arr.min(axis=0)
            vmax = arr.max(axis=0)  # NaN propagates into min/max: the full scan only runs on a bad input
            if feature.is_float and not (np.isfinite(vmin).all() and np.isfinite(vmax).all()):
                row, col = np.argwhere(~np.isfinite(arr))[0]
                value = float(raw[row, col])
                what = repr(value) if not math.isfinite(value) else f"{value!r} (overflows {feature.dtype})"
                raise ValueError(
                    f"feature {feature.key!r}: non-finite value {what} at frame {int(row)}, "
                    f"dimension {int(col)}" + (f" ({feature.names[col]!r})" if feature.names else "")
                )
            arrays[feature.key] = (arr, vmin, vmax)
        if n is None:
            # only video features: the episode length comes from the video frames
            raise ValueError("a dataset needs at least one non-video feature to carry the frame count")
        return arrays, n

    # ------------------------------------------------------------------ video

    def _encode_video(
        self, feature: _Feature, episode_index: int, n: int, frames: Iterable[np.ndarray]
    ) -> tuple[Path, dict[str, Any], tuple[dict[str, np.ndarray], np.ndarray]]:
        height, width, _ = feature.shape
        chunk_index, file_index = divmod(episode_index, self.chunks_size)
        rel = VIDEO_PATH.format(video_key=feature.key, chunk_index=chunk_index, file_index=file_index)
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        wanted = set(_sample_indices(n).tolist())
        samples: list[np.ndarray] = []
        count = 0
        container = av.open(str(path), mode="w")
        try:
            stream = container.add_stream(self.video_codec, rate=self.fps, options=dict(self.video_options))
            stream.width = width
            stream.height = height
            stream.pix_fmt = "yuv420p"
            stream.codec_context.time_base = Fraction(1, self.fps)
            for frame in frames:
                if count >= n:
                    raise ValueError(f"video feature {feature.key!r}: more than {n} frames")
                arr = np.asarray(frame)
                if arr.shape != (height, width, 3) or arr.dtype != np.uint8:
                    raise ValueError(
                        f"video feature {feature.key!r}: frame {count} must be uint8 of shape {(height, width, 3)}, "
                        f"got {arr.dtype} {tuple(arr.shape)}"
                    )
                video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")
                video_frame.pts = count
                video_frame.time_base = Fraction(1, self.fps)
                for packet in stream.encode(video_frame):
                    container.mux(packet)
                if count in wanted:
                    samples.append(np.array(_downsample(arr)))
                count += 1
            if count != n:
                raise ValueError(f"video feature {feature.key!r}: {count} frames for an episode of {n} frames")
            for packet in stream.encode(None):
                container.mux(packet)
            pix_fmt = stream.pix_fmt or "yuv420p"
        except BaseException:
            container.close()
            path.unlink(missing_ok=True)
            raise
        container.close()
        if feature.key not in self._video_info:
            self._video_info[feature.key] = {
                "video.height": height,
                "video.width": width,
                "video.codec": self._codec_name,
                "video.pix_fmt": pix_fmt,
                "video.is_depth_map": False,
                "video.fps": self.fps,
                "video.channels": 3,
                "has_audio": False,
            }
        prefix = f"videos/{feature.key}"
        meta = {
            f"{prefix}/chunk_index": chunk_index,
            f"{prefix}/file_index": file_index,
            f"{prefix}/from_timestamp": 0.0,
            f"{prefix}/to_timestamp": n / self.fps,
        }
        return path, meta, _image_stats(np.stack(samples))

    # ------------------------------------------------------------------ episode writing

    def _write_episode(
        self,
        episode_index: int,
        start: int,
        task: str,
        task_index: int,
        arrays: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
        n: int,
        video_meta: dict[str, Any],
        video_stats: dict[str, tuple[dict[str, np.ndarray], np.ndarray]],
    ) -> None:
        """Stats, the frame rows (written on the worker thread when in background) and the episode row."""
        frame_index = np.arange(n, dtype=np.int64)
        defaults = {
            "timestamp": (frame_index / self.fps).astype(np.float32),
            "frame_index": frame_index,
            "episode_index": np.full(n, episode_index, dtype=np.int64),
            "index": np.arange(start, start + n, dtype=np.int64),
            "task_index": np.full(n, task_index, dtype=np.int64),
        }

        columns: list[pa.Array] = []
        for feature in self._vectors:
            flat = pa.array(arrays[feature.key][0].reshape(-1), type=feature.pa_type if feature.dim == 1 else None)
            columns.append(flat if feature.dim == 1 else pa.FixedSizeListArray.from_arrays(flat, feature.dim))
        columns += [pa.array(defaults[key]) for key in DEFAULT_FEATURES]
        table = pa.Table.from_arrays(columns, schema=self._data_schema)

        episode_stats: dict[str, tuple[dict[str, np.ndarray], np.ndarray]] = {}
        for feature in self._vectors:
            values, vmin, vmax = arrays[feature.key]
            episode_stats[feature.key] = _episode_stats(values, self._scratch, vmin, vmax)
        episode_stats.update(video_stats)
        episode_stats.update(_default_feature_stats(n, start, episode_index, task_index, defaults["timestamp"]))

        for key, (stats, m2) in episode_stats.items():
            self._stats[key].update(stats, m2)

        # the file an episode goes to depends on the bytes already written: the previous write must be done
        self._wait_pending()
        chunk_index, file_index = self._data.place(n)
        if self._executor is None:
            self._data.write(table)
        else:
            self._pending = self._executor.submit(self._data.write, table)

        row: dict[str, Any] = {
            "episode_index": episode_index,
            "tasks": [task],
            "length": n,
            "data/chunk_index": chunk_index,
            "data/file_index": file_index,
            "dataset_from_index": start,
            "dataset_to_index": start + n,
            **video_meta,
            "stats": {key: stats for key, (stats, _m2) in episode_stats.items()},
        }
        self._episode_rows.append(row)
        if len(self._episode_rows) >= _EPISODE_META_BUFFER:
            self._flush_episode_rows()

    def _stat_columns(self) -> list[tuple[str, str, pa.DataType, bool]]:
        """(feature, stat, arrow type of the list values, is image) for every stats/<feature>/<stat> column."""
        out = []
        specs = [(f.key, f.np_dtype, f.is_video) for f in self._features.values()]
        specs += [(key, np.dtype(spec["dtype"]), False) for key, spec in DEFAULT_FEATURES.items()]
        for key, np_dtype, image in specs:
            for stat in STAT_KEYS:
                integer_extreme = stat in ("min", "max") and not image and np_dtype.kind in "iu"
                value_type = pa.int64() if stat == "count" or integer_extreme else pa.float64()
                out.append((key, stat, value_type, image))
        return out

    def _make_episodes_schema(self) -> pa.Schema:
        fields = [
            pa.field("episode_index", pa.int64()),
            pa.field("tasks", pa.list_(pa.string())),
            pa.field("length", pa.int64()),
            pa.field("data/chunk_index", pa.int64()),
            pa.field("data/file_index", pa.int64()),
            pa.field("dataset_from_index", pa.int64()),
            pa.field("dataset_to_index", pa.int64()),
        ]
        for feature in self._videos:
            prefix = f"videos/{feature.key}"
            fields += [
                pa.field(f"{prefix}/chunk_index", pa.int64()),
                pa.field(f"{prefix}/file_index", pa.int64()),
                pa.field(f"{prefix}/from_timestamp", pa.float64()),
                pa.field(f"{prefix}/to_timestamp", pa.float64()),
            ]
        for key, stat, value_type, image in self._stat_columns():
            arrow_type = pa.list_(value_type)
            if image and stat != "count":
                arrow_type = pa.list_(pa.list_(pa.list_(value_type)))
            fields.append(pa.field(f"stats/{key}/{stat}", arrow_type))
        fields += [pa.field("meta/episodes/chunk_index", pa.int64()), pa.field("meta/episodes/file_index", pa.int64())]
        return pa.schema(fields)

    def _flush_episode_rows(self) -> None:
        rows = self._episode_rows
        if not rows:
            return
        chunk_index, file_index = self._episodes.place(len(rows))
        columns: dict[str, pa.Array] = {}
        for name in self._episodes_schema.names:
            if name.startswith("stats/") or name.startswith("meta/episodes/"):
                continue
            columns[name] = pa.array([row[name] for row in rows], type=self._episodes_schema.field(name).type)
        for key, stat, value_type, image in self._stat_columns():
            flat = np.concatenate([np.asarray(row["stats"][key][stat]).reshape(-1) for row in rows])
            flat = flat.astype(np.int64 if value_type == pa.int64() else np.float64)
            width = 1 if stat == "count" else len(flat) // len(rows)
            if image and stat != "count":
                columns[f"stats/{key}/{stat}"] = _image_stat_array(flat, value_type)
            else:
                columns[f"stats/{key}/{stat}"] = _list_array(flat, width, value_type)
        columns["meta/episodes/chunk_index"] = pa.array(np.full(len(rows), chunk_index, dtype=np.int64))
        columns["meta/episodes/file_index"] = pa.array(np.full(len(rows), file_index, dtype=np.int64))
        table = pa.Table.from_arrays(
            [columns[name] for name in self._episodes_schema.names], schema=self._episodes_schema
        )
        self._episodes.write(table)
        self._episode_rows = []

    # ------------------------------------------------------------------ metadata

    def _write_stats(self) -> None:
        out: dict[str, dict[str, Any]] = {}
        image_keys = {f.key for f in self._videos}
        int_keys = {f.key for f in self._vectors if f.np_dtype.kind in "iu"}
        int_keys |= {key for key, spec in DEFAULT_FEATURES.items() if spec["dtype"].startswith("int")}
        for key, running in self._stats.items():
            result = running.result()
            entry: dict[str, Any] = {}
            for stat in STAT_KEYS:
                value = np.asarray(result[stat])
                if stat == "count" or (stat in ("min", "max") and key in int_keys):
                    value = value.astype(np.int64)
                else:
                    value = value.astype(np.float64)
                entry[stat] = _stat_to_json(value, image=key in image_keys and stat != "count")
            out[key] = entry
        _write_json(self.root / STATS_PATH, out)

    def _write_tasks(self) -> None:
        texts = sorted(self._tasks, key=self._tasks.__getitem__)
        pandas_meta = {
            "index_columns": ["task"],
            "column_indexes": [
                {
                    "name": None,
                    "field_name": None,
                    "pandas_type": "unicode",
                    "numpy_type": "object",
                    "metadata": {"encoding": "UTF-8"},
                }
            ],
            "columns": [
                {
                    "name": "task_index",
                    "field_name": "task_index",
                    "pandas_type": "int64",
                    "numpy_type": "int64",
                    "metadata": None,
                },
                {
                    "name": "task",
                    "field_name": "task",
                    "pandas_type": "unicode",
                    "numpy_type": "object",
                    "metadata": None,
                },
            ],
            "creator": {"library": "pyarrow", "version": pa.__version__},
            "pandas_version": "2.2.3",
        }
        schema = pa.schema(
            [pa.field("task_index", pa.int64()), pa.field("task", pa.string())],
            metadata={b"pandas": json.dumps(pandas_meta).encode()},
        )
        table = pa.Table.from_arrays(
            [pa.array([self._tasks[t] for t in texts], type=pa.int64()), pa.array(texts, type=pa.string())],
            schema=schema,
        )
        path = self.root / TASKS_PATH
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)

    def _info(self) -> dict[str, Any]:
        features: dict[str, Any] = {}
        for feature in self._features.values():
            entry = feature.info()
            if feature.is_video:
                entry["info"] = dict(self._video_info[feature.key])
            features[feature.key] = entry
        for key, spec in DEFAULT_FEATURES.items():
            features[key] = {"dtype": spec["dtype"], "shape": list(spec["shape"]), "names": spec["names"]}
        return {
            "codebase_version": CODEBASE_VERSION,
            "robot_type": self.robot_type,
            "total_episodes": self._total_episodes,
            "total_frames": self._total_frames,
            "total_tasks": len(self._tasks),
            "chunks_size": self.chunks_size,
            "data_files_size_in_mb": self.data_file_size_mb,
            "video_files_size_in_mb": DEFAULT_VIDEO_FILE_SIZE_MB,
            "fps": self.fps,
            "splits": {"train": f"0:{self._total_episodes}"},
            "data_path": DATA_PATH,
            "video_path": VIDEO_PATH if self._videos else None,
            "features": features,
        }

    def _close_files(self) -> None:
        for rotating in (self._data, self._episodes):
            with contextlib.suppress(Exception):  # best effort while already failing
                rotating.close()
        self._shutdown()


def read_dataset_summary(root: Path) -> dict[str, Any]:
    """info.json plus, per episode, its index, length, tasks and frame range (read from meta/episodes)."""
    root = Path(root)
    with open(root / INFO_PATH, encoding="utf-8") as fh:
        info = json.load(fh)
    episodes: list[dict[str, Any]] = []
    columns = ["episode_index", "length", "tasks", "dataset_from_index", "dataset_to_index"]
    for path in sorted((root / "meta" / "episodes").glob("*/*.parquet")):
        episodes.extend(pq.read_table(path, columns=columns).to_pylist())
    tasks = pq.read_table(root / TASKS_PATH).to_pydict()
    return {
        "info": info,
        "tasks": dict(zip(tasks["task_index"], tasks["task"], strict=True)),
        "episodes": episodes,
        "episode_lengths": [ep["length"] for ep in episodes],
    }
