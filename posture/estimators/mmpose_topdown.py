"""MMPose top-down models (e.g. a COCO-WholeBody model named `cx`, or RTMPose): config + checkpoint +
device from settings. mmpose is installed by `make test` (requirements/mmpose.txt and, with --no-deps,
requirements/mmpose-nodeps.txt; see shared/DEPENDENCIES.md), not by `make run`; without it such a
model is reported unavailable.

Import shim. The install is mmengine + **mmcv-lite** (no compiled ops) + mmpose, without
torchvision (PyPI's torchvision is a CUDA build that fails beside the CPU torch). Importing mmpose
would then fail on two imports although the top-down models this app runs need neither:

* `from mmcv.ops import MultiScaleDeformableAttention`, unguarded, in mmpose's ED-Pose head
  (`models/heads/transformer_heads`), which `mmpose.models` imports eagerly. mmcv-lite's `mmcv.ops`
  cannot import (`No module named 'mmcv._ext'`).
* `from torchvision.transforms import ToPILImage` in `mmpose/visualization/simcc_vis.py` (a
  visualiser for SimCC heatmaps), imported eagerly by `mmpose.visualization`.

`_import_mmpose` first tries each real import and steps in only when it fails:

* `mmcv.ops`: a finder at the front of `sys.meta_path` serves `mmcv.ops` and every `mmcv.ops.<sub>`
  with placeholder classes for any name. It stays for the process: mmdet, which mmengine's registry
  imports lazily while building models whose parts live in mmdet's scope (RTMPose's
  `mmdet.CSPNeXt` backbone), imports `mmcv.ops.nms` etc. unguarded. Without it RTMPose cannot be
  built on mmcv-lite. Since the real `mmcv.ops` cannot be imported at all here, nothing loses a
  working module; code that *guards* `from mmcv.ops import X` with `except ImportError` (mmpose's
  DEKR / PoseWarper) now gets a placeholder instead, and fails when it uses it.
* `torchvision.transforms.ToPILImage`: stand-in modules are put in `sys.modules` only for the
  duration of mmpose's import and removed afterwards (mmpose keeps the name it bound; nothing else in
  the process sees a fake torchvision).

The stand-ins compute nothing: each placeholder raises RuntimeError ("... mmcv-lite has no compiled
ops") when called or instantiated, so a config that really needs compiled ops (ED-Pose, DEKR, NMS)
fails to load or run with a clear reason instead of running something else. With a full mmcv / a
working torchvision the real modules are used and the shim does nothing.

Checkpoints. mmengine 0.10.7 loads them with `torch.load(path, map_location=...)` and no
`weights_only` argument (it cannot be passed through `init_model`); torch >= 2.6 defaults to
`weights_only=True`, which refuses mmpose checkpoints (their `meta` holds pickled objects). The
configured checkpoint is an operator-provided, trusted file, so `TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`
is set only around `init_model` for it and restored right after (loads run under the registry's
lock; another thread calling `torch.load` without `weights_only` in that window would also load
unrestricted). Never point `checkpoint` at a file you would not execute.
"""

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import types
from pathlib import Path

import numpy as np

from .. import geometry
from .base import Estimator, ModelUnavailable, resolve_device


def _real_import_fails(module: str, name: str) -> bool:
    try:
        getattr(importlib.import_module(module), name)
    except Exception:  # ImportError, or e.g. RuntimeError from a torchvision built for another torch
        return True
    return False


def _unavailable_class(qualname: str, reason: str) -> type:
    def __init__(self, *args, **kwargs):
        raise RuntimeError(f"{qualname} is unavailable here: {reason}")

    return type(qualname.rsplit(".", 1)[-1], (), {"__init__": __init__, "__module__": qualname.rsplit(".", 1)[0]})


_NO_OPS = "mmcv-lite has no compiled ops (install full mmcv to use it)"
_STAND_IN = "Stand-in (posture/estimators/mmpose_topdown.py): " + _NO_OPS


class _MmcvOpsStandIns(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves `mmcv.ops` and any `mmcv.ops.<sub>` as modules whose every public name is a placeholder
    class that raises when used (called or instantiated)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "mmcv.ops" or fullname.startswith("mmcv.ops."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__doc__ = _STAND_IN
        module.__path__ = []
        placeholders: dict[str, type] = {}

        def __getattr__(name: str):
            if name.startswith("__"):
                raise AttributeError(name)
            if name not in placeholders:
                placeholders[name] = _unavailable_class(f"{module.__name__}.{name}", _NO_OPS)
            return placeholders[name]

        module.__getattr__ = __getattr__


_ops_finder: _MmcvOpsStandIns | None = None


def _install_mmcv_ops_stand_ins() -> None:
    """Only when mmcv is installed and its real `mmcv.ops` cannot be imported (mmcv-lite)."""
    global _ops_finder
    if _ops_finder is not None or importlib.util.find_spec("mmcv") is None:
        return
    if not _real_import_fails("mmcv.ops", "MultiScaleDeformableAttention"):
        return
    for name in [n for n in sys.modules if n == "mmcv.ops" or n.startswith("mmcv.ops.")]:
        del sys.modules[name]  # half-imported leftovers of the failed real import
    _ops_finder = _MmcvOpsStandIns()
    sys.meta_path.insert(0, _ops_finder)


def _torchvision_stand_ins() -> dict[str, types.ModuleType]:
    """A `torchvision.transforms.ToPILImage` placeholder, only when the real one cannot be imported."""
    if not _real_import_fails("torchvision.transforms", "ToPILImage"):
        return {}
    torchvision = types.ModuleType("torchvision", "Stand-in (posture/estimators/mmpose_topdown.py).")
    transforms = types.ModuleType("torchvision.transforms", "Stand-in (posture/estimators/mmpose_topdown.py).")
    transforms.ToPILImage = _unavailable_class("torchvision.transforms.ToPILImage", "torchvision is not installed")
    torchvision.transforms = transforms
    return {"torchvision": torchvision, "torchvision.transforms": transforms}


@contextlib.contextmanager
def _temporarily_in_sys_modules(modules: dict[str, types.ModuleType]):
    saved = {name: sys.modules.get(name) for name in modules}
    sys.modules.update(modules)
    try:
        yield
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous


def _import_mmpose():
    """(init_model, inference_topdown) from mmpose.apis, with the stand-ins above only if needed."""
    if "mmpose.apis" in sys.modules:
        from mmpose.apis import inference_topdown, init_model

        return init_model, inference_topdown
    if importlib.util.find_spec("mmpose") is None:
        raise ImportError("No module named 'mmpose'")
    _install_mmcv_ops_stand_ins()
    with _temporarily_in_sys_modules(_torchvision_stand_ins()):
        from mmpose.apis import inference_topdown, init_model
    return init_model, inference_topdown


@contextlib.contextmanager
def _trusted_checkpoint_load():
    """torch.load without weights_only inside (see the module docstring), restored afterwards."""
    name = "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"
    previous = os.environ.get(name)
    os.environ[name] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


class MMPoseTopDown(Estimator):
    def load(self) -> None:
        config, checkpoint = self.options.get("config"), self.options.get("checkpoint")
        if not config or not checkpoint:
            raise ModelUnavailable(self.name, "an MMPose model needs `config` and `checkpoint` in POSE_MODELS")
        try:
            init_model, inference_topdown = _import_mmpose()
        except ImportError as exc:
            raise ModelUnavailable(self.name, f"mmpose is not installed ({exc})") from exc
        if not Path(config).is_file():
            raise ModelUnavailable(self.name, f"the config file {config} does not exist")
        if "://" not in str(checkpoint) and not Path(checkpoint).is_file():
            raise ModelUnavailable(self.name, f"the checkpoint file {checkpoint} does not exist")
        self.device = resolve_device(self.requested_device)
        with _trusted_checkpoint_load():
            self._model = init_model(str(config), str(checkpoint), device=self.device)
        self._inference = inference_topdown

    def _estimate(self, rgb: np.ndarray) -> np.ndarray:
        height, width = rgb.shape[:2]
        box = np.array([[0, 0, width, height]], dtype=np.float32)  # the whole picture as the person box
        # mmpose's pipeline expects BGR (OpenCV order); copy so the reversed view is contiguous.
        results = self._inference(self._model, np.ascontiguousarray(rgb[:, :, ::-1]), bboxes=box, bbox_format="xyxy")
        if not results:
            raise geometry.NoPersonDetected("No person detected")
        instances = results[0].pred_instances
        keypoints = np.concatenate([instances.keypoints[0], instances.keypoint_scores[0][:, None]], axis=1)
        if keypoints.shape[0] >= 133:
            kp = geometry.from_coco_wholebody(keypoints[:133])
        else:
            kp = geometry.from_coco17(keypoints[:17])
        # A top-down model sees the box enlarged by its padding (1.25x, then widened to the input's
        # aspect), so it can place a point outside the picture (a limb beyond the frame). Like
        # geometry.from_mediapipe, such a point is not seen; here it becomes (0, 0, 0), geometry's
        # "unseen" (an off-picture position would be drawn and measured as if it were there).
        outside = (kp[:, 0] < 0) | (kp[:, 0] > width) | (kp[:, 1] < 0) | (kp[:, 1] > height)
        kp[outside] = 0.0
        return kp

    def close(self) -> None:
        self._model = None
