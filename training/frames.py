"""Frame batches: parsing (JSON or the compact binary body), validation and the stored layout.

Pure numpy, no Django. A frame is a timestamp plus, per hand (left, right), 21 landmarks (x, y, z),
a presence flag, the handedness score and the detection confidence. Stored per frame as
`FRAME_VALUES` float32 values:

    [left:  63 landmark coordinates (x0, y0, z0, x1, ...), present, score, confidence,
     right: 63 landmark coordinates, present, score, confidence]            = 132 float32

Timestamps are float64 seconds from the episode's start. An absent hand is all zeros (present 0).

Binary body (`Content-Type: application/vnd.pap.frames`), little-endian:

    offset 0   4 bytes  magic b"PAPF"
           4   u8       version (1)
           5   u8       flags (0)
           6   u16      reserved (0)
           8   u32      frame count n
          12   n × f64  timestamps
    12 + 8n    n × 132 × f32 values in the layout above
"""

import contextlib
import gc
import math
import struct
from dataclasses import dataclass

import numpy as np

HANDS = ("left", "right")
LANDMARKS = 21
HAND_VALUES = LANDMARKS * 3 + 3
FRAME_VALUES = 2 * HAND_VALUES
PRESENT, SCORE, CONFIDENCE = LANDMARKS * 3, LANDMARKS * 3 + 1, LANDMARKS * 3 + 2

BINARY_CONTENT_TYPE = "application/vnd.pap.frames"
BINARY_MAGIC = b"PAPF"
BINARY_HEADER = struct.Struct("<4sBBHI")

# Normalised image coordinates may leave [0, 1] a little when a hand is partly out of the picture.
XY_RANGE = (-1.0, 2.0)
Z_RANGE = (-2.0, 2.0)
MAX_TIMESTAMP = 24 * 3600.0


class FrameError(ValueError):
    """A batch that cannot be stored; `field` says where (e.g. "frames[3].hands.left.landmarks")."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass
class FrameBatch:
    timestamps: np.ndarray  # (n,) float64
    values: np.ndarray  # (n, FRAME_VALUES) float32

    def __len__(self) -> int:
        return len(self.timestamps)

    @property
    def landmarks(self) -> np.ndarray:
        """(n, 2, 21, 3) float32 view: [:, 0] left, [:, 1] right."""
        hands = self.values.reshape(len(self), 2, HAND_VALUES)
        return hands[:, :, : LANDMARKS * 3].reshape(len(self), 2, LANDMARKS, 3)

    @property
    def present(self) -> np.ndarray:
        """(n, 2) bool."""
        return self.values.reshape(len(self), 2, HAND_VALUES)[:, :, PRESENT] > 0.5

    @property
    def confidence(self) -> np.ndarray:
        """(n, 2) float32 (0 where absent)."""
        return self.values.reshape(len(self), 2, HAND_VALUES)[:, :, CONFIDENCE]

    def summary(self) -> dict:
        """Counts the session statistics are kept from."""
        present = self.present
        return {
            "frames": len(self),
            "hands_present_frames": int(present.any(axis=1).sum()),
            "confidence_sum": float(self.confidence[present].sum()),
            "confidence_count": int(present.sum()),
            "last_timestamp": float(self.timestamps[-1]) if len(self) else None,
        }

    def pack(self) -> tuple[bytes, bytes]:
        """(timestamps, values) as stored in a FrameChunk."""
        return (np.ascontiguousarray(self.timestamps, dtype="<f8").tobytes(),
                np.ascontiguousarray(self.values, dtype="<f4").tobytes())

    @classmethod
    def unpack(cls, timestamps: bytes, values: bytes) -> "FrameBatch":
        t = np.frombuffer(bytes(timestamps), dtype="<f8")
        v = np.frombuffer(bytes(values), dtype="<f4").reshape(len(t), FRAME_VALUES)
        return cls(t, v)

    @classmethod
    def concatenate(cls, batches: list["FrameBatch"]) -> "FrameBatch":
        if not batches:
            return cls(np.zeros(0, dtype=np.float64), np.zeros((0, FRAME_VALUES), dtype=np.float32))
        return cls(np.concatenate([b.timestamps for b in batches]), np.concatenate([b.values for b in batches]))

    def to_json(self) -> list[dict]:
        """Frames in the API's JSON shape (for reading back; rounding is the caller's)."""
        frames = []
        landmarks, present = self.landmarks, self.present
        hands = self.values.reshape(len(self), 2, HAND_VALUES)
        for i in range(len(self)):
            frame = {"t": float(self.timestamps[i]), "hands": {}}
            for h, hand in enumerate(HANDS):
                frame["hands"][hand] = {
                    "landmarks": landmarks[i, h].tolist(),
                    "score": float(hands[i, h, SCORE]),
                    "confidence": float(hands[i, h, CONFIDENCE]),
                } if present[i, h] else None
            frames.append(frame)
        return frames


@contextlib.contextmanager
def collector_paused():
    """Parsing a JSON batch allocates some 10^5 lists and floats; each few hundred allocations start
    Python's cyclic garbage collector over the whole heap (measured: 100–200 ms of pauses in a
    30 ms parse). The parsed data holds no cycles and reference counting frees it, so the collector
    waits until the batch is parsed."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def batch_from_hands(timestamps, hands: list[dict]) -> FrameBatch:
    """A batch from detector output: per frame {"left": {"landmarks", "score", "confidence"} | None, "right": ...}."""
    n = len(hands)
    values = np.zeros((n, 2, HAND_VALUES), dtype=np.float32)
    for i, frame in enumerate(hands):
        for h, hand in enumerate(HANDS):
            seen = frame.get(hand)
            if seen:
                values[i, h, : LANDMARKS * 3] = np.asarray(seen["landmarks"], dtype=np.float32).reshape(-1)
                values[i, h, PRESENT] = 1.0
                values[i, h, SCORE] = seen.get("score", 1.0)
                values[i, h, CONFIDENCE] = seen.get("confidence", seen.get("score", 1.0))
    batch = FrameBatch(np.asarray(timestamps, dtype=np.float64), values.reshape(n, FRAME_VALUES))
    validate(batch)
    return batch


def _number(value, field: str, low: float = 0.0, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FrameError(field, "must be a number.")
    if not math.isfinite(value) or not low <= value <= high:
        raise FrameError(field, f"must be a finite number between {low:g} and {high:g}.")
    return float(value)


def _hand_problem(landmarks) -> str | None:
    if not isinstance(landmarks, list):
        return "must be a list of 21 [x, y, z] triples."
    if len(landmarks) != LANDMARKS:
        return f"must have {LANDMARKS} landmarks, got {len(landmarks)}."
    for k, point in enumerate(landmarks):
        if not isinstance(point, list) or len(point) != 3:
            return f"landmark {k} must be an [x, y, z] triple."
        if any(isinstance(c, bool) or not isinstance(c, (int, float)) for c in point):
            return f"landmark {k} must hold numbers."
    return None


_FRAME_KEYS = frozenset({"t", "hands"})
_HAND_KEYS = frozenset(HANDS)
_SEEN_KEYS = frozenset({"landmarks", "score", "confidence"})
_NUMBER_TYPES = (int, float)


def _numbers(values: list, where, low: float, high: float) -> np.ndarray:
    """float64 array of JSON numbers within [low, high]; FrameError at the first one that is not."""
    if all(type(v) in _NUMBER_TYPES for v in values):  # bool is not int here: `type`, not isinstance
        array = np.asarray(values, dtype=np.float64)
        bad = ~(np.isfinite(array) & (array >= low) & (array <= high))
        if not bad.any():
            return array
        k = int(np.argmax(bad))
    else:
        k = next(k for k, v in enumerate(values) if type(v) not in _NUMBER_TYPES)
    _number(values[k], where(k), low, high)  # raises with the precise message
    raise FrameError(where(k), f"must be a finite number between {low:g} and {high:g}.")


def parse_json_frames(frames, *, max_frames: int) -> FrameBatch:
    """A validated batch from the API's JSON `frames` list; FrameError names the first problem.

    Structure is checked frame by frame, numbers column by column (numpy), so a 1,000-frame batch
    costs milliseconds."""
    if not isinstance(frames, list):
        raise FrameError("frames", "must be a list of frames.")
    if not frames:
        raise FrameError("frames", "must hold at least one frame.")
    if len(frames) > max_frames:
        raise FrameError("frames", f"at most {max_frames} frames per batch, got {len(frames)}.")
    n = len(frames)
    times, scores, confidences, coordinates, rows, hand_index = [], [], [], [], [], []
    for i, frame in enumerate(frames):
        if type(frame) is not dict:
            raise FrameError(f"frames[{i}]", "must be an object with t and hands.")
        if not frame.keys() <= _FRAME_KEYS:
            extra = sorted(map(str, set(frame) - _FRAME_KEYS))
            raise FrameError(f"frames[{i}]", f"unknown field(s): {', '.join(extra)}.")
        times.append(frame.get("t"))
        hands = frame.get("hands")
        if type(hands) is not dict or not hands.keys() <= _HAND_KEYS:
            raise FrameError(f"frames[{i}].hands", 'must be an object with "left" and/or "right".')
        for h, hand in enumerate(HANDS):
            seen = hands.get(hand)
            if seen is None:
                continue
            if type(seen) is not dict or not seen.keys() <= _SEEN_KEYS:
                raise FrameError(f"frames[{i}].hands.{hand}",
                                 "must be null or an object with landmarks, score and confidence.")
            score = seen.get("score", 1.0)
            scores.append(score)
            confidences.append(seen.get("confidence", score))
            coordinates.append(seen.get("landmarks"))
            rows.append(i)
            hand_index.append(h)
    timestamps = _numbers(times, lambda k: f"frames[{k}].t", 0.0, MAX_TIMESTAMP)
    values = np.zeros((n, 2, HAND_VALUES), dtype=np.float32)
    if coordinates:
        def place(k: int, what: str = "") -> str:
            return f"frames[{rows[k]}].hands.{HANDS[hand_index[k]]}{what}"

        values[rows, hand_index, PRESENT] = 1.0
        values[rows, hand_index, SCORE] = _numbers(scores, lambda k: place(k, ".score"), 0.0, 1.0)
        values[rows, hand_index, CONFIDENCE] = _numbers(confidences, lambda k: place(k, ".confidence"), 0.0, 1.0)
        try:
            block = np.asarray(coordinates)
        except (ValueError, TypeError):
            block = None
        if block is None or block.shape != (len(coordinates), LANDMARKS, 3) or block.dtype.kind not in "fi":
            for k, landmarks in enumerate(coordinates):
                problem = _hand_problem(landmarks)
                if problem:
                    raise FrameError(place(k, ".landmarks"), problem)
            raise FrameError("frames", "landmarks must be lists of 21 [x, y, z] numbers.")
        block = block.astype(np.float64, copy=False)
        _check_coordinates(block, lambda k: place(k, ".landmarks"))
        values[rows, hand_index, : LANDMARKS * 3] = block.reshape(len(coordinates), -1)
    batch = FrameBatch(timestamps, values.reshape(n, FRAME_VALUES))
    _check_timestamps(batch.timestamps)
    return batch


def _check_coordinates(block: np.ndarray, where) -> None:
    """block: (k, 21, 3); `where(k)` names hand k for the error."""
    finite = np.isfinite(block).all(axis=(1, 2))
    if not finite.all():
        raise FrameError(where(int(np.argmin(finite))), "landmarks must be finite numbers (no NaN or infinity).")
    xy_ok = ((block[:, :, :2] >= XY_RANGE[0]) & (block[:, :, :2] <= XY_RANGE[1])).all(axis=(1, 2))
    z_ok = ((block[:, :, 2] >= Z_RANGE[0]) & (block[:, :, 2] <= Z_RANGE[1])).all(axis=1)
    ok = xy_ok & z_ok
    if not ok.all():
        raise FrameError(where(int(np.argmin(ok))),
                         f"x and y must lie in [{XY_RANGE[0]:g}, {XY_RANGE[1]:g}] (normalised image coordinates) "
                         f"and z in [{Z_RANGE[0]:g}, {Z_RANGE[1]:g}].")


def _check_timestamps(timestamps: np.ndarray, after: float | None = None) -> None:
    if not np.isfinite(timestamps).all() or (timestamps < 0).any() or (timestamps > MAX_TIMESTAMP).any():
        bad = int(np.argmax(~np.isfinite(timestamps) | (timestamps < 0) | (timestamps > MAX_TIMESTAMP)))
        raise FrameError(f"frames[{bad}].t", f"must be a finite number of seconds between 0 and {MAX_TIMESTAMP:g}.")
    steps = np.diff(timestamps)
    if (steps <= 0).any():
        bad = int(np.argmax(steps <= 0)) + 1
        raise FrameError(f"frames[{bad}].t", "timestamps must increase strictly from frame to frame.")
    if after is not None and len(timestamps) and timestamps[0] <= after:
        raise FrameError("frames[0].t", f"must be later than the episode's last frame (t={after:g} s).")


def validate(batch: FrameBatch, *, after: float | None = None) -> None:
    """Checks shared by both ways in: values, ranges, flags and timestamps (after the episode's last one)."""
    n = len(batch)
    if batch.values.shape != (n, FRAME_VALUES):
        raise FrameError("frames", f"each frame must have {FRAME_VALUES} values.")
    hands = batch.values.reshape(n, 2, HAND_VALUES)
    if not np.isfinite(hands).all():
        bad = int(np.argmax(~np.isfinite(hands).all(axis=(1, 2))))
        raise FrameError(f"frames[{bad}]", "values must be finite numbers (no NaN or infinity).")
    flags = hands[:, :, PRESENT]
    if not np.isin(flags, (0.0, 1.0)).all():
        bad = int(np.argmax(~np.isin(flags, (0.0, 1.0)).all(axis=1)))
        raise FrameError(f"frames[{bad}]", "the presence flag must be 0 or 1.")
    scores = hands[:, :, SCORE:]
    if ((scores < 0) | (scores > 1)).any():
        bad = int(np.argmax(((scores < 0) | (scores > 1)).any(axis=(1, 2))))
        raise FrameError(f"frames[{bad}]", "score and confidence must lie in [0, 1].")
    present = flags > 0.5
    if present.any():
        rows, hand_index = np.nonzero(present)
        block = hands[rows, hand_index, : LANDMARKS * 3].reshape(-1, LANDMARKS, 3)
        _check_coordinates(block, lambda k: f"frames[{int(rows[k])}].hands.{HANDS[int(hand_index[k])]}.landmarks")
    absent_values = np.abs(hands[:, :, : LANDMARKS * 3]).sum(axis=2)[~present]
    if (absent_values > 0).any():
        raise FrameError("frames", "an absent hand (presence 0) must have all-zero landmarks.")
    _check_timestamps(batch.timestamps, after)


def parse_binary_frames(body: bytes, *, max_frames: int) -> FrameBatch:
    """A validated batch from the compact binary body (layout in the module docstring)."""
    if len(body) < BINARY_HEADER.size:
        raise FrameError("body", f"a binary batch starts with a {BINARY_HEADER.size}-byte header.")
    magic, version, _flags, _reserved, n = BINARY_HEADER.unpack_from(body)
    if magic != BINARY_MAGIC:
        raise FrameError("body", 'the binary batch must start with the magic bytes "PAPF".')
    if version != 1:
        raise FrameError("body", f"unsupported binary batch version {version} (this server reads 1).")
    if n == 0:
        raise FrameError("frames", "must hold at least one frame.")
    if n > max_frames:
        raise FrameError("frames", f"at most {max_frames} frames per batch, got {n}.")
    expected = BINARY_HEADER.size + n * 8 + n * FRAME_VALUES * 4
    if len(body) != expected:
        raise FrameError("body", f"{n} frames need exactly {expected} bytes, got {len(body)}.")
    offset = BINARY_HEADER.size
    timestamps = np.frombuffer(body, dtype="<f8", count=n, offset=offset).astype(np.float64)
    values = np.frombuffer(body, dtype="<f4", count=n * FRAME_VALUES, offset=offset + n * 8)
    batch = FrameBatch(timestamps, values.reshape(n, FRAME_VALUES).astype(np.float32))
    validate(batch)
    return batch


def encode_binary_frames(batch: FrameBatch) -> bytes:
    """The binary body for a batch (for clients, tests and benchmarks)."""
    timestamps, values = batch.pack()
    return BINARY_HEADER.pack(BINARY_MAGIC, 1, 0, 0, len(batch)) + timestamps + values


def check_follows(batch: FrameBatch, last_timestamp: float | None) -> None:
    """A batch appended to an episode must start after the episode's last frame."""
    if last_timestamp is not None and len(batch) and batch.timestamps[0] <= last_timestamp:
        raise FrameError("frames[0].t", f"must be later than the episode's last frame (t={last_timestamp:g} s).")
