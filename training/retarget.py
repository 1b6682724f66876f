"""Finger joint angles from MediaPipe Hands landmarks, and their mapping onto a robot hand's joints.

Pure numpy, no Django; every function takes a stack of frames at once ((n, 21, 3), or one (21, 3) hand).

Coordinates are MediaPipe's: x to the right of the image, y down, z away from the camera; x and y are
divided by the picture's width and height, z is in roughly the scale of x. For a picture that is not
square pass aspect = height / width, which brings y into x's unit; without it every angle is measured
on a hand stretched as if the picture were square. Only directions between landmarks are used, so no
angle depends on where the hand is or how large it appears; the finger angles do not depend on the
hand's orientation either, and the wrist angles are that orientation.

Handedness. The landmarks are measured as a right hand seen in an unmirrored camera image (as
training/hands.py stores them). A left hand is mirrored (x negated) first, so both hands read with the
same signs; a hand from a mirrored (selfie) image has the other handedness's geometry.

Palm frame, per frame:
    n  palmar normal: (index_mcp - wrist) × (pinky_mcp - wrist), unit; points out of the palm
    f  forward: wrist → middle_mcp, projected onto the palm plane, unit (towards the fingers)
    r  radial: f × n, in the palm plane, towards the thumb side
(r, f, n) is a right-handed frame that moves with the palm.

Angles, in radians, in ANGLE_NAMES order:
    <finger>_mcp_flexion   the proximal phalanx's angle past its metacarpal in the palm's (f, n) plane;
                           positive towards the palm, negative is hyperextension. Flexion is taken
                           first and abduction from what is left, so both stay defined in a fist.
    <finger>_pip/dip_flexion, thumb_mcp/ip_flexion
                           angle between consecutive bones; positive when the joint bends towards the
                           palm (for the thumb: towards the palm or across it), negative when it
                           hyperextends.
    <finger>_abduction     sideways tilt of the proximal phalanx out of the palm's (f, n) plane, i.e.
                           relative to the middle finger's metacarpal, so fingers held together and
                           parallel read 0. Positive spreads the finger away from the middle finger
                           (index: towards the thumb; ring, little: away from the thumb; the middle
                           finger itself: towards the thumb).
    thumb_cmc_abduction    the thumb metacarpal's elevation out of the palm plane, positive to the palm
                           side (0: thumb in the plane of the palm).
    thumb_cmc_flexion      the thumb metacarpal's direction within the palm plane, measured from the
                           index metacarpal; positive across the palm (towards the little finger), so a
                           thumb lying alongside the index reads 0 and a thumb spread out is negative.
    wrist_flexion, wrist_deviation, wrist_roll
                           the palm frame relative to the camera; all three are 0 for a hand held up
                           with its fingers to the top of the image and the palm facing the camera
                           (the forearm is assumed to hang straight down the image). Euler angles,
                           applied in the order roll (about f, the forearm's axis), flexion (about r),
                           deviation (about n). wrist_flexion > 0 tips the fingers towards the palm
                           side (towards the camera from that pose); wrist_deviation > 0 turns the
                           fingers towards the thumb (radial); wrist_roll > 0 turns the palm towards
                           the thumb side (pronation).

Degenerate frames (all zeros, coincident or collinear points, non-finite values) give finite angles,
never NaN: an undefined direction counts as zero and reads as 0. Hands whose back faces the camera read
wrist_roll near ±π.
"""

import math
import re
from dataclasses import dataclass

import numpy as np

from robots.catalogue import DEXTEROUS_HAND_JOINTS, DEXTEROUS_HAND_SLUG

LANDMARK_NAMES: tuple[str, ...] = (
    "wrist",
    "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip",
    "index_mcp", "index_pip", "index_dip", "index_tip",
    "middle_mcp", "middle_pip", "middle_dip", "middle_tip",
    "ring_mcp", "ring_pip", "ring_dip", "ring_tip",
    "pinky_mcp", "pinky_pip", "pinky_dip", "pinky_tip",
)
FINGERS = ("index", "middle", "ring", "little")

ANGLE_NAMES: tuple[str, ...] = (
    "thumb_cmc_flexion", "thumb_cmc_abduction", "thumb_mcp_flexion", "thumb_ip_flexion",
    *(f"{finger}_{joint}_flexion" for finger in FINGERS for joint in ("mcp", "pip", "dip")),
    *(f"{finger}_abduction" for finger in FINGERS),
    "wrist_flexion", "wrist_deviation", "wrist_roll",
)
ANGLE_INDEX = {name: i for i, name in enumerate(ANGLE_NAMES)}

# The first landmark of each chain from the wrist: the thumb, then index, middle, ring and little finger.
_CHAIN_STARTS = np.array([1, 5, 9, 13, 17])
# Index and middle spread towards the thumb (+r), ring and little away from it.
_ABDUCTION_SIGN = np.array([1.0, 1.0, -1.0, -1.0], dtype=np.float32)
# Below this length a direction is undefined; landmarks are ~0.01..1, so it only catches degenerate input.
_TINY = 1e-12
# A frame with a coordinate beyond this (or NaN) holds no hand; it also keeps float32 products from overflowing.
_MAX_COORDINATE = 1e6
_BLOCK_FRAMES = 8192
# atan(t) = t * P(t²) on [0, 1] within 2e-8, highest power first (Abramowitz & Stegun 4.4.49).
_ATAN_POLYNOMIAL = (0.0028662257, -0.0161657367, 0.0429096138, -0.0752896400, 0.1065626393, -0.1420889944,
                    0.1999355085, -0.3333314528, 1.0)

# Columns of ANGLE_NAMES: each finger's mcp, pip, dip flexion; the abductions; the wrist.
_MCP_FLEXION, _PIP_FLEXION, _DIP_FLEXION = slice(4, 16, 3), slice(5, 16, 3), slice(6, 16, 3)
_ABDUCTION = slice(16, 20)
_WRIST = slice(20, 23)


# Vectors below are arrays whose first axis holds the x, y, z components and whose last axis runs over
# frames, so every operation works on long contiguous rows (numpy is several times slower over many
# short strided 3-vectors).
def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.stack((a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]))


def _unit(v: np.ndarray) -> np.ndarray:
    """v / |v|; a vector shorter than _TINY has no direction and shrinks towards 0 instead."""
    return v / np.maximum(np.sqrt(_dot(v, v)), _TINY)


# numpy's arctan2, np.where and masked (where=) operations are not vectorised and took most of the time of
# 100,000 frames; the two functions below use plain arithmetic instead.
def _atan2(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """atan2(y, x) within 1e-6 rad; ±0 where y and x are both 0 (an angle between undefined directions)."""
    ax, ay = np.abs(x), np.abs(y)
    t = np.minimum(ax, ay) / np.maximum(np.maximum(ax, ay), 1e-30)
    s = t * t
    angle = np.full_like(s, _ATAN_POLYNOMIAL[0])
    for coefficient in _ATAN_POLYNOMIAL[1:]:
        angle *= s
        angle += coefficient
    angle *= t  # atan(t) for t in [0, 1]; unfolded to the circle:
    angle += (ay > ax) * (np.pi / 2 - 2 * angle)
    angle += (x < 0) * (np.pi - 2 * angle)
    return np.copysign(angle, y)


def _hinge_angle(proximal: np.ndarray, distal: np.ndarray, flexion_axis: np.ndarray) -> np.ndarray:
    """Angle between two bones, negative when they bend against `flexion_axis` (hyperextension)."""
    normal = _cross(proximal, distal)
    # atan2(|a × b|, a · b) keeps full precision near 0 and 180° where acos does not, and needs no unit vectors.
    angle = _atan2(np.sqrt(_dot(normal, normal)), _dot(proximal, distal))
    return np.copysign(angle, _dot(normal, flexion_axis))


def _as_frames(landmarks, hand: str, aspect: float) -> tuple[np.ndarray, bool]:
    """(n, 21, 3) float32 landmarks, and whether a single (21, 3) hand came."""
    if hand not in ("left", "right"):
        raise ValueError(f'hand must be "left" or "right", not {hand!r}.')
    try:
        usable = 0 < float(aspect) < math.inf
    except (TypeError, ValueError):
        usable = False
    if not usable:
        raise ValueError(f"aspect must be a positive number (the picture's height / width), not {aspect!r}.")
    points = np.asarray(landmarks, dtype=np.float32)
    single = points.ndim == 2
    if single:
        points = points[None]
    if points.ndim != 3 or points.shape[1:] != (len(LANDMARK_NAMES), 3):
        raise ValueError(f"landmarks must be (n, 21, 3) or (21, 3), not {np.shape(landmarks)}.")
    return points, single


def finger_angles(landmarks: np.ndarray, *, hand: str = "right", aspect: float = 1.0) -> np.ndarray:
    """(n, len(ANGLE_NAMES)) float32 radians for (n, 21, 3) landmarks, or (len(ANGLE_NAMES),) for one (21, 3) hand.

    `hand` says whose landmarks they are ("right" or "left", as seen in an unmirrored image), `aspect`
    the picture's height / width; the conventions are in this module's docstring. A frame with a
    non-finite coordinate (or one beyond ±1e6) reads as all zeros.
    """
    points, single = _as_frames(landmarks, hand, aspect)
    angles, _ = _angles(points, hand=hand, aspect=float(aspect))
    return angles[0] if single else angles


def _angles(points: np.ndarray, *, hand: str, aspect: float) -> tuple[np.ndarray, np.ndarray]:
    """(n, len(ANGLE_NAMES)) float32 angles, and (n,) bool: which frames hold a hand (usable, not all zero)."""
    angles = np.empty((len(points), len(ANGLE_NAMES)), dtype=np.float32)
    seen = np.empty(len(points), dtype=bool)
    # A block of frames at a time keeps the temporaries in the CPU cache (about 1.5x faster than the
    # whole stack at once) and bounds the memory a long recording needs.
    for start in range(0, len(points), _BLOCK_FRAMES):
        block = slice(start, start + _BLOCK_FRAMES)
        xyz = points[block].transpose(2, 1, 0).copy()  # (3, 21, frames), our own to change
        if hand == "left":
            xyz[0] *= -1.0
        if aspect != 1.0:
            xyz[1] *= aspect
        usable = (np.abs(xyz) <= _MAX_COORDINATE).all(axis=(0, 1))
        if not usable.all():
            xyz[:, :, ~usable] = 0.0
        seen[block] = usable & xyz.any(axis=(0, 1))
        angles[block] = _block_angles(xyz).T
    return angles, seen


def _block_angles(xyz: np.ndarray) -> np.ndarray:
    """(len(ANGLE_NAMES), n) float32 for (3, 21, n) right-hand landmarks."""
    n_frames = xyz.shape[-1]
    # Each chain's landmarks are consecutive (1-4 the thumb, 5-8 the index, ...), so differencing them,
    # with the wrist before each chain, gives its bones; k = 0 is the metacarpal, from the wrist.
    bones = np.diff(xyz, axis=1)
    bones[:, _CHAIN_STARTS - 1] = xyz[:, _CHAIN_STARTS] - xyz[:, :1]
    bones = bones.reshape(3, 5, 4, n_frames)  # (3, chain, k, n)
    angles = np.empty((len(ANGLE_NAMES), n_frames), dtype=np.float32)

    index_metacarpal, middle_metacarpal, pinky_metacarpal = bones[:, 1, 0], bones[:, 2, 0], bones[:, 4, 0]
    normal = _unit(_cross(index_metacarpal, pinky_metacarpal))
    forward = _unit(middle_metacarpal - _dot(middle_metacarpal, normal) * normal)
    radial = _cross(forward, normal)

    # Thumb. The metacarpal (cmc → mcp) in the palm's frame, measured from the index metacarpal.
    thumb = bones[:, 0]
    along = _unit(index_metacarpal)  # already in the palm plane: the normal is perpendicular to it
    across = _cross(normal, along)  # in the palm plane, towards the little finger
    metacarpal = thumb[:, 1]
    in_plane = _dot(metacarpal, along), _dot(metacarpal, across)
    angles[0] = _atan2(in_plane[1], in_plane[0])
    angles[1] = _atan2(_dot(metacarpal, normal), np.sqrt(in_plane[0] ** 2 + in_plane[1] ** 2))
    # The thumb's joints bend towards the palm and, as it opposes, across it (towards -r); their hinge
    # turns with the thumb, so the flexion side is judged from each joint's proximal bone.
    proximal, distal = thumb[:, 1:3], thumb[:, 2:4]
    angles[2:4] = _hinge_angle(proximal, distal, _cross(proximal, (normal - radial)[:, None]))

    # Fingers: (3, 4 fingers, 4 bones, n).
    fingers = bones[:, 1:]
    metacarpal, phalanx = fingers[:, :, 0], fingers[:, :, 1]
    meta_f, meta_n = _dot(metacarpal, forward[:, None]), _dot(metacarpal, normal[:, None])
    phal_f, phal_n = _dot(phalanx, forward[:, None]), _dot(phalanx, normal[:, None])
    # The signed angle from the metacarpal to the phalanx, both seen in the (f, n) plane, in one atan2
    # (no wrap-around at ±180°).
    angles[_MCP_FLEXION] = _atan2(meta_f * phal_n - meta_n * phal_f, meta_f * phal_f + meta_n * phal_n)
    pip_dip = _hinge_angle(fingers[:, :, 1:3], fingers[:, :, 2:4], radial[:, None, None])
    angles[_PIP_FLEXION], angles[_DIP_FLEXION] = pip_dip[:, 0], pip_dip[:, 1]
    sideways = _atan2(_dot(phalanx, radial[:, None]), np.sqrt(phal_f * phal_f + phal_n * phal_n))
    angles[_ABDUCTION] = _ABDUCTION_SIGN[:, None] * sideways

    angles[_WRIST] = _wrist_angles(radial, forward, normal)
    return angles


def _wrist_angles(radial: np.ndarray, forward: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """(3, n) flexion, deviation, roll of the palm frame against the reference pose (fingers up, palm to camera)."""
    # The reference pose's palm frame in camera axes is r = +x, f = -y, n = -z, so the palm axes seen
    # from the reference are the camera components with y and z negated. With M = Ry(roll) Rx(flexion)
    # Rz(-deviation) in (r, f, n) axes: M[1, 2] = -sin(flexion), M[0, 2] / M[2, 2] = tan(roll),
    # M[1, 0] / M[1, 1] = -tan(deviation).
    m02, m22 = normal[0], -normal[2]
    m10, m11, m12 = -radial[1], -forward[1], -normal[1]
    return np.stack((_atan2(-m12, np.sqrt(m10 * m10 + m11 * m11)), -_atan2(m10, m11), _atan2(m02, m22)))


@dataclass(frozen=True)
class JointMapping:
    """One robot joint driven by one hand angle: angle * scale + offset, clamped to [lower, upper] (radians)."""

    name: str
    source: str
    lower: float
    upper: float
    scale: float = 1.0
    offset: float = 0.0

    def __post_init__(self):
        if self.source not in ANGLE_INDEX:
            raise ValueError(f"{self.name}: {self.source!r} is not a hand angle.")
        if not _usable_numbers(self.lower, self.upper, self.scale, self.offset):
            raise ValueError(f"{self.name}: limits, scale and offset must be finite numbers, lower ≤ upper.")


def _usable_numbers(lower, upper, scale, offset) -> bool:
    try:
        return all(math.isfinite(v) for v in (lower, upper, scale, offset)) and lower <= upper
    except TypeError:
        return False


@dataclass(frozen=True)
class HandSpec:
    """A robot hand as retarget() drives it: its joints in the order of the action vector."""

    name: str
    joints: tuple[JointMapping, ...]

    @property
    def joint_names(self) -> tuple[str, ...]:
        return tuple(joint.name for joint in self.joints)


# A robot joint named after an angle drives from it; these are the other spellings accepted.
_JOINT_ALIASES = {f"{finger}_mcp_abduction": f"{finger}_abduction" for finger in FINGERS}


def _angle_for_joint(joint_name: str) -> str | None:
    key = re.sub(r"\bpinky_", "little_", joint_name.strip().lower())
    key = _JOINT_ALIASES.get(key, key)
    return key if key in ANGLE_INDEX else None


def hand_spec_from_joints(name: str, joints: list[dict]) -> HandSpec:
    """The HandSpec driving a robot model's joints ([{"name", "min", "max", "source"?, "scale"?, "offset"?}]).

    A joint without "source" is driven by the hand angle it is named after ("index_pip_flexion"; also
    "<finger>_mcp_abduction" for "<finger>_abduction" and "pinky" for "little"). ValueError names every
    joint that no angle drives, or whose limits, scale or offset are not usable numbers.
    """
    mappings, unmapped, invalid = [], [], []
    for joint in joints:
        joint_name = str(joint.get("name", ""))
        source = joint.get("source") or _angle_for_joint(joint_name)
        if not isinstance(source, str) or source not in ANGLE_INDEX:
            unmapped.append(joint_name + (f" (source {source!r} is not a hand angle)" if joint.get("source") else ""))
            continue
        try:
            numbers = float(joint["min"]), float(joint["max"]), float(joint.get("scale", 1.0)), float(
                joint.get("offset", 0.0))
        except (KeyError, TypeError, ValueError):
            numbers = None
        if numbers is None or not _usable_numbers(*numbers):
            invalid.append(joint_name)
            continue
        lower, upper, scale, offset = numbers
        mappings.append(JointMapping(joint_name, source, lower, upper, scale, offset))
    problems = []
    if unmapped:
        problems.append(f"no hand angle drives {', '.join(unmapped)}")
    if invalid:
        problems.append(f"no finite min ≤ max, scale and offset for {', '.join(invalid)}")
    if problems:
        raise ValueError("; ".join(problems) + ".")
    if not mappings:
        raise ValueError(f"{name} has no joints to drive.")
    return HandSpec(name=name, joints=tuple(mappings))


def retarget(landmarks: np.ndarray, spec: HandSpec, present: np.ndarray | None = None, *,
             hand: str = "right", aspect: float = 1.0) -> np.ndarray:
    """(n, len(spec.joints)) float32 joint targets for (n, 21, 3) landmarks ((len,) for one (21, 3) hand).

    Each target is its angle * scale + offset, clamped to the joint's limits. A frame where `present`
    is False, or whose landmarks are all zero or not finite, holds zeros clamped into the limits.
    `hand` and `aspect` are as for finger_angles().
    """
    points, single = _as_frames(landmarks, hand, aspect)
    angles, seen = _angles(points, hand=hand, aspect=float(aspect))
    if present is not None:
        present = np.asarray(present).reshape(-1)
        if len(present) != len(points):
            raise ValueError(f"present has {len(present)} frames, landmarks have {len(points)}.")
        seen &= present.astype(bool)
    source = [ANGLE_INDEX[joint.source] for joint in spec.joints]
    scale, offset, lower, upper = (
        np.array([getattr(joint, field) for joint in spec.joints], dtype=np.float32)
        for field in ("scale", "offset", "lower", "upper")
    )
    targets = angles[:, source] * scale + offset
    targets[~seen] = 0.0
    np.clip(targets, lower, upper, out=targets)
    return targets[0] if single else targets


GENERIC_DEXTEROUS_HAND = hand_spec_from_joints(DEXTEROUS_HAND_SLUG, DEXTEROUS_HAND_JOINTS)
