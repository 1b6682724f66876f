"""Synthetic hand recordings: landmarks generated from a simple hand model, for demo data, tests and
benchmarks (never shipped recordings of people). Pure numpy, no Django."""

import math

import numpy as np

from .frames import FRAME_VALUES, HAND_VALUES, LANDMARKS, FrameBatch


def open_hand(curl: float = 0.0, x: float = 0.5, y: float = 0.6, size: float = 0.25) -> np.ndarray:
    """(21, 3) landmarks of a right hand, palm to the camera, fingers up (so its thumb is on the image's
    right in an unmirrored picture); `curl` (0..1) bends every finger towards the palm."""
    points = np.zeros((LANDMARKS, 3))
    points[0] = (x, y, 0.0)
    finger_roots = [(0.35, -0.25), (0.15, -0.55), (0.0, -0.6), (-0.15, -0.55), (-0.3, -0.45)]
    lengths = [0.18, 0.16, 0.12]
    bend = curl * math.radians(70)
    for f, (dx, dy) in enumerate(finger_roots):
        base = 1 + 4 * f
        root = np.array([x + dx * size, y + dy * size, 0.0])
        points[base] = root
        direction = np.array([dx * 0.3, -1.0, 0.0])
        direction /= np.linalg.norm(direction)
        position = root
        for k in range(3):
            angle = bend * (k + 1)
            step = np.array([direction[0] * math.cos(angle), direction[1] * math.cos(angle), -math.sin(angle) * 0.8])
            position = position + step * lengths[k] * size * 2.2
            points[base + k + 1] = position
    return points


def synthetic_batch(n: int = 30, *, fps: int = 30, start: float = 0.0, left: bool = False, right: bool = True,
                    gap_every: int = 0) -> FrameBatch:
    """n frames of a hand slowly closing and opening; `gap_every` drops the right hand every k-th frame."""
    values = np.zeros((n, 2, HAND_VALUES), dtype=np.float32)
    for i in range(n):
        curl = 0.5 - 0.5 * math.cos(2 * math.pi * i / max(n, 2))
        for h, wanted in enumerate((left, right)):
            if not wanted or (gap_every and h == 1 and i % gap_every == gap_every - 1):
                continue
            values[i, h, : LANDMARKS * 3] = open_hand(curl, x=0.35 + 0.3 * h).reshape(-1)
            values[i, h, LANDMARKS * 3:] = (1.0, 0.97, 0.9)
    timestamps = start + np.arange(n, dtype=np.float64) / fps
    return FrameBatch(timestamps, values.reshape(n, FRAME_VALUES))
