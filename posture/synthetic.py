"""Synthetic skeletons with known angles by construction, for tests, demos and benchmarks (never recordings
of people). Pure numpy, no Django.

:func:`standing_skeleton` draws a flat, 2-D figure in the image plane: the trunk and head as seen from the
side (a forward lean moves towards `facing`), the shoulder and hip lines as seen from the front (the
person's left on the image's right). Physically no camera sees both at once; the point is that every
posture measure and joint angle of :mod:`posture.geometry` reads back exactly the angle it was built with.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from .geometry import KEYPOINT_INDEX, MEDIAPIPE_LANDMARKS, MEDIAPIPE_TO_COCO17, NUM_KEYPOINTS

# Body proportions as fractions of the torso length (shoulder midpoint → hip midpoint).
NECK = 0.35          # ear midpoint → shoulder midpoint
EAR_SPAN = 0.3
EYE_SPAN = 0.2
SHOULDER_SPAN = 0.8
HIP_SPAN = 0.55
UPPER_ARM = 0.6
FOREARM = 0.55
THIGH = 0.9
SHIN = 0.9


def _unit(angle_deg: float, facing: int) -> np.ndarray:
    """Unit vector `angle_deg` from the downward vertical, turned towards `facing` (+1 image right)."""
    a = math.radians(angle_deg)
    return np.array([facing * math.sin(a), math.cos(a)])


def _rotated(v: np.ndarray, angle_deg: float) -> np.ndarray:
    a = math.radians(angle_deg)
    return np.array([v[0] * math.cos(a) - v[1] * math.sin(a), v[0] * math.sin(a) + v[1] * math.cos(a)])


def _away(v: np.ndarray, angle_deg: float, outward: float) -> np.ndarray:
    """`v` (normalised) turned by `angle_deg`, in whichever sense ends further along x = `outward`."""
    v = v / np.linalg.norm(v)
    turned = (_rotated(v, angle_deg), _rotated(v, -angle_deg))
    return max(turned, key=lambda u: u[0] * outward)


def standing_skeleton(width: int = 640, height: int = 480, *, neck_forward_deg: float = 0.0,
                      torso_lean_deg: float = 0.0, shoulder_tilt_deg: float = 0.0, hip_tilt_deg: float = 0.0,
                      elbow_deg: float = 180.0, knee_deg: float = 180.0, shoulder_deg: float | None = None,
                      hip_deg: float | None = None, facing: int = 1, torso_px: float | None = None,
                      center: tuple[float, float] | None = None, score: float = 1.0,
                      unseen: Iterable[str] = ()) -> np.ndarray:
    """(17, 3) COCO-17 keypoints ``[x, y, score]`` in pixels of a standing figure whose angles are exact.

    * `torso_lean_deg`: the shoulder midpoint → hip midpoint line from vertical, shoulders moved towards
      `facing` (+1: image right, -1: image left).
    * `neck_forward_deg`: the ear midpoint → shoulder midpoint line from vertical (absolute, not relative
      to the torso), ears moved towards `facing`. The nose sits straight below the ear midpoint.
    * `shoulder_tilt_deg`, `hip_tilt_deg`: the left–right line from horizontal; positive = the person's
      left side lower (larger y).
    * `elbow_deg`, `knee_deg`: the joint angle on both sides (180 = straight).
    * `shoulder_deg` (elbow–shoulder–hip) and `hip_deg` (shoulder–hip–knee), both sides: None lets the
      arms hang and the legs stand vertically; a number turns the limb away from the body by that angle.
    * The torso is `torso_px` long (default a quarter of `height`), the hip midpoint at `center`
      (default the middle of the image). Every point gets `score`, except the names in `unseen`,
      which get 0.
    """
    torso = torso_px if torso_px is not None else 0.25 * height
    hip_mid = np.array(center if center is not None else (0.5 * width, 0.5 * height), dtype=np.float64)
    # Torso from the hips up: shoulder_mid → hip_mid then points `torso_lean_deg` from the downward vertical.
    shoulder_mid = hip_mid - torso * _unit(torso_lean_deg, -facing)
    ear_mid = shoulder_mid - torso * NECK * _unit(neck_forward_deg, -facing)

    points: dict[str, np.ndarray] = {}
    for pair, mid, span, tilt in (("shoulder", shoulder_mid, SHOULDER_SPAN, shoulder_tilt_deg),
                                  ("hip", hip_mid, HIP_SPAN, hip_tilt_deg)):
        half = 0.5 * span * torso * np.array([math.cos(math.radians(tilt)), math.sin(math.radians(tilt))])
        points[f"left_{pair}"], points[f"right_{pair}"] = mid + half, mid - half
    ear_half = np.array([0.5 * EAR_SPAN * torso, 0.0])
    eye_half = np.array([0.5 * EYE_SPAN * torso, 0.0])
    points["left_ear"], points["right_ear"] = ear_mid + ear_half, ear_mid - ear_half
    points["left_eye"] = ear_mid + eye_half - [0.0, 0.05 * torso]
    points["right_eye"] = ear_mid - eye_half - [0.0, 0.05 * torso]
    points["nose"] = ear_mid + [0.0, 0.05 * torso]

    for side, outward in (("left", 1.0), ("right", -1.0)):
        shoulder, hip = points[f"{side}_shoulder"], points[f"{side}_hip"]
        arm = np.array([0.0, 1.0]) if shoulder_deg is None else _away(hip - shoulder, shoulder_deg, outward)
        elbow = shoulder + UPPER_ARM * torso * arm
        # Bending turns the forearm and shin by (180 - angle) from straight on; towards the body's midline.
        forearm = _away(arm, 180.0 - elbow_deg, -outward)
        leg = np.array([0.0, 1.0]) if hip_deg is None else _away(shoulder - hip, hip_deg, outward)
        knee = hip + THIGH * torso * leg
        shin = _away(leg, 180.0 - knee_deg, -outward)
        points[f"{side}_elbow"], points[f"{side}_wrist"] = elbow, elbow + FOREARM * torso * forearm
        points[f"{side}_knee"], points[f"{side}_ankle"] = knee, knee + SHIN * torso * shin

    kp = np.zeros((NUM_KEYPOINTS, 3))
    for name, xy in points.items():
        kp[KEYPOINT_INDEX[name]] = (xy[0], xy[1], score)
    for name in unseen:
        kp[KEYPOINT_INDEX[name], 2] = 0.0
    return kp


def mediapipe_landmarks(kp: np.ndarray, width: int, height: int, *, filler: float = 0.5,
                        seed: int | None = 0) -> np.ndarray:
    """(33, 4) MediaPipe Pose landmarks ``[x_norm, y_norm, z, visibility]`` holding the COCO-17 `kp` (pixels)
    at their MediaPipe indices (score → visibility, z = 0). The 16 other landmarks are random points with
    visibility `filler`, so a mapping that reads the wrong rows is caught."""
    rng = np.random.default_rng(seed)
    landmarks = np.column_stack([rng.uniform(0, 1, (MEDIAPIPE_LANDMARKS, 2)),
                                 rng.uniform(-0.5, 0.5, MEDIAPIPE_LANDMARKS),
                                 np.full(MEDIAPIPE_LANDMARKS, filler)])
    rows = list(MEDIAPIPE_TO_COCO17)
    landmarks[rows, 0] = kp[:, 0] / width
    landmarks[rows, 1] = kp[:, 1] / height
    landmarks[rows, 2] = 0.0
    landmarks[rows, 3] = kp[:, 2]
    return landmarks
