"""Pose estimators behind one interface, registered by name in settings (`POSE_MODELS`).

Each entry names a backend and its options, e.g.::

    POSE_MODELS = {
        "mediapipe": {"backend": "mediapipe"},
        "cx": {"backend": "mmpose", "config": ".../td-hm_hrnet-w48_coco-wholebody.py",
               "checkpoint": "/models/cx.pth", "device": "cuda"},
    }

A model is loaded once per process, on first use, under a lock; one that is not configured, whose
package is missing or that fails to load is reported unavailable (`available_models()`) and
refused (`ModelUnavailable`) — never replaced by a stand-in that makes keypoints up. Every
estimator answers keypoints in the skeleton of posture/geometry.py: (17, 3) [x, y, score] in pixels.
"""

import threading

from django.conf import settings

from .base import Estimator, ModelUnavailable

_loaded: dict[str, Estimator] = {}
_failed: dict[str, str] = {}
_lock = threading.Lock()

BACKENDS = {
    "mediapipe": "posture.estimators.mediapipe_pose.MediaPipePose",
    "mmpose": "posture.estimators.mmpose_topdown.MMPoseTopDown",
}


def _backend(name: str, options: dict) -> Estimator:
    from django.utils.module_loading import import_string

    path = BACKENDS.get(options.get("backend", ""))
    if path is None:
        raise ModelUnavailable(name, f"unknown backend {options.get('backend')!r} (known: {', '.join(BACKENDS)})")
    return import_string(path)(name=name, **{k: v for k, v in options.items() if k != "backend"})


def get_estimator(name: str) -> Estimator:
    """The loaded estimator `name`; ModelUnavailable when it is not configured or cannot load."""
    options = settings.POSE_MODELS.get(name)
    if options is None:
        raise ModelUnavailable(name, f"no pose model named {name!r} is configured "
                                     f"(configured: {', '.join(settings.POSE_MODELS) or 'none'})")
    estimator = _loaded.get(name)
    if estimator is not None:
        return estimator
    with _lock:
        if name in _loaded:
            return _loaded[name]
        if name in _failed:
            raise ModelUnavailable(name, _failed[name])
        try:
            estimator = _backend(name, options)
            estimator.load()
        except ModelUnavailable as exc:
            _failed[name] = exc.reason
            raise
        except Exception as exc:  # a broken config or checkpoint: reported, not retried on every frame
            _failed[name] = f"failed to load: {exc}"
            raise ModelUnavailable(name, _failed[name]) from exc
        _loaded[name] = estimator
        return estimator


def available_models() -> list[dict]:
    """Every configured model, loading it if needed: name, backend, device, available, reason."""
    rows = []
    for name, options in settings.POSE_MODELS.items():
        row = {"name": name, "backend": options.get("backend", ""), "default": name == settings.DEFAULT_POSE_MODEL,
               "keypoints": "coco-17"}
        try:
            estimator = get_estimator(name)
            rows.append({**row, "available": True, "device": estimator.device, "reason": ""})
        except ModelUnavailable as exc:
            rows.append({**row, "available": False, "device": options.get("device", "cpu"), "reason": exc.reason})
    return rows


def forget_loaded() -> None:
    """Drop loaded and failed models (tests that change POSE_MODELS)."""
    with _lock:
        for estimator in _loaded.values():
            estimator.close()
        _loaded.clear()
        _failed.clear()
