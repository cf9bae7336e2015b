"""Local runs and the demo: plain HTTP on the loopback address."""

from bienestar.config.settings.base import *  # noqa: F403
