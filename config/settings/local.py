"""Developer and demo settings: embedded defaults, DEBUG on, console email."""

from .base import *  # noqa: F401,F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)

