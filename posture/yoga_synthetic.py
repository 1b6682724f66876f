"""Synthetic yoga skeletons drawn from the catalogue's target angles: training data for the pose classifier and
fixtures for tests. Pure numpy, no Django, never recordings of people.

A skeleton is built as a flat kinematic chain in the image plane, so every joint angle of
:mod:`posture.geometry` reads back exactly the angle it was built with (before the optional noise):

1. the torso: hip midpoint → shoulder midpoint at the pose's ``torso_inclination`` (leaning towards +x), the
   shoulder and hip lines across it (full width in a frontal view, a small random fraction in a side view,
   where the far side hides behind the near one);
2. each limb from its root: the upper arm turned from the shoulder → hip line by the shoulder angle, the
   forearm turned from elbow → shoulder by the elbow angle; the thigh turned from hip → shoulder by the hip
   angle, the shin from knee → hip by the knee angle. Angles are unsigned, so :data:`LAYOUTS` says which way
   each one turns (counter-clockwise = +1, y up) and whether the pose is drawn from the front or the side;
3. the head along the torso line.

Noise, each switchable off (all off = the exact targets): every target angle jittered uniformly within
±``jitter`` × its tolerance; random body proportions, size and position; a camera roll and a yaw (the image
squeezed horizontally by up to cos(yaw), which bends the measured angles a little, as a turned camera
does); Gaussian keypoint noise; and each keypoint dropped (score < 0.3) with probability ``dropout``.

Asymmetric poses are drawn on their left side (the catalogue's convention); the right side is the mirror
image: x flipped and every left/right keypoint label swapped. Side-view poses face left or right at random.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .geometry import JOINT_ANGLES, KEYPOINT_INDEX, KEYPOINT_NAMES, MIN_SCORE, NUM_KEYPOINTS
from .yoga_data import POSES

FRONT, SIDE = "front", "side"

# Per pose: the view and the turning direction of each joint on the LEFT-side version of the pose, for a
# person facing the camera (front: the person's left on the image's right) or facing image-right (side).
# Worked out once per pose from its shape, e.g. Warrior II from the front: the left (front) thigh turns
# clockwise from "up" to point out to +x (hip -1), the left shin turns back down (+1); the right (back)
# thigh turns counter-clockwise to point out to -x (+1).
_FRONT_ARMS = {"left_shoulder": 1, "right_shoulder": -1, "left_elbow": -1, "right_elbow": 1}
_FRONT_LEGS = {"left_hip": -1, "right_hip": 1, "left_knee": 1, "right_knee": -1}
_SIDE_ARMS_FORWARD = {"left_shoulder": 1, "right_shoulder": 1, "left_elbow": 1, "right_elbow": 1}
_SIDE_LEGS_FORWARD = {"left_hip": -1, "right_hip": -1, "left_knee": 1, "right_knee": 1}

LAYOUTS: dict[str, dict] = {
    "chair": {"view": SIDE, "turns": {**_SIDE_ARMS_FORWARD, **_SIDE_LEGS_FORWARD}},
    "mountain": {"view": FRONT, "turns": {**_FRONT_ARMS, **_FRONT_LEGS}},
    "tree": {"view": FRONT, "turns": {**_FRONT_ARMS, **_FRONT_LEGS}},
    "downward-dog": {"view": SIDE, "turns": {**_SIDE_ARMS_FORWARD, **_SIDE_LEGS_FORWARD}},
    "goddess": {"view": FRONT, "turns": {**_FRONT_ARMS, **_FRONT_LEGS}},
    # Standing on the right leg (in front of the torso line), the left thigh lifted behind (+1), the left
    # arm reaching back to the foot (-1), the right arm reaching forward and up.
    "lord-of-the-dance": {"view": SIDE, "turns": {**_SIDE_ARMS_FORWARD, **_SIDE_LEGS_FORWARD,
                                                  "left_shoulder": -1, "left_hip": 1}},
    # Left leg in front, right thigh reaching back (+1) with the shin along the floor.
    "low-lunge": {"view": SIDE, "turns": {**_SIDE_ARMS_FORWARD, **_SIDE_LEGS_FORWARD, "right_hip": 1}},
    # Seen from the front, the body tipped to the person's left (+x) onto the left hand.
    "side-plank": {"view": FRONT, "turns": {**_FRONT_ARMS, **_FRONT_LEGS}},
    # Seated, legs forward; the straight arms slightly behind the torso to the floor (-1).
    "staff": {"view": SIDE, "turns": {**_SIDE_ARMS_FORWARD, **_SIDE_LEGS_FORWARD,
                                      "left_shoulder": -1, "right_shoulder": -1}},
    "t-pose": {"view": FRONT, "turns": {**_FRONT_ARMS, **_FRONT_LEGS}},
    "warrior-ii": {"view": FRONT, "turns": {**_FRONT_ARMS, **_FRONT_LEGS}},
}

_POSES_BY_SLUG: dict[str, dict] = {pose["slug"]: pose for pose in POSES}
_SWAP = np.array([KEYPOINT_INDEX[name.replace("left_", "#").replace("right_", "left_").replace("#", "right_")]
                  for name in KEYPOINT_NAMES])

# Body proportions, as ranges of fractions of the torso length (shoulder midpoint → hip midpoint).
_PROPORTIONS = {
    "upper_arm": (0.50, 0.65), "forearm": (0.45, 0.60), "thigh": (0.80, 0.95), "shin": (0.80, 0.95),
    "shoulder_half": (0.32, 0.42), "hip_half": (0.20, 0.27), "neck": (0.38, 0.48),
}


def _rotate(v: np.ndarray, degrees: np.ndarray) -> np.ndarray:
    """(n, 2) vectors turned counter-clockwise (y up) by (n,) degrees."""
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    return np.stack([c * v[:, 0] - s * v[:, 1], s * v[:, 0] + c * v[:, 1]], axis=1)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _slug_of(pose) -> str:
    slug = getattr(pose, "slug", pose)
    if slug not in LAYOUTS:
        raise KeyError(f"No synthetic layout for pose {pose!r}.")
    return slug


def synthetic_poses(pose, side: str | None, rng: np.random.Generator, n: int, *, jitter: float = 1.5,
                    keypoint_noise: float = 0.015, dropout: float = 0.03, roll_deg: float = 6.0,
                    yaw_deg: float = 20.0, proportions: bool = True,
                    angles: Mapping[str, float] | None = None) -> np.ndarray:
    """(n, 17, 3) COCO-17 skeletons ``[x, y, score]`` in pixels of `pose` (a catalogue slug, or anything with
    a ``slug``) on `side` ("left"/"right"; ignored for a symmetric pose), noisy as the module docstring says.

    `angles` overrides target angles by name (degrees, on the drawn side's own joint names, before jitter):
    how a test bends one knee away from the pose. With ``jitter=0, keypoint_noise=0, dropout=0, roll_deg=0,
    yaw_deg=0`` every joint angle and the torso inclination read back exactly as the targets.
    """
    slug = _slug_of(pose)
    layout, targets = LAYOUTS[slug], _POSES_BY_SLUG[slug]["targets"]
    mirrored = side == "right" and _POSES_BY_SLUG[slug]["side_refers_to"] is not None
    overrides = dict(angles or {})
    if mirrored:  # the caller names the right side's joints; they are drawn as the left version's twins
        overrides = {_twin(name): value for name, value in overrides.items()}

    def angle(name: str) -> np.ndarray:
        target, tolerance = targets[name][0], targets[name][1]
        base = overrides.get(name, target)
        return base + rng.uniform(-jitter, jitter, n) * tolerance if jitter else np.full(n, float(base))

    def proportion(name: str) -> np.ndarray:
        low, high = _PROPORTIONS[name]
        return rng.uniform(low, high, n) if proportions else np.full(n, 0.5 * (low + high))

    # 1. Torso (y up, hip midpoint at the origin, torso length 1).
    inclination = np.radians(angle("torso_inclination"))
    up = np.stack([np.sin(inclination), np.cos(inclination)], axis=1)  # hip midpoint → shoulder midpoint
    across = _rotate(up, np.full(n, -90.0))  # the person's left in a frontal view; "forward" in a side view
    if layout["view"] == FRONT:
        width = rng.uniform(0.85, 1.0, n) if proportions else np.ones(n)
    else:
        width = rng.uniform(0.05, 0.3, n) * rng.choice([-1.0, 1.0], n) if proportions else np.full(n, 0.15)
    points = np.zeros((n, NUM_KEYPOINTS, 2))
    shoulder_mid, hip_mid = up, np.zeros((n, 2))
    for sign, prefix in ((1.0, "left"), (-1.0, "right")):
        offset = (sign * width)[:, None] * across
        points[:, KEYPOINT_INDEX[f"{prefix}_shoulder"]] = shoulder_mid + proportion("shoulder_half")[:, None] * offset
        points[:, KEYPOINT_INDEX[f"{prefix}_hip"]] = hip_mid + proportion("hip_half")[:, None] * offset

    # 2. Limbs.
    turns = layout["turns"]
    for prefix in ("left", "right"):
        shoulder = points[:, KEYPOINT_INDEX[f"{prefix}_shoulder"]]
        hip = points[:, KEYPOINT_INDEX[f"{prefix}_hip"]]
        arm = _rotate(_unit(hip - shoulder), turns[f"{prefix}_shoulder"] * angle(f"{prefix}_shoulder"))
        elbow = shoulder + proportion("upper_arm")[:, None] * arm
        forearm = _rotate(-arm, turns[f"{prefix}_elbow"] * angle(f"{prefix}_elbow"))
        thigh = _rotate(_unit(shoulder - hip), turns[f"{prefix}_hip"] * angle(f"{prefix}_hip"))
        knee = hip + proportion("thigh")[:, None] * thigh
        shin = _rotate(-thigh, turns[f"{prefix}_knee"] * angle(f"{prefix}_knee"))
        points[:, KEYPOINT_INDEX[f"{prefix}_elbow"]] = elbow
        points[:, KEYPOINT_INDEX[f"{prefix}_wrist"]] = elbow + proportion("forearm")[:, None] * forearm
        points[:, KEYPOINT_INDEX[f"{prefix}_knee"]] = knee
        points[:, KEYPOINT_INDEX[f"{prefix}_ankle"]] = knee + proportion("shin")[:, None] * shin

    # 3. Head along the torso line.
    head = shoulder_mid + proportion("neck")[:, None] * up
    face = 0.08 if layout["view"] == FRONT else 0.02
    points[:, KEYPOINT_INDEX["nose"]] = head + (0.0 if layout["view"] == FRONT else 0.1) * across
    for sign, prefix in ((1.0, "left"), (-1.0, "right")):
        points[:, KEYPOINT_INDEX[f"{prefix}_eye"]] = head + 0.06 * up + sign * face * across
        ear_shift = 2 * sign * face * across if layout["view"] == FRONT else -0.08 * across
        points[:, KEYPOINT_INDEX[f"{prefix}_ear"]] = head + 0.02 * up + ear_shift

    # Mirror the right side of an asymmetric pose: flip x and swap the labels.
    if mirrored:
        points[..., 0] *= -1.0
        points = points[:, _SWAP]
    # A side view faces either way.
    if layout["view"] == SIDE and proportions:
        points[..., 0] *= rng.choice([-1.0, 1.0], n)[:, None]
    # Camera: yaw squeezes x, roll turns the picture.
    if yaw_deg:
        points[..., 0] *= np.cos(np.radians(rng.uniform(0.0, yaw_deg, n)))[:, None]
    if roll_deg:
        roll = np.radians(rng.uniform(-roll_deg, roll_deg, n))[:, None]
        c, s = np.cos(roll), np.sin(roll)
        points = np.stack([c * points[..., 0] - s * points[..., 1], s * points[..., 0] + c * points[..., 1]], axis=-1)

    # To pixels (y down): torso 70–160 px, hip midpoint somewhere near the middle of a 640 × 480 picture.
    torso_px = rng.uniform(70.0, 160.0, n) if proportions else np.full(n, 110.0)
    centre = (np.stack([rng.uniform(260.0, 380.0, n), rng.uniform(200.0, 300.0, n)], axis=1)
              if proportions else np.tile([320.0, 250.0], (n, 1)))
    xy = np.empty_like(points)
    xy[..., 0] = centre[:, None, 0] + torso_px[:, None] * points[..., 0]
    xy[..., 1] = centre[:, None, 1] - torso_px[:, None] * points[..., 1]
    if keypoint_noise:
        xy += rng.normal(0.0, keypoint_noise, xy.shape) * torso_px[:, None, None]

    scores = rng.uniform(0.6, 1.0, (n, NUM_KEYPOINTS)) if proportions else np.ones((n, NUM_KEYPOINTS))
    if dropout:
        dropped = rng.random((n, NUM_KEYPOINTS)) < dropout
        scores = np.where(dropped, rng.uniform(0.0, 0.95 * MIN_SCORE, (n, NUM_KEYPOINTS)), scores)
    return np.concatenate([xy, scores[..., None]], axis=2)


def synthetic_pose(pose, side: str | None = None, rng: np.random.Generator | None = None, **options) -> np.ndarray:
    """One (17, 3) skeleton of `pose` on `side`; `options` as for :func:`synthetic_poses`."""
    return synthetic_poses(pose, side, rng if rng is not None else np.random.default_rng(0), 1, **options)[0]


def exact_pose(pose, side: str | None = None, angles: Mapping[str, float] | None = None) -> np.ndarray:
    """One noiseless (17, 3) skeleton whose joint angles and torso inclination are exactly the pose's targets
    (or `angles`, which override them by name)."""
    return synthetic_pose(pose, side, np.random.default_rng(0), jitter=0.0, keypoint_noise=0.0, dropout=0.0,
                          roll_deg=0.0, yaw_deg=0.0, proportions=False, angles=angles)


def _twin(name: str) -> str:
    if name.startswith("left_"):
        return "right_" + name[5:]
    if name.startswith("right_"):
        return "left_" + name[6:]
    return name


if set(LAYOUTS) != set(_POSES_BY_SLUG) or any(set(layout["turns"]) != set(JOINT_ANGLES) for layout in LAYOUTS.values()):
    raise RuntimeError("Every catalogue pose needs a layout that turns each of the 8 joints.")
