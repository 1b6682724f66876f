"""Yoga coaching: the pose catalogue, scoring a skeleton against a pose, and recognising which pose it is.

A pure module (numpy only, no Django). Skeletons are (17, 3) COCO-17 ``[x, y, score]`` arrays in pixels, as
:mod:`posture.geometry` defines them; the catalogue's data is :mod:`posture.yoga_data`.

Accuracy against a pose (:func:`analyze_pose`)
-----------------------------------------------
For each joint the pose targets (the 8 joint angles, plus the torso inclination) with target ``t``, tolerance
``tol`` and weight ``w``, and the measured angle ``m`` (degrees)::

    d          = |m − t|
    score_j    = 1                              if d ≤ tol
               = max(0, 1 − (d − tol) / (2 tol))  otherwise   (linear from 1 at tol to 0 at 3 × tol)
    accuracy   = 100 × Σ w_j score_j / Σ w_j     over the joints that are SEEN

A joint is unseen when one of its keypoints has a score below 0.3; it is left out of both sums (and reported
with ``measured: None``). When fewer than half of the pose's joints are seen the pose is not scored:
:class:`NotEnoughKeypoints` (a :class:`~posture.geometry.NoPersonDetected`). An asymmetric pose is scored on
both sides (the right side = the left side's targets mirrored) and the better side is reported.

Feedback names the joint and the direction to move, worst first, ranked by ``w × (d − tol) / tol``;
``improvements`` are the top three of those corrections, with the measured and the target angle.

Recognition (:func:`recognise_pose`)
-----------------------------------
Hybrid: for every pose ``p``::

    score(p) = 0.6 × P_classifier(p) + 0.4 × accuracy(p) / 100

where ``P_classifier`` is a small neural network's probability over the 11 poses and ``accuracy(p)`` the rule
accuracy above (its better side). The best score wins; ``confidence`` is that score (0..1, a ranking score,
not a calibrated probability). The classifier (:class:`PoseClassifier`) is a one-hidden-layer MLP in numpy —
inputs: the 11 :func:`~posture.geometry.angle_features`, standardised, an unseen feature set to 0 (the
training mean); 32 ReLU units; softmax over the poses; L2 1e-4; full-batch Adam (learning rate 0.02), 300
steps, fixed seed. It is trained on 300 synthetic skeletons per pose drawn from the catalogue (:mod:`posture.yoga_synthetic`: targets jittered
within 1.5 × tolerance, random proportions, camera roll and yaw, keypoint noise, 3 % of keypoints dropped),
lazily on first use in a process (about a second; deterministic), so no model file exists anywhere.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from .geometry import (
    ANGLE_FEATURE_NAMES,
    JOINT_ANGLES,
    NUM_KEYPOINTS,
    UNSEEN_FEATURE,
    NoPersonDetected,
    angle_features,
)
from .yoga_data import POSES
from .yoga_synthetic import exact_pose, synthetic_pose, synthetic_poses

__all__ = [
    "CATALOGUE", "CLASSIFIER_WEIGHT", "RULES_WEIGHT", "JointTarget", "NotEnoughKeypoints", "PoseClassifier",
    "UnknownPose", "YogaPose", "analyze_pose", "default_classifier", "evaluate", "exact_pose", "get_pose",
    "joint_score", "list_poses", "pose_accuracies", "recognise_pose", "synthetic_pose", "synthetic_poses",
    "train_classifier",
]

SCORED_JOINTS: tuple[str, ...] = (*JOINT_ANGLES, "torso_inclination")
SIDES = ("left", "right")
CLASSIFIER_WEIGHT = 0.6
RULES_WEIGHT = 0.4
ZERO_SCORE_AT = 3.0  # a joint's score reaches 0 at this many tolerances from the target
DEFAULT_SEED = 0
DEFAULT_SAMPLES_PER_POSE = 300


class UnknownPose(KeyError):
    """No catalogue pose has this name or slug."""

    def __init__(self, name: object) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"Unknown yoga pose: {self.name!r}."


class NotEnoughKeypoints(NoPersonDetected):
    """Fewer than half of the joints a pose is scored on are seen."""

    def __init__(self, message: str = "Not enough of the body is visible to analyse the pose.") -> None:
        super().__init__(message)


# --- catalogue ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class JointTarget:
    """A target angle (degrees) with its tolerance and its weight in the accuracy."""

    target: float
    tolerance: float
    weight: float = 1.0


@dataclass(frozen=True)
class YogaPose:
    """One catalogue pose; `targets` are for its left side when it has sides (`side_refers_to` set)."""

    name: str
    slug: str
    sanskrit: str
    difficulty: str
    description: str
    instructions: tuple[str, ...]
    common_mistakes: tuple[str, ...]
    benefits: tuple[str, ...]
    side_refers_to: str | None
    targets: dict[str, JointTarget] = field(hash=False)

    @property
    def asymmetric(self) -> bool:
        return self.side_refers_to is not None

    @property
    def sides(self) -> tuple[str | None, ...]:
        return SIDES if self.asymmetric else (None,)

    def targets_for(self, side: str | None) -> dict[str, JointTarget]:
        """The targets on `side`: the right side swaps every left/right target of the left side."""
        if side == "right" and self.asymmetric:
            return {_twin(name): target for name, target in self.targets.items()}
        return dict(self.targets)

    def as_dict(self) -> dict:
        """A JSON-ready description (what the API serves)."""
        return {
            "name": self.name, "slug": self.slug, "sanskrit": self.sanskrit, "difficulty": self.difficulty,
            "description": self.description, "instructions": list(self.instructions),
            "common_mistakes": list(self.common_mistakes), "benefits": list(self.benefits),
            "asymmetric": self.asymmetric, "side_refers_to": self.side_refers_to,
            "targets": {name: {"target": t.target, "tolerance": t.tolerance, "weight": t.weight,
                               "range": [max(0.0, t.target - t.tolerance), min(180.0, t.target + t.tolerance)]}
                        for name, t in self.targets.items()},
        }


def _twin(name: str) -> str:
    if name.startswith("left_"):
        return "right_" + name[5:]
    if name.startswith("right_"):
        return "left_" + name[6:]
    return name


def _lookup_key(text: str) -> str:
    """'Warrior II', 'warrior_ii', ' warrior-ii ' → 'warrior-ii'."""
    return re.sub(r"[\s_\-]+", "-", text.strip().lower()).strip("-")


def _build_pose(entry: dict) -> YogaPose:
    targets = {}
    for name, spec in entry["targets"].items():
        if name not in SCORED_JOINTS:
            raise ValueError(f"{entry['name']}: unknown joint {name!r}.")
        target = JointTarget(*(float(v) for v in spec))
        if not (0.0 <= target.target <= 180.0 and target.tolerance > 0 and target.weight > 0):
            raise ValueError(f"{entry['name']}: bad target for {name}: {spec}.")
        targets[name] = target
    return YogaPose(
        name=entry["name"], slug=entry["slug"], sanskrit=entry["sanskrit"], difficulty=entry["difficulty"],
        description=entry["description"], instructions=tuple(entry["instructions"]),
        common_mistakes=tuple(entry["common_mistakes"]), benefits=tuple(entry["benefits"]),
        side_refers_to=entry["side_refers_to"], targets=targets,
    )


build_pose = _build_pose  # public: the platform builds poses from its editable catalogue rows
CATALOGUE: tuple[YogaPose, ...] = tuple(_build_pose(entry) for entry in POSES)
_BY_KEY: dict[str, YogaPose] = {}
for _pose in CATALOGUE:
    for _key in (_pose.slug, _pose.name, _pose.sanskrit):
        _BY_KEY[_lookup_key(_key)] = _pose


def list_poses() -> tuple[YogaPose, ...]:
    """Every catalogue pose, in catalogue order."""
    return CATALOGUE


def get_pose(name: str | YogaPose) -> YogaPose:
    """The pose with this slug, name or Sanskrit name (case, spaces, '-' and '_' do not matter).

    Raises UnknownPose."""
    if isinstance(name, YogaPose):
        return name
    if not isinstance(name, str) or (pose := _BY_KEY.get(_lookup_key(name))) is None:
        raise UnknownPose(name)
    return pose


# --- rule scoring ------------------------------------------------------------------------------------
def joint_score(measured: float, target: float, tolerance: float) -> float:
    """1 within target ± tolerance, falling linearly to 0 at 3 × tolerance away (see the module docstring)."""
    miss = abs(measured - target) - tolerance
    return 1.0 if miss <= 0 else max(0.0, 1.0 - miss / ((ZERO_SCORE_AT - 1.0) * tolerance))


# Every (pose, side) as arrays over SCORED_JOINTS, for scoring many skeletons at once; weight 0 = not scored.
_VARIANTS: list[tuple[int, str | None]] = [(i, side) for i, pose in enumerate(CATALOGUE) for side in pose.sides]
_FEATURE_COLUMNS = np.array([ANGLE_FEATURE_NAMES.index(name) for name in SCORED_JOINTS])


def _variant_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    shape = (len(_VARIANTS), len(SCORED_JOINTS))
    target, tolerance, weight = np.zeros(shape), np.ones(shape), np.zeros(shape)
    for v, (i, side) in enumerate(_VARIANTS):
        for name, t in CATALOGUE[i].targets_for(side).items():
            j = SCORED_JOINTS.index(name)
            target[v, j], tolerance[v, j], weight[v, j] = t.target, t.tolerance, t.weight
    return target, tolerance, weight


_TARGET, _TOLERANCE, _WEIGHT = _variant_arrays()


def _variant_accuracies(features: np.ndarray) -> np.ndarray:
    """(n, variants) accuracy 0..100 of each skeleton's features against each (pose, side); -1 where fewer
    than half of that pose's joints are seen."""
    measured = features[:, _FEATURE_COLUMNS].astype(np.float64)[:, None, :]  # (n, 1, joints)
    seen = measured != UNSEEN_FEATURE
    miss = np.abs(measured - _TARGET[None]) - _TOLERANCE[None]
    scores = np.clip(1.0 - miss / ((ZERO_SCORE_AT - 1.0) * _TOLERANCE[None]), 0.0, 1.0)
    weight = np.where(seen, _WEIGHT[None], 0.0)
    scored = _WEIGHT[None] > 0
    enough = 2 * (seen & scored).sum(axis=2) >= scored.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = 100.0 * (weight * scores).sum(axis=2) / weight.sum(axis=2)
    return np.where(enough & (weight.sum(axis=2) > 0), accuracy, -1.0)


def pose_accuracies(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For (n, 11) angle features: the (n, poses) rule accuracy of each catalogue pose on its better side (-1
    where too few joints are seen) and the (n, poses) index into SIDES of that side (0 for symmetric poses)."""
    by_variant = _variant_accuracies(np.asarray(features))
    accuracy = np.full((by_variant.shape[0], len(CATALOGUE)), -np.inf)
    side = np.zeros(accuracy.shape, dtype=int)
    for v, (i, variant_side) in enumerate(_VARIANTS):
        better = by_variant[:, v] > accuracy[:, i]
        accuracy[:, i] = np.where(better, by_variant[:, v], accuracy[:, i])
        side[:, i] = np.where(better, SIDES.index(variant_side) if variant_side else 0, side[:, i])
    return accuracy, side


# --- analysis ----------------------------------------------------------------------------------------
_JOINT_LABELS = {name: name.replace("_", " ") for name in SCORED_JOINTS} | {"torso_inclination": "torso"}


def _correction(joint: str, measured: float, target: float) -> str:
    """What to do about a joint measured at `measured` when `target` is wanted (the verb, no amount)."""
    label = _JOINT_LABELS[joint]
    more = measured < target  # the angle has to open
    if joint.endswith(("_knee", "_elbow")):
        return f"Straighten your {label}" if more else f"Bend your {label} more"
    if joint.endswith("_hip"):
        return f"Open your {label} more" if more else f"Fold more at your {label}"
    if joint.endswith("_shoulder"):
        side = joint.split("_")[0]
        return (f"Open your {label}: lift your {side} arm further from your body" if more
                else f"Close your {label}: bring your {side} arm closer to your body")
    return "Tilt your torso further from upright" if more else "Bring your torso back towards upright"


def _about(degrees: float) -> int:
    """Degrees rounded to a multiple of 5 (at least 5): feedback reads 'about 20°', not 'about 18.7°'."""
    return max(5, int(5 * round(degrees / 5.0)))


def _analyse_side(pose: YogaPose, side: str | None, features: np.ndarray) -> dict:
    deviations: dict[str, dict] = {}
    corrections: list[tuple[float, str, str]] = []
    unseen: list[str] = []
    total = score_sum = 0.0
    for joint, t in pose.targets_for(side).items():
        value = float(features[ANGLE_FEATURE_NAMES.index(joint)])
        if value == UNSEEN_FEATURE:
            unseen.append(joint)
            deviations[joint] = {"measured": None, "target": t.target, "tolerance": t.tolerance,
                                 "difference": None, "within_tolerance": None, "score": None}
            continue
        score = joint_score(value, t.target, t.tolerance)
        total += t.weight
        score_sum += t.weight * score
        difference = value - t.target
        within = abs(difference) <= t.tolerance
        deviations[joint] = {"measured": round(value, 1), "target": t.target, "tolerance": t.tolerance,
                             "difference": round(difference, 1), "within_tolerance": within,
                             "score": round(score, 3)}
        if not within:
            verb = _correction(joint, value, t.target)
            importance = t.weight * (abs(difference) - t.tolerance) / t.tolerance
            corrections.append((
                importance,
                f"{verb} (about {_about(abs(difference))}° to go).",
                f"{verb}: {value:.0f}° now, aim for {t.target:.0f}° (± {t.tolerance:.0f}°).",
            ))
    if 2 * (len(deviations) - len(unseen)) < len(deviations) or total == 0:
        raise NotEnoughKeypoints(f"Not enough of the body is visible to analyse {pose.name}: "
                                 f"{len(deviations) - len(unseen)} of {len(deviations)} joints measured.")
    corrections.sort(key=lambda c: -c[0])
    feedback = [message for _, message, _ in corrections]
    if not feedback:
        feedback.append(f"Great {pose.name}: every measured joint is within its target range.")
    if unseen:
        feedback.append("Not visible: " + ", ".join(_JOINT_LABELS[j] for j in unseen)
                        + ". Make sure the camera sees your whole body.")
    return {
        "pose": pose.name, "slug": pose.slug, "side": side, "side_refers_to": pose.side_refers_to,
        "accuracy": round(100.0 * score_sum / total, 1),
        "deviations": deviations, "feedback": feedback,
        "improvements": [detail for _, _, detail in corrections[:3]],
        "joints_measured": len(deviations) - len(unseen), "joints_total": len(deviations),
    }


def _features_of(kp: np.ndarray) -> np.ndarray:
    kp = np.asarray(kp, dtype=np.float64)
    if kp.shape != (NUM_KEYPOINTS, 3):
        raise ValueError(f"Keypoints must have shape (17, 3), not {kp.shape}.")
    features = angle_features(kp[None])[0]
    if (features == UNSEEN_FEATURE).all():
        raise NoPersonDetected()
    return features


def analyze_pose(kp: np.ndarray, pose: str | YogaPose, *, side: str | None = None) -> dict:
    """How well one (17, 3) skeleton holds `pose` (slug, name or YogaPose): ``pose``, ``slug``, ``side`` (the
    better one for an asymmetric pose, unless `side` fixes it; None for a symmetric pose), ``accuracy``
    0..100, ``deviations`` per joint (measured, target, tolerance, difference = measured − target,
    within_tolerance, score; None where not seen), ``feedback``, ``improvements`` (top 3), and how many
    joints were measured. Never NaN.

    Raises UnknownPose, NoPersonDetected (nothing seen), NotEnoughKeypoints (under half the joints seen)."""
    pose = get_pose(pose)
    if side is not None and side not in SIDES:
        raise ValueError(f"side must be 'left', 'right' or None, not {side!r}.")
    return _analyse_features(pose, _features_of(kp), side)


def _analyse_features(pose: YogaPose, features: np.ndarray, side: str | None) -> dict:
    sides = (side,) if side is not None and pose.asymmetric else pose.sides
    results = [_analyse_side(pose, s, features) for s in sides]
    return max(results, key=lambda result: result["accuracy"])  # max keeps the first (left) on a tie


# --- classifier --------------------------------------------------------------------------------------
@dataclass
class PoseClassifier:
    """A trained one-hidden-layer MLP over angle features: probabilities over `slugs`."""

    slugs: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    seed: int
    samples_per_pose: int
    train_seconds: float = 0.0
    final_loss: float = float("nan")

    def _hidden(self, features: np.ndarray) -> np.ndarray:
        return np.maximum(_standardise(features, self.mean, self.scale) @ self.w1 + self.b1, 0.0)

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """(n, poses) probabilities for (n, 11) angle features (rows sum to 1)."""
        return _softmax(self._hidden(np.asarray(features, dtype=np.float64)) @ self.w2 + self.b2)


def _standardise(features: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Standardised features; an unseen one becomes 0, the training mean, so it pulls towards no pose."""
    features = np.asarray(features, dtype=np.float64)
    return np.where(features == UNSEEN_FEATURE, 0.0, (features - mean) / scale)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def synthetic_dataset(seed: int, samples_per_pose: int, **options) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keypoints (n, 17, 3), pose labels (n,) (catalogue indices) and sides (n,) (index into SIDES, 0 for a
    symmetric pose): `samples_per_pose` skeletons of every pose, split evenly over the two sides of an
    asymmetric one. `options` go to :func:`synthetic_poses`."""
    rng = np.random.default_rng(seed)
    keypoints, labels, sides = [], [], []
    for i, pose in enumerate(CATALOGUE):
        counts = ([samples_per_pose - samples_per_pose // 2, samples_per_pose // 2] if pose.asymmetric
                  else [samples_per_pose])
        for side, count in zip(pose.sides, counts, strict=True):
            keypoints.append(synthetic_poses(pose, side, rng, count, **options))
            labels.append(np.full(count, i))
            sides.append(np.full(count, SIDES.index(side) if side else 0))
    return np.concatenate(keypoints), np.concatenate(labels), np.concatenate(sides)


def train_classifier(seed: int = DEFAULT_SEED, n_per_pose: int = DEFAULT_SAMPLES_PER_POSE, *, hidden: int = 32,
                     steps: int = 300, learning_rate: float = 0.02, l2: float = 1e-4) -> PoseClassifier:
    """A PoseClassifier trained on `n_per_pose` synthetic skeletons of each pose drawn with `seed`
    (deterministic for a given seed): full-batch Adam on the mean cross-entropy + l2 × Σ w²."""
    started = time.perf_counter()
    keypoints, labels, _ = synthetic_dataset(seed, n_per_pose)
    features = angle_features(keypoints).astype(np.float64)
    seen = features != UNSEEN_FEATURE
    mean = np.array([features[seen[:, j], j].mean() for j in range(features.shape[1])])
    scale = np.array([features[seen[:, j], j].std() for j in range(features.shape[1])]) + 1e-6
    # float32: three times faster than float64 here (numpy's exp and small matmuls), and plenty precise.
    x = _standardise(features, mean, scale).astype(np.float32)
    classes = len(CATALOGUE)
    onehot = np.eye(classes, dtype=np.float32)[labels]

    rng = np.random.default_rng(seed + 1)
    params = {
        "w1": rng.normal(0.0, np.sqrt(2.0 / x.shape[1]), (x.shape[1], hidden)), "b1": np.zeros(hidden),
        "w2": rng.normal(0.0, 1.0 / np.sqrt(hidden), (hidden, classes)), "b2": np.zeros(classes),
    }
    params = {k: v.astype(np.float32) for k, v in params.items()}
    moments = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in params.items()}
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    n = x.shape[0]
    for step in range(1, steps + 1):
        h = np.maximum(x @ params["w1"] + params["b1"], 0.0)
        p = _softmax(h @ params["w2"] + params["b2"])
        dlogits = (p - onehot) / n
        dh = (dlogits @ params["w2"].T) * (h > 0)
        grads = {
            "w2": h.T @ dlogits + 2 * l2 * params["w2"], "b2": dlogits.sum(axis=0),
            "w1": x.T @ dh + 2 * l2 * params["w1"], "b1": dh.sum(axis=0),
        }
        for k, g in grads.items():
            m, v = moments[k]
            m[:] = beta1 * m + (1 - beta1) * g
            v[:] = beta2 * v + (1 - beta2) * g * g
            params[k] -= learning_rate * (m / (1 - beta1**step)) / (np.sqrt(v / (1 - beta2**step)) + eps)
    loss = float(-np.log(np.clip((p * onehot).sum(axis=1), 1e-12, None)).mean())  # at the last step
    return PoseClassifier(
        slugs=tuple(pose.slug for pose in CATALOGUE), mean=mean, scale=scale, seed=seed,
        samples_per_pose=n_per_pose, train_seconds=time.perf_counter() - started, final_loss=loss,
        **{k: v.astype(np.float64) for k, v in params.items()},
    )


_default_classifier: PoseClassifier | None = None
_default_lock = threading.Lock()


def default_classifier() -> PoseClassifier:
    """The process's classifier, trained on first use (DEFAULT_SEED, DEFAULT_SAMPLES_PER_POSE) and kept."""
    global _default_classifier
    if _default_classifier is None:
        with _default_lock:
            if _default_classifier is None:
                _default_classifier = train_classifier(DEFAULT_SEED, DEFAULT_SAMPLES_PER_POSE)
    return _default_classifier


def _hybrid_scores(probabilities: np.ndarray, accuracies: np.ndarray) -> np.ndarray:
    return CLASSIFIER_WEIGHT * probabilities + RULES_WEIGHT * np.clip(accuracies, 0.0, 100.0) / 100.0


# --- recognition -------------------------------------------------------------------------------------
def recognise_pose(kp: np.ndarray, *, classifier: PoseClassifier | None = None) -> dict:
    """Which catalogue pose one (17, 3) skeleton holds: ``pose``, ``slug``, ``side``, ``confidence`` (the
    hybrid score of the module docstring, 0..1), ``candidates`` (the top 3: pose, slug, side, probability =
    the classifier's, rule_accuracy, score) and ``analysis`` (:func:`analyze_pose` against the best pose).

    Raises NoPersonDetected (nothing seen) or NotEnoughKeypoints (too little seen for any pose)."""
    features = _features_of(kp)
    accuracies, sides = pose_accuracies(features[None])
    if (accuracies < 0).all():
        raise NotEnoughKeypoints()
    model = classifier if classifier is not None else default_classifier()
    probabilities = model.predict_proba(features[None])
    # A pose too little of which is seen is no candidate (today every pose is scored on the same 9 joints).
    scores = np.where(accuracies[0] >= 0, _hybrid_scores(probabilities, accuracies)[0], -np.inf)
    order = np.argsort(-scores, kind="stable")
    candidates = []
    for i in order[:3]:
        if not np.isfinite(scores[i]):
            break
        pose = CATALOGUE[i]
        candidates.append({
            "pose": pose.name, "slug": pose.slug, "side": SIDES[sides[0, i]] if pose.asymmetric else None,
            "probability": round(float(probabilities[0, i]), 4),
            "rule_accuracy": round(max(0.0, float(accuracies[0, i])), 1), "score": round(float(scores[i]), 4),
        })
    best = candidates[0]
    analysis = _analyse_features(CATALOGUE[order[0]], features, best["side"])
    return {"pose": best["pose"], "slug": best["slug"], "side": best["side"],
            "confidence": best["score"], "candidates": candidates, "analysis": analysis}


# Kept for callers who spell it the American way.
recognize_pose = recognise_pose


def evaluate(model: PoseClassifier, n_per_pose: int = 200, seed: int = 1, **options) -> dict:
    """Recognition accuracy on `n_per_pose` fresh synthetic skeletons per pose drawn with `seed` (use a seed
    other than the training one): overall and per pose for the classifier alone, the hybrid and the rules
    alone; how often the hybrid's side is right on asymmetric poses it recognised; and the hybrid's
    confusions (true slug → {predicted slug: count}, mistakes only). `options` go to :func:`synthetic_poses`
    (e.g. more noise than the training set saw)."""
    keypoints, labels, true_sides = synthetic_dataset(seed, n_per_pose, **options)
    features = angle_features(keypoints)
    accuracies, sides = pose_accuracies(features)
    probabilities = model.predict_proba(features)
    predictions = {
        "classifier": probabilities.argmax(axis=1),
        "hybrid": _hybrid_scores(probabilities, accuracies).argmax(axis=1),
        "rules": accuracies.argmax(axis=1),
    }
    result: dict = {"samples": int(labels.size), "seed": seed,
                    "overall": {m: float((p == labels).mean()) for m, p in predictions.items()}, "per_pose": {}}
    for i, pose in enumerate(CATALOGUE):
        rows = labels == i
        result["per_pose"][pose.slug] = {m: float((p[rows] == i).mean()) for m, p in predictions.items()}
    hybrid = predictions["hybrid"]
    asymmetric = np.array([CATALOGUE[i].asymmetric for i in labels]) & (hybrid == labels)
    picked_side = sides[np.arange(labels.size), labels]
    result["side_accuracy"] = float((picked_side[asymmetric] == true_sides[asymmetric]).mean())
    confusion: dict[str, dict[str, int]] = {}
    for truth, guess in zip(labels[hybrid != labels], hybrid[hybrid != labels], strict=True):
        row = confusion.setdefault(CATALOGUE[truth].slug, {})
        row[CATALOGUE[guess].slug] = row.get(CATALOGUE[guess].slug, 0) + 1
    result["confusion"] = confusion
    return result
