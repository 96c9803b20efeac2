"""Errors a user can cause. The CLI prints their message without a traceback.

``UsageError`` (bad arguments or configuration) exits with status 2; every other
``VsrDataError`` exits with status 1. Messages say what went wrong *and* what to do.
"""


class VsrDataError(Exception):
    """Base class of every error a user can cause and fix."""

    exit_code = 1


class UsageError(VsrDataError):
    """Invalid arguments or configuration, detected before any work starts."""

    exit_code = 2


class InputError(VsrDataError):
    """An input file or folder is missing, unreadable or of the wrong kind."""


class DatasetError(VsrDataError):
    """A dataset folder is missing, incomplete or of an unsupported schema version."""


class ClipError(VsrDataError):
    """One clip cannot be used (unreadable, too short, too small). Builds skip such clips."""


class TrainingError(VsrDataError):
    """A training run cannot go on (a non-finite loss, a run folder of another run)."""
