"""MediaPipe Pose (BlazePose, 33 landmarks) from the installed mediapipe 0.10.21 wheel. Only model
complexity 1 ships inside the wheel (0 and 2 would be downloaded, which cannot happen here)."""

import numpy as np

from .. import geometry
from .base import Estimator, ModelUnavailable


class MediaPipePose(Estimator):
    def load(self) -> None:
        try:
            import mediapipe as mp
        except ImportError as exc:
            raise ModelUnavailable(self.name, f"mediapipe is not installed ({exc})") from exc
        self._pose = mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1,
                                            min_detection_confidence=self.options.get("min_detection_confidence", 0.5))
        self.device = "cpu"

    def _estimate(self, rgb: np.ndarray) -> np.ndarray:
        result = self._pose.process(np.ascontiguousarray(rgb))
        if result.pose_landmarks is None:
            raise geometry.NoPersonDetected("No person detected")
        landmarks = np.array([[p.x, p.y, p.z, p.visibility] for p in result.pose_landmarks.landmark],
                             dtype=np.float32)
        return geometry.from_mediapipe(landmarks, rgb.shape[1], rgb.shape[0])

    def close(self) -> None:
        self._pose.close()
