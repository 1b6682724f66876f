"""Pictures from clients (sockets, uploads, base64 JSON): decoded once, with the same errors everywhere."""

import base64
import binascii
import io

import numpy as np

MAX_IMAGE_PIXELS = 4096 * 4096


class InvalidImage(ValueError):
    """Answered as is: "No image provided.", "Invalid image data: …", or a size limit."""


def decode_image(data: bytes, *, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """RGB uint8 (h, w, 3) from JPEG/PNG/WebP bytes; InvalidImage when it is not a picture."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise InvalidImage("No image provided.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > max_pixels:
                raise InvalidImage(f"The image is too large ({image.width}×{image.height}); at most "
                                   f"{max_pixels / 1e6:g} megapixels.")
            return np.asarray(image.convert("RGB"))
    except InvalidImage:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidImage("Invalid image data: expected a JPEG, PNG or WebP picture.") from exc


def decode_base64_image(text: str, **options) -> np.ndarray:
    """As decode_image, from base64 text or a data: URL."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidImage("No image provided.")
    try:
        data = base64.b64decode(text.split(",", 1)[-1], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidImage("Invalid image data: the image must be base64 (or a data: URL).") from exc
    return decode_image(data, **options)
