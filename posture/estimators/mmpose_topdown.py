"""MMPose top-down models (e.g. a COCO-WholeBody model named `cx`, or RTMPose): config + checkpoint +
device from settings. mmpose is not part of the default install (see requirements/ml.txt and
shared/DEPENDENCIES.md); without it such a model is reported unavailable."""

import numpy as np

from .. import geometry
from .base import Estimator, ModelUnavailable, resolve_device


class MMPoseTopDown(Estimator):
    def load(self) -> None:
        config, checkpoint = self.options.get("config"), self.options.get("checkpoint")
        if not config or not checkpoint:
            raise ModelUnavailable(self.name, "an MMPose model needs `config` and `checkpoint` in POSE_MODELS")
        try:
            from mmpose.apis import inference_topdown, init_model
        except ImportError as exc:
            raise ModelUnavailable(self.name, f"mmpose is not installed ({exc})") from exc
        self.device = resolve_device(self.requested_device)
        self._model = init_model(config, checkpoint, device=self.device)
        self._inference = inference_topdown

    def _estimate(self, rgb: np.ndarray) -> np.ndarray:
        height, width = rgb.shape[:2]
        box = np.array([[0, 0, width, height]], dtype=np.float32)  # the whole picture as the person box
        results = self._inference(self._model, rgb[:, :, ::-1], bboxes=box, bbox_format="xyxy")
        if not results:
            raise geometry.NoPersonDetected("No person detected")
        instances = results[0].pred_instances
        keypoints = np.concatenate([instances.keypoints[0], instances.keypoint_scores[0][:, None]], axis=1)
        if keypoints.shape[0] >= 133:
            return geometry.from_coco_wholebody(keypoints[:133])
        return geometry.from_coco17(keypoints[:17])
