"""Errors of the bootstrap."""

from __future__ import annotations

from stacklab.errors import CloudError


class BootstrapError(CloudError):
    """The lab's cloud holds something bootstrap cannot use or fix in place."""
