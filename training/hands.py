"""MediaPipe Hands (the legacy `mp.solutions` API of mediapipe 0.10.21, whose models ship in the wheel).

One `HandTracker` per stream (a live socket, a video): in tracking mode MediaPipe follows the hands
from frame to frame, which is both faster and steadier than detecting on every frame. A tracker is
not thread-safe; the callers give each stream its own and run it off the event loop.

Handedness: MediaPipe labels hands as if the image were mirrored (a selfie view). Camera frames and
videos reach us unmirrored, so its "Left" is the person's right hand; `mirrored=True` is for
images that were already flipped. The legacy API reports one score per hand (the handedness
classification, given only to hands above `min_detection_confidence`); it is stored as both the
handedness score and the detection confidence.
"""

import numpy as np

from core.images import InvalidImage, decode_image  # noqa: F401 - the socket's image errors

from .frames import HANDS, XY_RANGE, Z_RANGE

# MediaPipe extrapolates landmarks a little past the picture's edges; keep them in the stored ranges.
_LOW = (XY_RANGE[0], XY_RANGE[0], Z_RANGE[0])
_HIGH = (XY_RANGE[1], XY_RANGE[1], Z_RANGE[1])


class HandTracker:
    def __init__(self, *, tracking: bool = True, mirrored: bool = False, max_hands: int = 2,
                 min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5):
        import mediapipe as mp

        self._hands = mp.solutions.hands.Hands(
            static_image_mode=not tracking, max_num_hands=max_hands, model_complexity=1,
            min_detection_confidence=min_detection_confidence, min_tracking_confidence=min_tracking_confidence,
        )
        self._mirrored = mirrored

    def detect(self, rgb: np.ndarray) -> dict:
        """{"left": {"landmarks": 21 × [x, y, z], "score", "confidence"} | None, "right": ...} for one frame."""
        result = self._hands.process(np.ascontiguousarray(rgb))
        hands: dict = dict.fromkeys(HANDS)
        if not result.multi_hand_landmarks:
            return hands
        for landmarks, handedness in zip(result.multi_hand_landmarks, result.multi_handedness, strict=True):
            label = handedness.classification[0].label.lower()
            score = float(handedness.classification[0].score)
            hand = label if self._mirrored else ("right" if label == "left" else "left")
            previous = hands[hand]
            if previous is not None and previous["score"] >= score:
                continue  # two detections called the same hand: keep the surer one
            points = np.clip([[p.x, p.y, p.z] for p in landmarks.landmark], _LOW, _HIGH).tolist()
            hands[hand] = {"landmarks": points, "score": score, "confidence": score}
        return hands

    def close(self) -> None:
        self._hands.close()

    def __enter__(self) -> "HandTracker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
