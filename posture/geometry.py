"""Pose geometry: one skeleton vocabulary, joint angles, angle features and the posture score.

A pure module: numpy only, no Django, so it can be unit-tested and benchmarked alone.

Skeleton vocabulary
-------------------
Every pose model is mapped into COCO-17 (order and names in :data:`KEYPOINT_NAMES`). A skeleton is a
``(17, 3)`` float array of ``[x, y, score]``: x and y in PIXELS of the image (x to the right, y down), score
in 0..1. A keypoint whose score is below :data:`MIN_SCORE` (or whose x, y or score is not finite) counts as
not seen: nothing is measured from it, and nothing is invented in its place. "Left" and "right" are the
person's own sides, as both COCO and MediaPipe Pose label them (in a frontal, unmirrored picture the
person's left shoulder is on the image's right). :func:`from_mediapipe`, :func:`from_coco_wholebody` and
:func:`from_coco17` give that array from each model's output; :data:`BONES` are the pairs to draw.

Angles
------
All angles are measured in the image plane, in degrees.

* ``joint_angle(kp, a, b, c)``: the angle at ``b`` between ``b→a`` and ``b→c``, 0..180 (180 = straight).
* ``segment_inclination(kp, a, b)``: the angle between ``a→b`` and the downward vertical, 0..180: 0 when b
  is straight below a (a standing torso, shoulder → hip), 90 when level, 180 when b is straight above a
  (a headstand). Not folded to 0..90 on purpose: the yoga classifier must tell standing from inverted.
* ``angle_features(kp_batch)``: per skeleton, :data:`ANGLE_FEATURE_NAMES` — the 8 :data:`JOINT_ANGLES`, the
  torso inclination (shoulder midpoint → hip midpoint) and the two leg inclinations (hip → ankle of the
  same side) — as float32, with :data:`UNSEEN_FEATURE` (-1, outside every angle's range) where a point
  involved is not seen.

A midpoint ("shoulder midpoint", "ear midpoint", ...) is the mean of the pair's SEEN points: in a side view
the far shoulder, hip or ear is hidden, and the near one alone is the best estimate of the body's line.

Posture score
-------------
``posture_score_from_keypoints(kp)`` needs at least one shoulder and one hip seen, or both shoulders
(an upper-body picture, e.g. a webcam at a desk), else :class:`NoPersonDetected`. It measures, with
T = torso length (distance shoulder midpoint → hip midpoint; without hips, 1.25 × the shoulder width,
and then torso_inclination and hip_tilt are not measured):

====================  =============================================================  =========  =======  ====
measure (issue code)  definition                                                     tolerance  slope    cap
====================  =============================================================  =========  =======  ====
head_forward          |x(ear midpoint) − x(shoulder midpoint)| / T; the nose stands   0.15 T     100 / T  20
                      in for the ears when no ear is seen
neck_inclination      inclination of ear midpoint → shoulder midpoint (needs an ear)  10°        2 / °    30
torso_inclination     inclination of shoulder midpoint → hip midpoint                5°         2 / °    30
shoulder_tilt         angle of the left–right shoulder line from horizontal, 0..90    3°         3 / °    15
hip_tilt              angle of the left–right hip line from horizontal, 0..90         3°         3 / °    15
====================  =============================================================  =========  =======  ====

For each measure ``v`` that could be taken::

    penalty(v) = min(cap, slope × max(0, v − tolerance))
    score      = clamp(100 − Σ penalty, 0, 100)

and every measure with a positive penalty is reported as an issue ``{"code", "message", "value",
"penalty"}`` (largest penalty first). The caps add up to 110, so a bad enough posture reaches 0.

Two choices that differ from the obvious ones, and why:

* head_forward is a fraction of the TORSO LENGTH, not of the shoulder width: forward head posture is seen
  from the side, where the two shoulders overlap and the shoulder width tends to 0 (the ratio would explode
  on a few pixels of noise). The torso length is about the same from the front and from the side.
* shoulder_tilt and hip_tilt need both points seen AND the two points at least
  :data:`MIN_SPAN_FRACTION` × T apart; closer than that the person is seen from the side and the line's
  angle is noise, so the measure is skipped (None), not guessed.

A measure that cannot be taken is None in ``measures`` and adds no penalty; no measure is ever NaN.
The measures are 2-D: neck and torso inclination and head_forward describe forward lean in a side view
(in a frontal view they catch sideways lean instead); the tilts are meaningful in a frontal view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

# --- vocabulary ------------------------------------------------------------------------------------
KEYPOINT_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
    "right_knee", "left_ankle", "right_ankle",
)
NUM_KEYPOINTS = len(KEYPOINT_NAMES)
KEYPOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(KEYPOINT_NAMES)}

MIN_SCORE = 0.3

_BONE_NAMES = (
    ("left_ankle", "left_knee"), ("left_knee", "left_hip"), ("right_ankle", "right_knee"),
    ("right_knee", "right_hip"), ("left_hip", "right_hip"), ("left_shoulder", "left_hip"),
    ("right_shoulder", "right_hip"), ("left_shoulder", "right_shoulder"), ("left_shoulder", "left_elbow"),
    ("right_shoulder", "right_elbow"), ("left_elbow", "left_wrist"), ("right_elbow", "right_wrist"),
    ("left_eye", "right_eye"), ("nose", "left_eye"), ("nose", "right_eye"), ("left_eye", "left_ear"),
    ("right_eye", "right_ear"), ("left_ear", "left_shoulder"), ("right_ear", "right_shoulder"),
)
# Index pairs to draw (COCO's own skeleton, 0-based).
BONES: tuple[tuple[int, int], ...] = tuple((KEYPOINT_INDEX[a], KEYPOINT_INDEX[b]) for a, b in _BONE_NAMES)

# MediaPipe Pose's 33 landmarks that are the COCO-17 points, in COCO order.
MEDIAPIPE_TO_COCO17: tuple[int, ...] = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
MEDIAPIPE_LANDMARKS = 33
COCO_WHOLEBODY_KEYPOINTS = 133

# --- angles ----------------------------------------------------------------------------------------
# The angle at the middle point; the names are the ones yoga pose targets use.
JOINT_ANGLES: dict[str, tuple[str, str, str]] = {
    "left_elbow": ("left_shoulder", "left_elbow", "left_wrist"),
    "right_elbow": ("right_shoulder", "right_elbow", "right_wrist"),
    "left_shoulder": ("left_elbow", "left_shoulder", "left_hip"),
    "right_shoulder": ("right_elbow", "right_shoulder", "right_hip"),
    "left_hip": ("left_shoulder", "left_hip", "left_knee"),
    "right_hip": ("right_shoulder", "right_hip", "right_knee"),
    "left_knee": ("left_hip", "left_knee", "left_ankle"),
    "right_knee": ("right_hip", "right_knee", "right_ankle"),
}
ANGLE_FEATURE_NAMES: tuple[str, ...] = (
    *JOINT_ANGLES, "torso_inclination", "left_leg_inclination", "right_leg_inclination",
)
UNSEEN_FEATURE = -1.0

# --- posture score ---------------------------------------------------------------------------------
MIN_SPAN_FRACTION = 0.2
# Torso length (shoulder midpoint → hip midpoint) per shoulder width, for upper-body pictures.
TORSO_PER_SHOULDER_WIDTH = 1.25


@dataclass(frozen=True)
class PenaltyRule:
    """How one measure costs points: nothing up to `tolerance`, then `slope` per unit, at most `cap`."""

    tolerance: float
    slope: float
    cap: float

    def penalty(self, value: float) -> float:
        """The points this value costs (0 within tolerance)."""
        return min(self.cap, self.slope * max(0.0, value - self.tolerance))


POSTURE_RULES: dict[str, PenaltyRule] = {
    "head_forward": PenaltyRule(tolerance=0.15, slope=100.0, cap=20.0),
    "neck_inclination": PenaltyRule(tolerance=10.0, slope=2.0, cap=30.0),
    "torso_inclination": PenaltyRule(tolerance=5.0, slope=2.0, cap=30.0),
    "shoulder_tilt": PenaltyRule(tolerance=3.0, slope=3.0, cap=15.0),
    "hip_tilt": PenaltyRule(tolerance=3.0, slope=3.0, cap=15.0),
}


class NoPersonDetected(ValueError):
    """Too little of a person is seen to measure a posture (no shoulder or no hip)."""

    def __init__(self, message: str = "No person detected") -> None:
        super().__init__(message)


@dataclass
class PostureResult:
    """A posture score (0–100), its issues (largest penalty first) and every measure (None = not measurable)."""

    score: float
    issues: list[dict] = field(default_factory=list)
    measures: dict[str, float | None] = field(default_factory=dict)


# --- mapping models into the vocabulary ------------------------------------------------------------
def _cleaned(keypoints: np.ndarray) -> np.ndarray:
    """A float64 copy where a point with any non-finite value is unseen (0, 0, 0) and scores are in 0..1."""
    kp = np.array(keypoints, dtype=np.float64)
    broken = ~np.isfinite(kp).all(axis=1)
    kp[broken] = 0.0
    kp[:, 2] = np.clip(kp[:, 2], 0.0, 1.0)
    return kp


def from_coco17(keypoints: np.ndarray) -> np.ndarray:
    """The (17, 3) skeleton of a COCO-17 model's output ``[x, y, score]`` in pixels, validated and cleaned."""
    kp = np.asarray(keypoints)
    if kp.shape != (NUM_KEYPOINTS, 3):
        raise ValueError(f"COCO-17 keypoints must have shape (17, 3), not {kp.shape}.")
    return _cleaned(kp)


def from_coco_wholebody(keypoints133: np.ndarray) -> np.ndarray:
    """The (17, 3) skeleton of a COCO-WholeBody output (133, 3) ``[x, y, score]`` in pixels: its first 17 points
    are COCO-17 (the feet, face and hands that follow are dropped)."""
    kp = np.asarray(keypoints133)
    if kp.shape != (COCO_WHOLEBODY_KEYPOINTS, 3):
        raise ValueError(f"COCO-WholeBody keypoints must have shape (133, 3), not {kp.shape}.")
    return _cleaned(kp[:NUM_KEYPOINTS])


def from_mediapipe(landmarks33: np.ndarray, width: int, height: int) -> np.ndarray:
    """The (17, 3) skeleton, in pixels of a width × height image, of MediaPipe Pose's 33 landmarks
    ``[x_norm, y_norm, z, visibility, ...]`` (x, y normalised to 0..1); the score is the visibility.

    A landmark outside the picture counts as not seen (score 0): MediaPipe extrapolates body parts
    below a portrait's edge with a high visibility, which would be measured as if they were there."""
    lm = np.asarray(landmarks33, dtype=np.float64)
    if lm.ndim != 2 or lm.shape[0] != MEDIAPIPE_LANDMARKS or lm.shape[1] < 4:
        raise ValueError(f"MediaPipe landmarks must have shape (33, 4), not {lm.shape}.")
    if width <= 0 or height <= 0:
        raise ValueError("The image width and height must be positive.")
    picked = lm[list(MEDIAPIPE_TO_COCO17)]
    inside = (picked[:, 0] >= 0) & (picked[:, 0] <= 1) & (picked[:, 1] >= 0) & (picked[:, 1] <= 1)
    score = np.where(inside, picked[:, 3], 0.0)
    return _cleaned(np.stack([picked[:, 0] * width, picked[:, 1] * height, score], axis=1))


# --- vectorised primitives (every public angle goes through these, so batch and single agree) ------
def _index(point: str | int) -> int:
    return KEYPOINT_INDEX[point] if isinstance(point, str) else int(point)


def _seen(kp: np.ndarray) -> np.ndarray:
    """(..., 17) bool: score at least MIN_SCORE and finite coordinates."""
    return (kp[..., 2] >= MIN_SCORE) & np.isfinite(kp[..., 0]) & np.isfinite(kp[..., 1])


def _point(kp: np.ndarray, i: int) -> np.ndarray:
    """(n, 2) coordinates of keypoint i, NaN where it is not seen."""
    return np.where(_seen(kp)[:, i, None], kp[:, i, :2], np.nan)


def _midpoint(kp: np.ndarray, a: int, b: int) -> np.ndarray:
    """(n, 2) mean of the seen points among a and b, NaN where neither is seen."""
    seen = _seen(kp)[:, [a, b], None]
    xy = np.where(seen, kp[:, [a, b], :2], 0.0)
    count = seen.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, xy.sum(axis=1) / count, np.nan)


def _angle_at(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """(n,) angle at b in degrees, NaN where a point is missing or an arm has zero length."""
    u, v = a - b, c - b
    # atan2(|u×v|, u·v) stays accurate near 0° and 180°, where arccos of the cosine loses digits.
    cross = u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]
    dot = (u * v).sum(axis=1)
    angle = np.degrees(np.arctan2(np.abs(cross), dot))
    degenerate = (np.hypot(*u.T) == 0) | (np.hypot(*v.T) == 0)
    return np.where(degenerate, np.nan, angle)


def _inclination(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """(n,) angle of top→bottom from the downward vertical (0..180), NaN where undefined."""
    d = bottom - top
    angle = np.degrees(np.arctan2(np.abs(d[:, 0]), d[:, 1]))
    return np.where(np.hypot(d[:, 0], d[:, 1]) == 0, np.nan, angle)


def _line_tilt(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n,) angle of the line a–b from horizontal, 0..90 (which end is first does not matter)."""
    d = b - a
    return np.degrees(np.arctan2(np.abs(d[:, 1]), np.abs(d[:, 0])))


def _batch(kp: np.ndarray) -> np.ndarray:
    kp = np.asarray(kp, dtype=np.float64)
    if kp.shape != (NUM_KEYPOINTS, 3):
        raise ValueError(f"Keypoints must have shape (17, 3), not {kp.shape}.")
    return kp[None]


def _maybe(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


# --- angles ----------------------------------------------------------------------------------------
def joint_angle(kp: np.ndarray, a: str | int, b: str | int, c: str | int) -> float | None:
    """The angle at `b` (degrees, 0..180) between b→a and b→c, or None if any of the three is not seen."""
    batch = _batch(kp)
    ia, ib, ic = _index(a), _index(b), _index(c)
    return _maybe(_angle_at(_point(batch, ia), _point(batch, ib), _point(batch, ic))[0])


def joint_angles(kp: np.ndarray) -> dict[str, float | None]:
    """Every :data:`JOINT_ANGLES` angle by name (degrees), None where a point involved is not seen."""
    return {name: joint_angle(kp, *points) for name, points in JOINT_ANGLES.items()}


def segment_inclination(kp: np.ndarray, a: str | int, b: str | int) -> float | None:
    """The angle of a→b from the downward vertical (degrees, 0 = b straight below a, 180 = straight above),
    or None if either is not seen."""
    batch = _batch(kp)
    return _maybe(_inclination(_point(batch, _index(a)), _point(batch, _index(b)))[0])


def angle_features(kp_batch: np.ndarray) -> np.ndarray:
    """(n, 11) float32 features in :data:`ANGLE_FEATURE_NAMES` order (degrees), :data:`UNSEEN_FEATURE`
    where a point involved is not seen."""
    kp = np.asarray(kp_batch, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[1:] != (NUM_KEYPOINTS, 3):
        raise ValueError(f"A keypoint batch must have shape (n, 17, 3), not {kp.shape}.")
    columns = [
        _angle_at(*(_point(kp, KEYPOINT_INDEX[p]) for p in points)) for points in JOINT_ANGLES.values()
    ]
    i = KEYPOINT_INDEX
    shoulders = _midpoint(kp, i["left_shoulder"], i["right_shoulder"])
    hips = _midpoint(kp, i["left_hip"], i["right_hip"])
    columns.append(_inclination(shoulders, hips))
    for side in ("left", "right"):
        columns.append(_inclination(_point(kp, i[f"{side}_hip"]), _point(kp, i[f"{side}_ankle"])))
    features = np.stack(columns, axis=1) if kp.shape[0] else np.zeros((0, len(ANGLE_FEATURE_NAMES)))
    return np.where(np.isnan(features), UNSEEN_FEATURE, features).astype(np.float32)


# --- posture score ---------------------------------------------------------------------------------
def _lower_side(kp: np.ndarray, left: str, right: str) -> str:
    # y grows downwards: the larger y is the lower point.
    return "Left" if kp[0, KEYPOINT_INDEX[left], 1] > kp[0, KEYPOINT_INDEX[right], 1] else "Right"


def _messages(kp: np.ndarray, measures: dict[str, float | None]) -> dict[str, str]:
    text = {}
    if measures["head_forward"] is not None:
        text["head_forward"] = (f"Head sits {measures['head_forward']:.0%} of the torso length off the line of "
                                f"the shoulders (up to {POSTURE_RULES['head_forward'].tolerance:.0%} is fine).")
    for code, part in (("neck_inclination", "Neck"), ("torso_inclination", "Torso")):
        if measures[code] is not None:
            text[code] = (f"{part} leans {measures[code]:.0f}° from vertical "
                          f"(up to {POSTURE_RULES[code].tolerance:.0f}° is fine).")
    for code, pair in (("shoulder_tilt", "shoulder"), ("hip_tilt", "hip")):
        if measures[code] is not None:
            lower = _lower_side(kp, f"left_{pair}", f"right_{pair}")
            other = "right" if lower == "Left" else "left"
            text[code] = (f"{lower} {pair} sits lower than the {other}: the {pair} line is tilted "
                          f"{measures[code]:.0f}° (up to {POSTURE_RULES[code].tolerance:.0f}° is fine).")
    return text


def posture_measures(kp: np.ndarray) -> dict[str, float | None]:
    """The five posture measures of the module docstring by name, None where the points are not seen.

    Raises NoPersonDetected when no shoulder is seen, or no hip and not both shoulders (or the torso has no
    length)."""
    batch = _batch(kp)
    i = KEYPOINT_INDEX
    seen = _seen(batch)[0]
    if not (seen[i["left_shoulder"]] or seen[i["right_shoulder"]]):
        raise NoPersonDetected()
    shoulders = _midpoint(batch, i["left_shoulder"], i["right_shoulder"])
    hips_seen = bool(seen[i["left_hip"]] or seen[i["right_hip"]])
    if hips_seen:
        hips = _midpoint(batch, i["left_hip"], i["right_hip"])
        torso = float(np.hypot(*(hips - shoulders)[0]))
    elif seen[i["left_shoulder"]] and seen[i["right_shoulder"]]:
        # An upper-body picture (a webcam at a desk): the torso length is estimated from the shoulder
        # width (TORSO_PER_SHOULDER_WIDTH), and what needs the hips is not measured.
        hips = None
        torso = TORSO_PER_SHOULDER_WIDTH * float(np.hypot(*(_point(batch, i["right_shoulder"])
                                                            - _point(batch, i["left_shoulder"]))[0]))
    else:
        raise NoPersonDetected()
    # Under a pixel there is no body to measure against, only coincident detections.
    if not torso >= 1.0:
        raise NoPersonDetected()

    ears = _midpoint(batch, i["left_ear"], i["right_ear"])
    head = ears if not np.isnan(ears).any() else _point(batch, i["nose"])
    measures: dict[str, float | None] = {
        "head_forward": _maybe(abs(head[0, 0] - shoulders[0, 0]) / torso),
        "neck_inclination": _maybe(_inclination(ears, shoulders)[0]),
        "torso_inclination": _maybe(_inclination(shoulders, hips)[0]) if hips is not None else None,
    }
    for code, pair in (("shoulder_tilt", "shoulder"), ("hip_tilt", "hip")):
        a, b = _point(batch, i[f"left_{pair}"]), _point(batch, i[f"right_{pair}"])
        span = float(np.hypot(*(b - a)[0]))
        measures[code] = _maybe(_line_tilt(a, b)[0]) if span >= MIN_SPAN_FRACTION * torso else None
    return measures


def posture_score_from_keypoints(kp: np.ndarray) -> PostureResult:
    """The posture score (0–100) of one (17, 3) skeleton, with an issue for each measure past its tolerance;
    the formula and its constants are in the module docstring.

    Raises NoPersonDetected when there is not enough of a person to measure (see posture_measures)."""
    measures = posture_measures(kp)
    messages = _messages(_batch(kp), measures)
    issues = []
    for code, rule in POSTURE_RULES.items():
        value = measures[code]
        if value is None:
            continue
        penalty = rule.penalty(value)
        if penalty > 0:
            issues.append({"code": code, "message": messages[code], "value": value, "penalty": penalty})
    issues.sort(key=lambda issue: -issue["penalty"])
    score = min(100.0, max(0.0, 100.0 - sum(issue["penalty"] for issue in issues)))
    return PostureResult(score=score, issues=issues, measures=measures)
