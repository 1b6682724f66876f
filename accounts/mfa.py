"""TOTP and backup codes (pyotp). Backup codes are random, so a keyed SHA-256 stores them safely
and checks them in constant time, unlike a slow password hash per code."""

import hashlib
import hmac
import secrets
import time

import pyotp
from django.conf import settings

TOTP_INTERVAL = 30
VALID_WINDOW = 1  # accept the previous and next 30 s step for clock drift


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=settings.MFA_ISSUER)


def matching_step(secret: str, code: str, *, at: float | None = None) -> int | None:
    """The time step whose TOTP equals `code` (within the drift window), or None."""
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_INTERVAL)
    now = time.time() if at is None else at
    current = int(now // TOTP_INTERVAL)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.at(step * TOTP_INTERVAL), code):
            return step
    return None


def new_backup_codes(count: int) -> list[str]:
    return [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(count)]


def normalize_backup_code(code: str) -> str:
    return code.strip().lower().replace(" ", "")


def hash_backup_code(code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, normalize_backup_code(code).encode(), hashlib.sha256).hexdigest()


def qr_svg(uri: str) -> str:
    """The otpauth URI as an inline SVG QR code (no image library needed)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")
