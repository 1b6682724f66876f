"""posture.geometry on synthetic skeletons whose angles are known by construction (posture.synthetic)."""

import json
import math

import numpy as np
import pytest

from posture.geometry import (
    ANGLE_FEATURE_NAMES,
    BONES,
    JOINT_ANGLES,
    KEYPOINT_INDEX,
    KEYPOINT_NAMES,
    POSTURE_RULES,
    UNSEEN_FEATURE,
    NoPersonDetected,
    angle_features,
    from_coco17,
    from_coco_wholebody,
    from_mediapipe,
    joint_angle,
    joint_angles,
    posture_score_from_keypoints,
    segment_inclination,
)
from posture.synthetic import NECK, mediapipe_landmarks, standing_skeleton

W, H = 640, 480


def issue(result, code):
    matches = [i for i in result.issues if i["code"] == code]
    assert len(matches) <= 1
    return matches[0] if matches else None


def assert_clean(result):
    """No NaN anywhere, and the whole result is plain JSON."""
    assert math.isfinite(result.score)
    for value in result.measures.values():
        assert value is None or (isinstance(value, float) and math.isfinite(value))
    for item in result.issues:
        assert set(item) == {"code", "message", "value", "penalty"}
        assert math.isfinite(item["value"]) and math.isfinite(item["penalty"])
    json.dumps({"score": result.score, "issues": result.issues, "measures": result.measures}, allow_nan=False)


# --- vocabulary ------------------------------------------------------------------------------------
def test_vocabulary_is_coco17():
    assert len(KEYPOINT_NAMES) == 17
    assert KEYPOINT_NAMES[0] == "nose" and KEYPOINT_NAMES[5] == "left_shoulder" and KEYPOINT_NAMES[16] == "right_ankle"
    assert all(0 <= a < 17 and 0 <= b < 17 and a != b for a, b in BONES)
    assert (KEYPOINT_INDEX["left_shoulder"], KEYPOINT_INDEX["right_shoulder"]) in BONES


def test_from_mediapipe_reads_the_documented_indices():
    kp = standing_skeleton(W, H)
    kp[:, 2] = np.linspace(0.35, 0.95, 17)
    mediapipe_index = {"nose": 0, "left_eye": 2, "right_eye": 5, "left_ear": 7, "right_ear": 8, "left_shoulder": 11,
                       "right_shoulder": 12, "left_elbow": 13, "right_elbow": 14, "left_wrist": 15, "right_wrist": 16,
                       "left_hip": 23, "right_hip": 24, "left_knee": 25, "right_knee": 26, "left_ankle": 27,
                       "right_ankle": 28}
    landmarks = np.full((33, 4), 0.123)
    for name, row in mediapipe_index.items():
        x, y, score = kp[KEYPOINT_INDEX[name]]
        landmarks[row] = (x / W, y / H, -0.2, score)

    mapped = from_mediapipe(landmarks, W, H)

    np.testing.assert_allclose(mapped, kp, atol=1e-9)


def test_from_mediapipe_ignores_the_other_landmarks():
    kp = standing_skeleton(W, H, elbow_deg=100, knee_deg=140)
    np.testing.assert_allclose(from_mediapipe(mediapipe_landmarks(kp, W, H, seed=7), W, H), kp, atol=1e-9)


def test_from_coco_wholebody_keeps_the_first_17():
    kp = standing_skeleton(W, H, torso_lean_deg=10)
    wholebody = np.vstack([kp, np.random.default_rng(1).uniform(0, 500, (116, 3))])
    np.testing.assert_allclose(from_coco_wholebody(wholebody), kp)


def test_mapping_validates_shapes_and_cleans_values():
    with pytest.raises(ValueError):
        from_coco17(np.zeros((18, 3)))
    with pytest.raises(ValueError):
        from_coco_wholebody(np.zeros((17, 3)))
    with pytest.raises(ValueError):
        from_mediapipe(np.zeros((17, 4)), W, H)
    with pytest.raises(ValueError):
        from_mediapipe(np.zeros((33, 4)), 0, H)

    kp = standing_skeleton(W, H)
    kp[0] = (np.nan, 10.0, 0.9)
    kp[1, 2] = 1.7
    cleaned = from_coco17(kp)
    assert cleaned[0].tolist() == [0.0, 0.0, 0.0]
    assert cleaned[1, 2] == 1.0
    assert np.isfinite(cleaned).all()
    assert not np.isnan(kp[1:]).any() and np.isnan(kp[0, 0])  # the caller's array is left alone


# --- angles ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("params", [
    {"elbow_deg": 90.0, "knee_deg": 120.0, "shoulder_deg": 40.0, "hip_deg": 150.0},
    {"elbow_deg": 35.0, "knee_deg": 75.0, "shoulder_deg": 170.0, "hip_deg": 95.0, "facing": -1},
    {"elbow_deg": 160.0, "knee_deg": 178.0, "shoulder_deg": 90.0, "hip_deg": 60.0, "torso_lean_deg": 20.0,
     "shoulder_tilt_deg": 7.0, "hip_tilt_deg": -5.0},
])
def test_joint_angles_read_the_constructed_angles(params):
    kp = standing_skeleton(W, H, **params)
    angles = joint_angles(kp)
    assert set(angles) == set(JOINT_ANGLES)
    for side in ("left", "right"):
        assert angles[f"{side}_elbow"] == pytest.approx(params["elbow_deg"], abs=1)
        assert angles[f"{side}_knee"] == pytest.approx(params["knee_deg"], abs=1)
        assert angles[f"{side}_shoulder"] == pytest.approx(params["shoulder_deg"], abs=1)
        assert angles[f"{side}_hip"] == pytest.approx(params["hip_deg"], abs=1)


def test_straight_limbs_are_180_and_names_or_indices_both_work():
    kp = standing_skeleton(W, H)
    assert joint_angle(kp, "left_hip", "left_knee", "left_ankle") == pytest.approx(180, abs=1e-6)
    assert joint_angle(kp, 6, 8, 10) == pytest.approx(180, abs=1e-6)


def test_joint_angle_is_none_when_a_point_is_unseen():
    kp = standing_skeleton(W, H, unseen=["left_wrist"])
    assert joint_angle(kp, "left_shoulder", "left_elbow", "left_wrist") is None
    angles = joint_angles(kp)
    assert angles["left_elbow"] is None and angles["right_elbow"] is not None


def test_segment_inclination_from_the_downward_vertical():
    kp = np.zeros((17, 3))
    kp[:, 2] = 1.0
    a, b = KEYPOINT_INDEX["left_hip"], KEYPOINT_INDEX["left_ankle"]
    kp[a, :2] = (100, 100)
    for (x, y), expected in (((100, 150), 0), ((150, 150), 45), ((50, 100), 90), ((100, 20), 180)):
        kp[b, :2] = (x, y)
        assert segment_inclination(kp, a, b) == pytest.approx(expected)
    kp[b, 2] = 0.1
    assert segment_inclination(kp, a, b) is None


def test_angle_features_match_joint_angles_for_a_batch():
    skeletons = [
        standing_skeleton(W, H),
        standing_skeleton(W, H, elbow_deg=70, knee_deg=110, shoulder_deg=100, hip_deg=130, torso_lean_deg=30),
        standing_skeleton(W, H, torso_lean_deg=180, facing=-1),  # upside down
        standing_skeleton(W, H, elbow_deg=120, unseen=["left_wrist", "right_knee", "right_hip", "left_shoulder"]),
        standing_skeleton(W, H, unseen=KEYPOINT_NAMES),
    ]
    features = angle_features(np.stack(skeletons))

    assert features.shape == (5, len(ANGLE_FEATURE_NAMES)) == (5, 11)
    assert features.dtype == np.float32
    assert np.isfinite(features).all()
    for row, kp in zip(features, skeletons, strict=True):
        for name, value in joint_angles(kp).items():
            expected = UNSEEN_FEATURE if value is None else value
            assert row[ANGLE_FEATURE_NAMES.index(name)] == pytest.approx(expected, abs=1e-3)
        for side in ("left", "right"):
            value = segment_inclination(kp, f"{side}_hip", f"{side}_ankle")
            expected = UNSEEN_FEATURE if value is None else value
            assert row[ANGLE_FEATURE_NAMES.index(f"{side}_leg_inclination")] == pytest.approx(expected, abs=1e-3)

    torso = ANGLE_FEATURE_NAMES.index("torso_inclination")
    assert features[:3, torso] == pytest.approx([0, 30, 180], abs=1e-3)
    assert features[4].tolist() == [UNSEEN_FEATURE] * 11
    assert angle_features(np.zeros((0, 17, 3))).shape == (0, 11)
    with pytest.raises(ValueError):
        angle_features(skeletons[0])


# --- posture score ---------------------------------------------------------------------------------
def test_upright_skeleton_scores_100_without_issues():
    result = posture_score_from_keypoints(standing_skeleton(W, H))
    assert result.score == 100
    assert result.issues == []
    assert result.measures == pytest.approx(
        {"head_forward": 0, "neck_inclination": 0, "torso_inclination": 0, "shoulder_tilt": 0, "hip_tilt": 0},
        abs=1e-9)
    assert_clean(result)


def test_neck_forward_25_costs_the_documented_penalty():
    result = posture_score_from_keypoints(standing_skeleton(W, H, neck_forward_deg=25))

    neck = issue(result, "neck_inclination")
    assert neck["value"] == pytest.approx(25, abs=0.01)
    # Documented: no penalty up to 10°, then 2 points per degree, at most 30.
    assert neck["penalty"] == pytest.approx(min(30, 2 * (25 - 10)), abs=0.5)
    assert "Neck" in neck["message"]
    # The ears also sit NECK·sin 25° of a torso ahead of the shoulders; that stays within its 0.15 tolerance.
    head_forward = NECK * math.sin(math.radians(25))
    assert result.measures["head_forward"] == pytest.approx(head_forward, abs=1e-6)
    expected = 100 - POSTURE_RULES["neck_inclination"].penalty(25) - POSTURE_RULES["head_forward"].penalty(head_forward)
    assert result.score == pytest.approx(expected, abs=0.5)
    assert result.score == pytest.approx(70, abs=0.5)


def test_shoulder_tilt_8_is_reported_with_its_penalty():
    result = posture_score_from_keypoints(standing_skeleton(W, H, shoulder_tilt_deg=8))

    assert [i["code"] for i in result.issues] == ["shoulder_tilt"]
    tilt = result.issues[0]
    assert tilt["value"] == pytest.approx(8, abs=1e-6)
    assert tilt["penalty"] == pytest.approx(min(15, 3 * (8 - 3)), abs=0.5)
    assert tilt["message"].startswith("Left shoulder sits lower")
    assert result.score == pytest.approx(85, abs=0.5)

    mirrored = posture_score_from_keypoints(standing_skeleton(W, H, shoulder_tilt_deg=-8))
    assert mirrored.issues[0]["message"].startswith("Right shoulder sits lower")
    assert mirrored.score == pytest.approx(result.score)


def test_combined_issues_add_up():
    result = posture_score_from_keypoints(
        standing_skeleton(W, H, neck_forward_deg=15, torso_lean_deg=10, shoulder_tilt_deg=5, hip_tilt_deg=4))

    penalties = {i["code"]: i["penalty"] for i in result.issues}
    assert penalties == pytest.approx(
        {"neck_inclination": 2 * 5, "torso_inclination": 2 * 5, "shoulder_tilt": 3 * 2, "hip_tilt": 3 * 1}, abs=1e-6)
    assert result.score == pytest.approx(100 - sum(penalties.values()))
    assert result.score == pytest.approx(71, abs=0.5)
    assert [i["penalty"] for i in result.issues] == sorted(penalties.values(), reverse=True)


def test_score_is_clamped_at_zero():
    result = posture_score_from_keypoints(
        standing_skeleton(W, H, neck_forward_deg=60, torso_lean_deg=45, shoulder_tilt_deg=20, hip_tilt_deg=20))

    assert sum(i["penalty"] for i in result.issues) > 100
    assert result.score == 0
    assert all(i["penalty"] <= POSTURE_RULES[i["code"]].cap for i in result.issues)
    assert_clean(result)


def test_head_forward_past_its_tolerance():
    result = posture_score_from_keypoints(standing_skeleton(W, H, neck_forward_deg=40, facing=-1))
    offset = NECK * math.sin(math.radians(40))
    head = issue(result, "head_forward")
    assert head["value"] == pytest.approx(offset, abs=1e-6)
    assert head["penalty"] == pytest.approx(100 * (offset - 0.15), abs=1e-6)


def test_unseen_ears_fall_back_to_the_nose_and_skip_the_neck():
    kp = standing_skeleton(W, H, neck_forward_deg=30, unseen=["left_ear", "right_ear"])
    result = posture_score_from_keypoints(kp)
    assert result.measures["neck_inclination"] is None
    assert issue(result, "neck_inclination") is None
    # The synthetic nose sits straight below the ear midpoint, so it reads the same horizontal offset.
    assert result.measures["head_forward"] == pytest.approx(NECK * math.sin(math.radians(30)), abs=1e-6)
    assert_clean(result)

    no_head = posture_score_from_keypoints(
        standing_skeleton(W, H, neck_forward_deg=30, unseen=["left_ear", "right_ear", "nose"]))
    assert no_head.measures["head_forward"] is None and no_head.measures["neck_inclination"] is None
    assert no_head.score == 100
    assert_clean(no_head)


def test_one_ear_is_enough_for_the_neck():
    # In a side view the near ear stands for the ear midpoint: put the one seen ear where the midpoint was.
    kp = standing_skeleton(W, H, neck_forward_deg=20, unseen=["right_ear"])
    left, right = KEYPOINT_INDEX["left_ear"], KEYPOINT_INDEX["right_ear"]
    kp[left, :2] = kp[[left, right], :2].mean(axis=0)
    assert posture_score_from_keypoints(kp).measures["neck_inclination"] == pytest.approx(20, abs=1e-6)


def test_side_view_skips_the_tilts_instead_of_guessing():
    # One side hidden: the near shoulder and hip carry the body's line; no tilt can be measured.
    one_side = posture_score_from_keypoints(
        standing_skeleton(W, H, torso_lean_deg=12, unseen=["right_shoulder", "right_hip", "right_ear"]))
    assert one_side.measures["shoulder_tilt"] is None and one_side.measures["hip_tilt"] is None
    assert one_side.measures["torso_inclination"] is not None
    assert_clean(one_side)

    # Both shoulders seen but nearly on top of each other (a side view): the line's angle is noise.
    kp = standing_skeleton(W, H)
    left, right = KEYPOINT_INDEX["left_shoulder"], KEYPOINT_INDEX["right_shoulder"]
    middle = kp[[left, right], :2].mean(axis=0)
    kp[left, :2], kp[right, :2] = middle + (0.5, 3.0), middle - (0.5, 3.0)
    overlapped = posture_score_from_keypoints(kp)
    assert overlapped.measures["shoulder_tilt"] is None
    assert overlapped.score == 100


def test_nan_keypoints_never_produce_nan():
    kp = standing_skeleton(W, H, neck_forward_deg=20)
    kp[KEYPOINT_INDEX["left_ear"]] = (np.nan, np.nan, 0.9)
    kp[KEYPOINT_INDEX["right_hip"], 2] = np.nan
    result = posture_score_from_keypoints(kp)
    assert result.measures["hip_tilt"] is None
    assert_clean(result)
    assert np.isfinite(angle_features(kp[None])).all()


@pytest.mark.parametrize("unseen", [
    ["left_shoulder", "right_shoulder"],
    ["left_hip", "right_hip", "right_shoulder"],
    list(KEYPOINT_NAMES),
])
def test_too_little_of_a_person_raises_no_person_detected(unseen):
    with pytest.raises(NoPersonDetected, match="No person detected"):
        posture_score_from_keypoints(standing_skeleton(W, H, unseen=unseen))


def test_an_upper_body_picture_is_scored_from_the_shoulders():
    upright = posture_score_from_keypoints(standing_skeleton(W, H, unseen=["left_hip", "right_hip"]))
    assert upright.measures["torso_inclination"] is None and upright.measures["hip_tilt"] is None
    tilted = posture_score_from_keypoints(standing_skeleton(W, H, shoulder_tilt_deg=8,
                                                            unseen=["left_hip", "right_hip"]))
    assert [issue["code"] for issue in tilted.issues] == ["shoulder_tilt"]
    assert tilted.score == pytest.approx(85.0)


def test_no_person_detected_is_a_value_error_and_covers_a_collapsed_torso():
    assert issubclass(NoPersonDetected, ValueError)
    with pytest.raises(NoPersonDetected):
        posture_score_from_keypoints(np.zeros((17, 3)) + [10.0, 10.0, 1.0])
    with pytest.raises(ValueError):
        posture_score_from_keypoints(np.zeros((33, 4)))


def test_mediapipe_landmarks_outside_the_picture_are_not_seen():
    from posture.geometry import from_mediapipe
    from posture.synthetic import mediapipe_landmarks

    kp = standing_skeleton(W, H)
    landmarks = mediapipe_landmarks(kp, W, H)
    landmarks[25, 1] = 1.08  # the left knee, extrapolated below the picture's bottom edge
    landmarks[25, 3] = 0.9
    mapped = from_mediapipe(landmarks, W, H)
    assert mapped[KEYPOINT_INDEX["left_knee"], 2] == 0.0
    assert mapped[KEYPOINT_INDEX["left_hip"], 2] > 0.3
