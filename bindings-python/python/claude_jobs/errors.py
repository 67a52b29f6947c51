"""Exceptions raised by claude_jobs.

Every error is a :class:`ClaudeJobsError` (catch-all); the specific classes
also subclass the builtin that fits them, so ``except ValueError`` or
``except KeyError`` work too. The native module picks the class from the
core's stable error kind, never from the message.

Attributes on every instance:

- ``code``: the core's stable code (``"INVALID_SPEC"``, ``"JOB_NOT_FOUND"``,
  ...), or ``None`` for errors of the binding itself that have no kind.
- ``field``: the spec field or option the error is about (``"memory"``), or ``None``.
- ``job_id``: the job id the error is about, or ``None``.
"""

from __future__ import annotations

from typing import Any, Optional


class ClaudeJobsError(Exception):
    """Base class of every claude_jobs error."""

    #: The stable code of the core's error kind, e.g. ``"INVALID_SPEC"``.
    code: Optional[str]
    #: The spec field or manager option the error is about.
    field: Optional[str]
    #: The job id the error is about.
    job_id: Optional[str]
    #: The message without the class name.
    message: str

    def __init__(
        self,
        message: str,
        *,
        code: Optional[str] = None,
        field: Optional[str] = None,
        job_id: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        self.job_id = job_id

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, code={self.code!r}, "
            f"field={self.field!r}, job_id={self.job_id!r})"
        )

    def __reduce__(self) -> Any:
        # Keep code/field/job_id across pickling (multiprocessing).
        return (_rebuild, (type(self), self.message, self.code, self.field, self.job_id))


def _rebuild(
    cls: type[ClaudeJobsError],
    message: str,
    code: Optional[str],
    field: Optional[str],
    job_id: Optional[str],
) -> ClaudeJobsError:
    return cls(message, code=code, field=field, job_id=job_id)


class InvalidSpecError(ClaudeJobsError, ValueError):
    """A job spec field or a manager option has a bad value (``INVALID_SPEC``);
    ``field`` names it."""


class JobNotFoundError(ClaudeJobsError, KeyError):
    """No job with that id (``JOB_NOT_FOUND``); ``job_id`` is the id asked for."""


class SpawnError(ClaudeJobsError, OSError):
    """The Claude CLI could not be found or started (``SPAWN_FAILED``)."""


class IsolationError(ClaudeJobsError, OSError):
    """cgroups were required but cannot be used (``ISOLATION_FAILED``)."""


class TemplateError(ClaudeJobsError, ValueError):
    """An unknown template or variables that do not fit it (``TEMPLATE_ERROR``)."""


class StoreError(ClaudeJobsError, RuntimeError):
    """The job store failed (``STORE_ERROR``)."""


class ShuttingDownError(ClaudeJobsError, RuntimeError):
    """The manager is shutting down and takes no new work (``SHUTTING_DOWN``)."""


class CapacityExceededError(ClaudeJobsError, ValueError):
    """The job asks for more than the manager can ever give (``CAPACITY_EXCEEDED``)."""


class ManagerIOError(ClaudeJobsError, OSError):
    """An I/O error of the manager itself: data dir, logs (``IO_ERROR``)."""


class PolicyViolationError(ClaudeJobsError, PermissionError):
    """The spec breaks the manager's policy; ``field`` names what (``POLICY_VIOLATION``)."""


class QuotaExceededError(ClaudeJobsError, RuntimeError):
    """A tenant's quota is used up (``QUOTA_EXCEEDED``); ``tenant`` names it,
    ``retry_after`` (seconds) says when to try again, when known (a spent daily
    budget: at 00:00 UTC; a full queue (``max_queued``): the core's hint)."""

    #: Seconds to wait before trying again, when known.
    retry_after: Optional[float] = None
    #: The tenant whose quota it is.
    tenant: Optional[str] = None


#: The class for each core error code.
BY_CODE: dict[str, type[ClaudeJobsError]] = {
    "INVALID_SPEC": InvalidSpecError,
    "JOB_NOT_FOUND": JobNotFoundError,
    "SPAWN_FAILED": SpawnError,
    "ISOLATION_FAILED": IsolationError,
    "TEMPLATE_ERROR": TemplateError,
    "STORE_ERROR": StoreError,
    "SHUTTING_DOWN": ShuttingDownError,
    "CAPACITY_EXCEEDED": CapacityExceededError,
    "IO_ERROR": ManagerIOError,
    "POLICY_VIOLATION": PolicyViolationError,
    "QUOTA_EXCEEDED": QuotaExceededError,
}

__all__ = [
    "ClaudeJobsError",
    "InvalidSpecError",
    "JobNotFoundError",
    "SpawnError",
    "IsolationError",
    "TemplateError",
    "StoreError",
    "ShuttingDownError",
    "CapacityExceededError",
    "ManagerIOError",
    "PolicyViolationError",
    "QuotaExceededError",
    "BY_CODE",
]
