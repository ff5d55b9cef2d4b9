"""Errors that tell a student what went wrong and what to do next."""
from __future__ import annotations

__all__ = ["CnnlibError", "DataUnavailableError", "WeightsIntegrityError"]


class CnnlibError(Exception):
    """Base class for every error cnnlib raises on purpose."""


class DataUnavailableError(CnnlibError, FileNotFoundError):
    """A dataset or weights file is not on this machine and cannot be downloaded.

    The message is one paragraph: what was looked for, where, and how to get it.
    """


class WeightsIntegrityError(CnnlibError, ValueError):
    """A weights file exists but its checksum does not match the expected one."""
