"""training/retarget.py on synthetic hands whose joint angles are known by construction (numpy only, no Django).

A hand is built in palm coordinates (r radial, f forward, n palmar; see the module's docstring), each joint
turned by its angle, then placed in MediaPipe camera coordinates: the reference pose (fingers up the image,
palm to the camera) maps r → +x, f → -y, n → -z.
"""

import math
import time

import numpy as np
import pytest

from robots.catalogue import DEXTEROUS_HAND_JOINTS, ROBOT_MODELS
from training.retarget import (
    ANGLE_NAMES,
    GENERIC_DEXTEROUS_HAND,
    LANDMARK_NAMES,
    HandSpec,
    JointMapping,
    finger_angles,
    hand_spec_from_joints,
    retarget,
)

FINGERS = ("index", "middle", "ring", "little")
R_AXIS, F_AXIS, N_AXIS = np.eye(3)
REFERENCE = np.diag([1.0, -1.0, -1.0])  # palm (r, f, n) → camera (x, y, z) in the reference pose

MCP_POSITIONS = {"index": (2.2, 8.0), "middle": (0.0, 8.4), "ring": (-2.0, 7.9), "little": (-3.9, 7.2)}
PHALANX_LENGTHS = {"index": (4.0, 2.5, 2.0), "middle": (4.5, 2.8, 2.1), "ring": (4.2, 2.6, 2.0),
                   "little": (3.3, 2.0, 1.8)}
TOWARDS_RADIAL = {"index": 1, "middle": 1, "ring": -1, "little": -1}  # which way each finger spreads
THUMB_CMC, THUMB_LENGTHS = np.array([1.8, 1.6, 0.6]), (3.5, 3.0, 2.5)
THUMB_DEFAULTS = {"cmc_flexion": -30.0, "cmc_abduction": 20.0, "mcp": 10.0, "ip": 10.0}
WRIST_ANGLES = ("wrist_flexion", "wrist_deviation", "wrist_roll")
FINGER_ANGLES = tuple(name for name in ANGLE_NAMES if name not in WRIST_ANGLES)


def rotation(axis, degrees: float) -> np.ndarray:
    axis = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    a = math.radians(degrees)
    return np.eye(3) + math.sin(a) * k + (1 - math.cos(a)) * k @ k


def unit(v) -> np.ndarray:
    return np.asarray(v, dtype=float) / np.linalg.norm(v)


def make_hand(*, spread=None, mcp=None, pip=None, dip=None, thumb=None, wrist=(0.0, 0.0, 0.0), arch=None,
              scale=0.02, origin=(0.5, 0.75, 0.0), turn=None) -> np.ndarray:
    """(21, 3) MediaPipe landmarks of a right hand with these joint angles (degrees; dicts by finger).

    `wrist` is (flexion, deviation, roll) against the reference pose; `arch` lifts the middle or ring
    knuckle to the palm side (a cupped palm; its finger starts along its tilted metacarpal); `turn` is an
    extra rotation of the whole hand in camera space about its wrist.
    """
    spread, mcp, pip, dip, arch = spread or {}, mcp or {}, pip or {}, dip or {}, arch or {}
    thumb = {**THUMB_DEFAULTS, **(thumb or {})}
    palm = np.zeros((21, 3))

    # Thumb: metacarpal set by cmc flexion (in the palm plane, from the index metacarpal towards the
    # little finger) and abduction (out of the plane, to the palm side); then a planar hinge bending
    # towards the palm.
    along = unit((*MCP_POSITIONS["index"], 0.0))
    across = np.cross(N_AXIS, along)
    flexion, abduction = math.radians(thumb["cmc_flexion"]), math.radians(thumb["cmc_abduction"])
    direction = math.cos(abduction) * (math.cos(flexion) * along + math.sin(flexion) * across)
    direction += math.sin(abduction) * N_AXIS
    hinge = np.cross(direction, unit(N_AXIS - (N_AXIS @ direction) * direction))
    palm[1] = THUMB_CMC
    bends = (0.0, thumb["mcp"], thumb["mcp"] + thumb["ip"])
    for k, (length, bend) in enumerate(zip(THUMB_LENGTHS, bends, strict=True)):
        palm[2 + k] = palm[1 + k] + length * rotation(hinge, bend) @ direction

    for i, finger in enumerate(FINGERS):
        base = 5 + 4 * i
        palm[base] = (*MCP_POSITIONS[finger], arch.get(finger, 0.0))
        tilt = math.degrees(math.atan2(palm[base, 2], palm[base, 1]))
        # Spread about the palm normal, then flex about the palm's lateral axis; pip and dip about the
        # finger's own (turned) lateral axis.
        frame = rotation(R_AXIS, tilt + mcp.get(finger, 0.0)) @ rotation(
            N_AXIS, -TOWARDS_RADIAL[finger] * spread.get(finger, 0.0))
        for k, length in enumerate(PHALANX_LENGTHS[finger]):
            if k == 1:
                frame = frame @ rotation(R_AXIS, pip.get(finger, 0.0))
            if k == 2:
                frame = frame @ rotation(R_AXIS, dip.get(finger, 0.0))
            palm[base + 1 + k] = palm[base + k] + length * frame @ F_AXIS

    flexion, deviation, roll = wrist
    orientation = rotation(F_AXIS, roll) @ rotation(R_AXIS, flexion) @ rotation(N_AXIS, -deviation)
    camera = palm @ (REFERENCE @ orientation).T
    if turn is not None:
        camera = camera @ turn.T
    return np.asarray(origin) + scale * camera


def degrees(landmarks, **kwargs) -> dict[str, float]:
    return dict(zip(ANGLE_NAMES, np.degrees(finger_angles(landmarks, **kwargs)).tolist(), strict=True))


def random_rotation(rng) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q *= np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q  # a proper rotation: a reflection would swap the hand


def random_pose(rng) -> dict:
    return {
        "spread": {f: rng.uniform(-10, 15) for f in FINGERS},
        "mcp": {f: rng.uniform(-10, 80) for f in FINGERS},
        "pip": {f: rng.uniform(0, 100) for f in FINGERS},
        "dip": {f: rng.uniform(0, 70) for f in FINGERS},
        "thumb": {"cmc_flexion": rng.uniform(-30, 40), "cmc_abduction": rng.uniform(0, 60),
                  "mcp": rng.uniform(0, 50), "ip": rng.uniform(-5, 70)},
    }


def assert_angles(read: dict, expected: dict, tolerance: float = 0.5):
    wrong = {name: (round(read[name], 2), want) for name, want in expected.items() if abs(read[name] - want) > tolerance}
    assert not wrong, wrong


# --- names and shapes ---------------------------------------------------------------------------------
def test_names():
    assert len(LANDMARK_NAMES) == 21 and LANDMARK_NAMES[0] == "wrist" and LANDMARK_NAMES[20] == "pinky_tip"
    assert len(set(ANGLE_NAMES)) == len(ANGLE_NAMES) == 23
    assert ANGLE_NAMES[:7] == ("thumb_cmc_flexion", "thumb_cmc_abduction", "thumb_mcp_flexion", "thumb_ip_flexion",
                               "index_mcp_flexion", "index_pip_flexion", "index_dip_flexion")
    assert ANGLE_NAMES[-3:] == WRIST_ANGLES


def test_shapes_and_dtype():
    hand = make_hand()
    one = finger_angles(hand)
    many = finger_angles(np.stack([hand] * 3))
    assert one.shape == (23,) and one.dtype == np.float32
    assert many.shape == (3, 23) and many.dtype == np.float32
    assert finger_angles(np.zeros((0, 21, 3))).shape == (0, 23)
    with pytest.raises(ValueError, match="21, 3"):
        finger_angles(np.zeros((5, 20, 3)))
    with pytest.raises(ValueError, match="left"):
        finger_angles(hand, hand="both")


def test_builder_is_a_right_hand_palm_to_the_camera():
    """The synthetic reference hand looks like a real right hand in an unmirrored image."""
    hand = make_hand()
    wrist, thumb_tip, index_tip, pinky_tip = hand[0], hand[4], hand[8], hand[20]
    assert thumb_tip[0] > wrist[0] and index_tip[0] > pinky_tip[0]  # thumb on the image's right
    assert index_tip[1] < wrist[1]  # fingers up the image
    curled = make_hand(mcp=dict.fromkeys(FINGERS, 60.0))
    assert curled[8, 2] < hand[8, 2]  # flexed fingers come towards the camera: the palm faces it


# --- flexion, one joint at a time ---------------------------------------------------------------------
def test_open_hand_reads_its_construction():
    read = degrees(make_hand())
    expected = dict.fromkeys(FINGER_ANGLES, 0.0) | dict.fromkeys(WRIST_ANGLES, 0.0)
    expected |= {"thumb_cmc_flexion": -30.0, "thumb_cmc_abduction": 20.0, "thumb_mcp_flexion": 10.0,
                 "thumb_ip_flexion": 10.0}
    assert_angles(read, expected, tolerance=0.01)


@pytest.mark.parametrize("finger", FINGERS)
@pytest.mark.parametrize("joint", ["mcp", "pip", "dip"])
def test_bending_one_finger_joint_reads_that_angle_only(finger, joint):
    before = degrees(make_hand())
    after = degrees(make_hand(**{joint: {finger: 30.0}}))
    name = f"{finger}_{joint}_flexion"
    assert abs(after[name] - 30.0) < 2.0
    assert_angles({k: v for k, v in after.items() if k != name}, {k: v for k, v in before.items() if k != name})


@pytest.mark.parametrize(("joint", "name", "value"), [
    ("cmc_flexion", "thumb_cmc_flexion", 35.0),
    ("cmc_flexion", "thumb_cmc_flexion", -15.0),
    ("cmc_abduction", "thumb_cmc_abduction", 55.0),
    ("mcp", "thumb_mcp_flexion", 40.0),
    ("ip", "thumb_ip_flexion", 60.0),
    ("ip", "thumb_ip_flexion", -10.0),
])
def test_bending_one_thumb_joint_reads_that_angle_only(joint, name, value):
    before = degrees(make_hand())
    after = degrees(make_hand(thumb={joint: value}))
    assert abs(after[name] - value) < 2.0
    assert_angles({k: v for k, v in after.items() if k != name}, {k: v for k, v in before.items() if k != name})


def test_hyperextension_is_negative():
    read = degrees(make_hand(mcp={"index": -15.0}, pip={"middle": -5.0}, dip={"ring": -8.0}))
    assert_angles(read, {"index_mcp_flexion": -15.0, "middle_pip_flexion": -5.0, "ring_dip_flexion": -8.0})


def test_mcp_flexion_is_measured_from_the_metacarpal_of_a_cupped_palm():
    cupped = degrees(make_hand(arch={"middle": 0.8, "ring": 1.2}, mcp={"ring": 25.0}))
    assert_angles(cupped, {"middle_mcp_flexion": 0.0, "ring_mcp_flexion": 25.0, "middle_abduction": 0.0,
                           "ring_abduction": 0.0, "wrist_flexion": 0.0})


def test_a_fist_reads_past_ninety_degrees():
    curl = dict.fromkeys(FINGERS, 95.0)
    read = degrees(make_hand(mcp=curl, pip=dict.fromkeys(FINGERS, 105.0), dip=dict.fromkeys(FINGERS, 70.0)))
    for finger in FINGERS:
        assert_angles(read, {f"{finger}_mcp_flexion": 95.0, f"{finger}_pip_flexion": 105.0,
                             f"{finger}_dip_flexion": 70.0, f"{finger}_abduction": 0.0})


# --- abduction ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("finger", FINGERS)
@pytest.mark.parametrize("value", [15.0, -8.0])
def test_spreading_a_finger_reads_its_abduction(finger, value):
    """Positive spreads away from the middle finger (the middle finger itself: towards the thumb)."""
    before = degrees(make_hand())
    after = degrees(make_hand(spread={finger: value}))
    name = f"{finger}_abduction"
    assert abs(after[name] - value) < 2.0
    assert_angles({k: v for k, v in after.items() if k != name}, {k: v for k, v in before.items() if k != name})


def test_index_spread_moves_towards_the_thumb():
    plain, spread = make_hand(), make_hand(spread={"index": 15.0})
    assert spread[8, 0] > plain[8, 0]  # the index tip moves to the thumb's side of the image
    assert degrees(spread)["index_abduction"] > 14.0


def test_spread_and_flexion_together():
    read = degrees(make_hand(spread={"index": 15.0, "little": 12.0}, mcp={"index": 40.0, "little": 70.0},
                             pip={"index": 60.0}))
    assert_angles(read, {"index_abduction": 15.0, "index_mcp_flexion": 40.0, "index_pip_flexion": 60.0,
                         "little_abduction": 12.0, "little_mcp_flexion": 70.0})


# --- invariance ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_finger_angles_do_not_depend_on_position_scale_or_rotation(seed):
    rng = np.random.default_rng(seed)
    pose = random_pose(rng)
    reference = degrees(make_hand(**pose))
    moved = degrees(make_hand(**pose, scale=rng.uniform(0.005, 0.08), origin=rng.uniform(-0.5, 1.5, 3),
                              turn=random_rotation(rng)))
    assert_angles(moved, {name: reference[name] for name in FINGER_ANGLES})


def test_wrist_angles_do_not_depend_on_position_or_scale():
    pose = {"wrist": (25.0, -10.0, 40.0), **random_pose(np.random.default_rng(7))}
    reference = degrees(make_hand(**pose))
    moved = degrees(make_hand(**pose, scale=0.07, origin=(0.1, 0.2, 0.3)))
    assert_angles(moved, reference)


# --- wrist --------------------------------------------------------------------------------------------
def test_wrist_flexion_tips_the_fingers_towards_the_camera():
    hand = make_hand(wrist=(20.0, 0.0, 0.0))
    assert hand[12, 2] < hand[0, 2]  # the middle fingertip is nearer the camera than the wrist
    assert_angles(degrees(hand), {"wrist_flexion": 20.0, "wrist_deviation": 0.0, "wrist_roll": 0.0}, tolerance=2.0)
    assert_angles(degrees(make_hand(wrist=(-35.0, 0.0, 0.0))), {"wrist_flexion": -35.0}, tolerance=2.0)


def test_wrist_deviation_turns_the_fingers_towards_the_thumb():
    hand = make_hand(wrist=(0.0, 15.0, 0.0))
    assert hand[12, 0] > make_hand()[12, 0]  # towards the thumb's side of the image
    assert_angles(degrees(hand), {"wrist_flexion": 0.0, "wrist_deviation": 15.0, "wrist_roll": 0.0}, tolerance=2.0)


def test_wrist_roll_and_a_combined_pose():
    assert_angles(degrees(make_hand(wrist=(0.0, 0.0, 30.0))), {"wrist_roll": 30.0, "wrist_flexion": 0.0})
    assert_angles(degrees(make_hand(wrist=(20.0, -10.0, 30.0))),
                  {"wrist_flexion": 20.0, "wrist_deviation": -10.0, "wrist_roll": 30.0})


def test_the_back_of_the_hand_reads_a_half_turn_of_roll():
    read = degrees(make_hand(wrist=(0.0, 0.0, 180.0)))
    assert abs(abs(read["wrist_roll"]) - 180.0) < 0.5
    assert_angles(read, {"wrist_flexion": 0.0, "wrist_deviation": 0.0})


# --- handedness ---------------------------------------------------------------------------------------
def test_a_left_hand_reads_like_the_mirrored_right_hand():
    pose = {"wrist": (15.0, 10.0, -20.0), **random_pose(np.random.default_rng(3))}
    right = make_hand(**pose)
    left = right * (-1.0, 1.0, 1.0) + (1.0, 0.0, 0.0)  # the mirror image across the picture's middle
    assert_angles(degrees(left, hand="left"), degrees(right))
    # Read as a right hand, a left hand's flexion comes out as hyperextension: `hand` matters.
    assert degrees(left)["index_pip_flexion"] < 0 < degrees(right)["index_pip_flexion"]


def test_aspect_brings_a_wide_pictures_y_into_xs_unit():
    pose = {"wrist": (20.0, 25.0, 15.0), **random_pose(np.random.default_rng(4))}
    square = make_hand(**pose)
    aspect = 9 / 16  # a 16:9 picture: y is divided by a height 9/16 of the width
    wide = square * (1.0, 1 / aspect, 1.0)
    assert_angles(degrees(wide, aspect=aspect), degrees(square))
    assert abs(degrees(wide)["wrist_deviation"] - 25.0) > 5.0
    with pytest.raises(ValueError, match="aspect"):
        finger_angles(square, aspect=0.0)


# --- vectorisation and degenerate input ---------------------------------------------------------------
def test_a_stack_reads_the_same_as_each_frame():
    rng = np.random.default_rng(11)
    frames = np.stack([make_hand(**random_pose(rng), wrist=tuple(rng.uniform(-40, 40, 3)),
                                 turn=random_rotation(rng) if i % 2 else None) for i in range(40)])
    stacked = finger_angles(frames)
    for i, frame in enumerate(frames):
        np.testing.assert_allclose(stacked[i], finger_angles(frame), atol=1e-6)


def test_stacks_longer_than_a_block_read_the_same():
    rng = np.random.default_rng(12)
    poses = np.stack([make_hand(**random_pose(rng)) for _ in range(7)])
    frames = np.tile(poses, (3000, 1, 1))  # 21,000 frames: several blocks, and a partial last one
    stacked = finger_angles(frames)
    np.testing.assert_allclose(stacked, np.tile(finger_angles(poses), (3000, 1)), atol=1e-6)


@pytest.mark.parametrize("landmarks", [
    np.zeros((21, 3)),
    np.full((21, 3), 0.4),
    np.outer(np.linspace(0, 1, 21), (0.3, -0.2, 0.1)),  # every point on one line
    np.outer(np.linspace(0, 1, 21), (0.3, -0.2, 0.1))[::-1].copy(),
    np.concatenate([np.zeros((1, 3)), np.full((20, 3), 0.5)]),
    np.where(np.arange(21)[:, None] == 5, np.nan, make_hand()),
    np.where(np.arange(21)[:, None] == 5, np.inf, make_hand()),
    np.full((21, 3), 1e30),
], ids=["zeros", "coincident", "collinear", "collinear-reversed", "wrist-apart", "nan", "inf", "huge"])
def test_degenerate_input_never_gives_nan(landmarks):
    angles = finger_angles(landmarks)
    assert np.isfinite(angles).all()
    targets = retarget(landmarks, GENERIC_DEXTEROUS_HAND)
    assert np.isfinite(targets).all()


def test_no_hand_reads_all_zeros():
    assert not finger_angles(np.zeros((21, 3))).any()
    bad = make_hand()
    bad[3, 1] = np.nan
    assert not finger_angles(bad).any()


def test_a_hundred_thousand_frames_take_well_under_a_third_of_a_second():
    rng = np.random.default_rng(5)
    poses = np.stack([make_hand(**random_pose(rng), turn=random_rotation(rng)) for _ in range(100)])
    frames = np.tile(poses, (1000, 1, 1)).astype(np.float32)
    present = np.ones(len(frames), dtype=bool)
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        retarget(frames, GENERIC_DEXTEROUS_HAND, present)
        best = min(best, time.perf_counter() - start)
    assert best < 0.3, f"{best:.3f} s for 100,000 frames"


# --- robot specs ----------------------------------------------------------------------------------------
def test_the_generic_dexterous_hand_maps_every_catalogue_joint():
    assert GENERIC_DEXTEROUS_HAND.joint_names == tuple(joint["name"] for joint in DEXTEROUS_HAND_JOINTS)
    assert len(GENERIC_DEXTEROUS_HAND.joints) == 22
    sources = {joint.name: joint.source for joint in GENERIC_DEXTEROUS_HAND.joints}
    assert sources["little_mcp_abduction"] == "little_abduction"
    assert sources["index_mcp_abduction"] == "index_abduction"
    assert sources["wrist_flexion"] == "wrist_flexion"
    assert sources["thumb_cmc_abduction"] == "thumb_cmc_abduction"
    for joint, spec in zip(DEXTEROUS_HAND_JOINTS, GENERIC_DEXTEROUS_HAND.joints, strict=True):
        assert (spec.lower, spec.upper, spec.scale, spec.offset) == (joint["min"], joint["max"], 1.0, 0.0)


def test_hand_spec_names_every_joint_it_cannot_map():
    joints = [
        {"name": "fr3_joint1", "min": -1, "max": 1},
        {"name": "index_mcp_flexion", "min": 0, "max": 1.5},
        {"name": "elbow", "min": -1, "max": 1},
        {"name": "gripper", "min": 0, "max": 1, "source": "grip_strength"},
    ]
    with pytest.raises(ValueError) as raised:
        hand_spec_from_joints("arm", joints)
    message = str(raised.value)
    assert "fr3_joint1" in message and "elbow" in message and "gripper" in message and "grip_strength" in message
    assert "index_mcp_flexion" not in message


@pytest.mark.parametrize("model", [m for m in ROBOT_MODELS if m["kind"] != "hand"], ids=lambda m: m["slug"])
def test_robots_that_are_not_hands_cannot_be_driven(model):
    with pytest.raises(ValueError, match=model["joints"][0]["name"]):
        hand_spec_from_joints(model["slug"], model["joints"])


def test_hand_spec_sources_aliases_scale_and_offset():
    spec = hand_spec_from_joints("gripper-hand", [
        {"name": "grip", "min": 0, "max": 2, "source": "index_pip_flexion", "scale": 0.5, "offset": 0.1},
        {"name": "pinky_mcp_abduction", "min": -0.3, "max": 0.3},
        {"name": "Pinky_DIP_Flexion", "min": 0, "max": 1.5},
    ])
    assert isinstance(spec, HandSpec)
    assert spec.joint_names == ("grip", "pinky_mcp_abduction", "Pinky_DIP_Flexion")
    assert spec.joints[0] == JointMapping("grip", "index_pip_flexion", 0.0, 2.0, 0.5, 0.1)
    assert [j.source for j in spec.joints[1:]] == ["little_abduction", "little_dip_flexion"]


@pytest.mark.parametrize("joint", [
    {"name": "index_pip_flexion", "min": 1.0, "max": 0.0},
    {"name": "index_pip_flexion", "min": 0.0},
    {"name": "index_pip_flexion", "min": "low", "max": 1.0},
    {"name": "index_pip_flexion", "min": 0.0, "max": float("inf")},
    {"name": "index_pip_flexion", "min": 0.0, "max": 1.0, "scale": None},
])
def test_hand_spec_rejects_unusable_limits(joint):
    with pytest.raises(ValueError, match="index_pip_flexion"):
        hand_spec_from_joints("hand", [joint])


def test_hand_spec_needs_a_joint():
    with pytest.raises(ValueError, match="no joints"):
        hand_spec_from_joints("empty", [])


def test_joint_mapping_checks_itself():
    with pytest.raises(ValueError, match="not a hand angle"):
        JointMapping("j", "elbow_flexion", 0.0, 1.0)
    with pytest.raises(ValueError, match="lower"):
        JointMapping("j", "index_pip_flexion", 1.0, 0.0)


# --- retarget -------------------------------------------------------------------------------------------
def limit(name: str, bound: str) -> np.float32:
    return np.float32(next(j[bound] for j in DEXTEROUS_HAND_JOINTS if j["name"] == name))


def test_retarget_follows_the_angles_within_the_limits():
    hand = make_hand(pip={"index": 50.0}, mcp={"ring": 30.0}, spread={"little": 10.0}, wrist=(20.0, 10.0, 0.0))
    targets = dict(zip(GENERIC_DEXTEROUS_HAND.joint_names, retarget(hand, GENERIC_DEXTEROUS_HAND), strict=True))
    angles = dict(zip(ANGLE_NAMES, finger_angles(hand), strict=True))
    for joint in GENERIC_DEXTEROUS_HAND.joints:
        assert targets[joint.name] == np.clip(angles[joint.source], np.float32(joint.lower), np.float32(joint.upper))
    assert targets["index_pip_flexion"] == pytest.approx(math.radians(50.0), abs=1e-4)
    assert targets["little_mcp_abduction"] == pytest.approx(math.radians(10.0), abs=1e-4)
    assert targets["wrist_flexion"] == pytest.approx(math.radians(20.0), abs=1e-4)
    # Spread out at -30°, the thumb's cmc flexion is past the hand's -20° limit.
    assert targets["thumb_cmc_flexion"] == limit("thumb_cmc_flexion", "min")


def test_retarget_clamps_past_the_limits_exactly():
    hand = make_hand(pip={"index": 130.0}, mcp={"middle": -30.0}, spread={"ring": 35.0}, wrist=(0.0, -45.0, 0.0))
    targets = dict(zip(GENERIC_DEXTEROUS_HAND.joint_names, retarget(hand, GENERIC_DEXTEROUS_HAND), strict=True))
    assert targets["index_pip_flexion"] == limit("index_pip_flexion", "max")
    assert targets["middle_mcp_flexion"] == limit("middle_mcp_flexion", "min")
    assert targets["ring_mcp_abduction"] == limit("ring_mcp_abduction", "max")
    assert targets["wrist_deviation"] == limit("wrist_deviation", "min")


def test_retarget_applies_scale_and_offset():
    spec = HandSpec("custom", (JointMapping("half_pip", "index_pip_flexion", -5.0, 5.0, scale=0.5, offset=0.1),))
    target = retarget(make_hand(pip={"index": 60.0}), spec)
    assert target.shape == (1,) and target.dtype == np.float32
    assert target[0] == pytest.approx(0.5 * math.radians(60.0) + 0.1, abs=1e-4)


def test_absent_frames_hold_zeros_clamped_into_the_limits():
    spec = HandSpec("offset-hand", (
        JointMapping("above_zero", "index_pip_flexion", 0.2, 1.0),
        JointMapping("below_zero", "index_pip_flexion", -1.0, -0.5),
        JointMapping("around_zero", "index_pip_flexion", -1.0, 2.0),
    ))
    bent = make_hand(pip={"index": 60.0})
    nan = bent.copy()
    nan[7, 0] = np.nan
    frames = np.stack([bent, bent, np.zeros((21, 3)), nan])
    targets = retarget(frames, spec, present=np.array([True, False, True, True]))
    assert targets.dtype == np.float32 and targets.shape == (4, 3)
    np.testing.assert_allclose(targets[0], [1.0, -0.5, math.radians(60.0)], atol=1e-4)  # 60° is past 1.0 rad
    for absent in targets[1:]:
        np.testing.assert_array_equal(absent, np.float32([0.2, -0.5, 0.0]))
    generic = retarget(np.zeros((2, 21, 3)), GENERIC_DEXTEROUS_HAND, present=np.zeros(2))
    assert not generic.any()  # every limit of the generic hand includes 0


def test_retarget_checks_present_and_reads_a_left_hand():
    hand = make_hand(pip={"index": 45.0})
    with pytest.raises(ValueError, match="present"):
        retarget(np.stack([hand, hand]), GENERIC_DEXTEROUS_HAND, present=np.ones(3, dtype=bool))
    left = hand * (-1.0, 1.0, 1.0) + (1.0, 0.0, 0.0)
    np.testing.assert_allclose(retarget(left, GENERIC_DEXTEROUS_HAND, hand="left"),
                               retarget(hand, GENERIC_DEXTEROUS_HAND), atol=1e-5)
