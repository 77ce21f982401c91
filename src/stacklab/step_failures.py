"""What a step's unforeseen exception becomes: a known error when its cause is one (a full
disk), else an UnexpectedError whose traceback goes to a log file, never to the screen."""

from __future__ import annotations

import errno
import traceback
from datetime import UTC, datetime
from pathlib import Path

from stacklab.core.failure_causes import cause_of
from stacklab.errors import CommandError, HostError, StacklabError, UnexpectedError
from stacklab.state.paths import ensure_private_dir, lab_dir

LOGS_DIR = "logs"


def disk_full(path: str | None) -> HostError:
    where = path or "the lab's state directory"
    return HostError(
        f"No space left on the disk while writing {where}.",
        fix=f"free space on the file system that holds it (`df -h {where}`), then run "
        "`stacklab up` again: it resumes at this step",
    )


def known_cause(error: BaseException) -> StacklabError | None:
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return disk_full(error.filename if isinstance(error.filename, str) else None)
    return None


def traceback_log(lab: str, step: str, error: BaseException) -> Path | None:
    """Write the exception's traceback under the lab's directory; returns the file, or None
    when it could not be written."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    text = "".join(traceback.format_exception(error))
    try:
        directory = ensure_private_dir(lab_dir(lab) / LOGS_DIR)
        path = directory / f"{step}-{stamp}.traceback"
        path.write_text(text, encoding="utf-8")
    except OSError:  # the disk may be what failed: the journal still gets the message
        return None
    return path


def as_step_error(lab: str, step: str, error: Exception) -> StacklabError:
    known = known_cause(error)
    if known is not None:
        return known
    return UnexpectedError(step, error, traceback_log(lab, step, error))


def explained(error: StacklabError) -> StacklabError:
    """A failed command whose output shows a known cause (a full disk while writing a
    node's layers, a mirror gone), said with that cause and its fix."""
    if not isinstance(error, CommandError):
        return error
    cause = cause_of(error.output.splitlines())
    if cause is None:
        return error
    return HostError(f"{error.message}\nCause: {cause.what}.", details=error.details, fix=cause.fix)
