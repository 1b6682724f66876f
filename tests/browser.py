"""Helpers for browser tests: signing in through the page and a fake camera for Chromium."""

import numpy as np

from accounts.tests.factories import DEFAULT_PASSWORD


def sign_in(page, base: str, user) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#login-form [name=email]", user.email)
    page.fill("#login-form [name=password]", DEFAULT_PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_url(f"{base}/dashboard/")


def write_y4m(path, rgb: np.ndarray, frames: int = 30, fps: int = 30):
    """A Y4M video (4:2:0, full-range BT.601 as in JPEG) of one still RGB picture, for Chromium's fake camera."""
    height, width = rgb.shape[:2]
    r, g, b = (rgb[..., k].astype(np.float32) for k in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
    v = 0.5 * r - 0.418688 * g - 0.081312 * b + 128

    def subsampled(plane):
        return plane.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))

    planes = b"".join(np.clip(np.rint(plane), 0, 255).astype(np.uint8).tobytes()
                      for plane in (y, subsampled(u), subsampled(v)))
    with open(path, "wb") as video:
        video.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            video.write(b"FRAME\n" + planes)
    return path
