import threading

import numpy as np


class ModelUnavailable(Exception):
    def __init__(self, name: str, reason: str):
        super().__init__(f"Pose model {name!r} is unavailable: {reason}")
        self.name, self.reason = name, reason


def resolve_device(requested: str | None) -> str:
    """`cuda` (or `cuda:N`) when asked for and torch sees a GPU, else `cpu`."""
    if requested and requested.startswith("cuda"):
        try:
            import torch

            if torch.cuda.is_available():
                return requested
        except ImportError:
            pass
    return "cpu"


class Estimator:
    """One loaded model. `estimate` is serialised by a lock: the models are not thread-safe, and
    on a CPU one inference at a time is as fast as several."""

    device = "cpu"

    def __init__(self, *, name: str, device: str | None = None, **options):
        self.name = name
        self.requested_device = device
        self.options = options
        self._lock = threading.Lock()

    def load(self) -> None:
        raise NotImplementedError

    def _estimate(self, rgb: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def estimate(self, rgb: np.ndarray) -> np.ndarray:
        """(17, 3) keypoints [x, y, score] in pixels of `rgb`; NoPersonDetected when there is nobody."""
        with self._lock:
            return self._estimate(rgb)

    def close(self) -> None:
        pass
