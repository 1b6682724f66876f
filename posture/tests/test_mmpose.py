"""The MMPose backend for real: an RTMPose-m COCO config shipped inside mmpose, a checkpoint saved
here from the freshly initialised model (no pretrained weights can be downloaded: the keypoints
are meaningless, but config parsing, model building, checkpoint loading through mmengine,
preprocessing, inference and decoding all run), on skimage's astronaut (public domain)."""

from pathlib import Path

import numpy as np
import pytest

from accounts.tests.factories import UserFactory
from posture.estimators import forget_loaded, get_estimator

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

mmpose = pytest.importorskip("mmpose", reason="mmpose is installed by `make test` (requirements/mmpose*.txt)")
torch = pytest.importorskip("torch")

CONFIG = (Path(mmpose.__file__).parent / ".mim" / "configs" / "body_2d_keypoint" / "rtmpose" / "coco"
          / "rtmpose-m_8xb256-420e_coco-256x192.py")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A checkpoint like mmpose's own (state_dict + meta with dataset_meta, which holds numpy arrays
    that torch's weights_only loader refuses), of a randomly initialised RTMPose-m."""
    from posture.estimators.mmpose_topdown import _import_mmpose

    init_model, _ = _import_mmpose()
    torch.manual_seed(0)
    model = init_model(str(CONFIG), None, device="cpu")
    path = tmp_path_factory.mktemp("mmpose") / "rtmpose-m-random.pth"
    torch.save({"state_dict": model.state_dict(),
                "meta": {"dataset_meta": model.dataset_meta, "note": "random weights, for tests only"}}, path)
    return path


@pytest.fixture
def mmpose_models(settings, checkpoint):
    settings.POSE_MODELS = {
        "mediapipe": {"backend": "mediapipe"},
        "test-mmpose": {"backend": "mmpose", "config": str(CONFIG), "checkpoint": str(checkpoint), "device": "cpu"},
        "no-config": {"backend": "mmpose", "config": str(CONFIG.with_name("no-such-config.py")),
                      "checkpoint": str(checkpoint), "device": "cpu"},
    }
    forget_loaded()
    yield settings
    forget_loaded()


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


def test_config_is_shipped_with_mmpose():
    assert CONFIG.is_file()


def test_mmpose_estimates_coco17_on_a_real_picture(mmpose_models, astronaut):
    estimator = get_estimator("test-mmpose")
    assert estimator.device == "cpu"
    keypoints = estimator.estimate(astronaut)
    assert isinstance(keypoints, np.ndarray) and keypoints.shape == (17, 3)
    assert np.issubdtype(keypoints.dtype, np.floating) and np.isfinite(keypoints).all()
    height, width = astronaut.shape[:2]
    assert ((keypoints[:, 0] >= 0) & (keypoints[:, 0] <= width)).all()
    assert ((keypoints[:, 1] >= 0) & (keypoints[:, 1] <= height)).all()
    assert ((keypoints[:, 2] >= 0) & (keypoints[:, 2] <= 1)).all()
    assert get_estimator("test-mmpose") is estimator  # loaded once


def test_the_checkpoint_weights_are_the_ones_loaded(mmpose_models, checkpoint):
    saved = torch.load(checkpoint, map_location="cpu", weights_only=False)["state_dict"]
    loaded = get_estimator("test-mmpose")._model.state_dict()
    assert saved.keys() == loaded.keys()
    assert all(torch.equal(saved[k], loaded[k]) for k in saved)


def test_the_weights_only_override_does_not_leak(mmpose_models):
    import os

    get_estimator("test-mmpose")
    assert "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD" not in os.environ


def test_models_endpoint_reports_mmpose(client_for, mmpose_models):
    body = client_for(UserFactory()).get("/api/v1/posture/models").json()
    models = {m["name"]: m for m in body["models"]}
    assert models["test-mmpose"]["available"] and models["test-mmpose"]["device"] == "cpu", models["test-mmpose"]
    assert models["test-mmpose"]["backend"] == "mmpose" and models["test-mmpose"]["reason"] == ""
    missing = models["no-config"]
    assert not missing["available"] and "does not exist" in missing["reason"] and "no-such-config.py" in missing["reason"]


def test_stand_ins_only_where_the_real_module_cannot_import(mmpose_models):
    """mmcv-lite: `mmcv.ops` is served by placeholders that refuse to run; no fake torchvision stays."""
    import importlib
    import sys

    get_estimator("test-mmpose")
    vision = sys.modules.get("torchvision")
    assert vision is None or "Stand-in" not in (vision.__doc__ or "")
    ops = importlib.import_module("mmcv.ops")
    if "Stand-in" in (ops.__doc__ or ""):
        with pytest.raises(RuntimeError, match="mmcv-lite has no compiled ops"):
            importlib.import_module("mmcv.ops.nms").batched_nms(None, None, None, {})
        with pytest.raises(RuntimeError, match="MultiScaleDeformableAttention is unavailable"):
            importlib.import_module("mmcv.ops.multi_scale_deform_attn").MultiScaleDeformableAttention()
