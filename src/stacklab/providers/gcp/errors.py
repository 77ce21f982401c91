"""Compute API errors as stacklab errors: a failure (GCP said no) told apart from a timeout."""

from __future__ import annotations

from stacklab.errors import ProviderError

RESUME_FIX = (
    "`stacklab up` again resumes (what exists is found by its labels and names and kept); "
    "`stacklab down` removes everything made so far"
)
CREDENTIALS_FIX = (
    "give stacklab Google credentials: `gcloud auth application-default login`, or set "
    "provider.credentials_file to a service-account key file; the account needs the roles "
    "the README lists"
)
_QUOTA_FIX = "raise the quota (IAM & Admin > Quotas) or `stacklab down` a lab you no longer need"
_FIXES = {
    "UNAUTHENTICATED": CREDENTIALS_FIX,
    "401": CREDENTIALS_FIX,
    "forbidden": "grant the account the roles the README lists (Compute Instance Admin, "
    "Compute Network Admin, Compute Security Admin, Service Account User) on the project",
    "403": "grant the account the roles the README lists on the project, and enable the "
    "Compute Engine API for it",
    "QUOTA_EXCEEDED": _QUOTA_FIX,
    "quotaExceeded": _QUOTA_FIX,
    "ZONE_RESOURCE_POOL_EXHAUSTED": "GCP has no capacity of this type in the zone right now: "
    f"retry later or choose another provider.zone; {RESUME_FIX}",
}
# Held by something that is going away: deleting again a little later works.
IN_USE_CODES = frozenset({"resourceInUseByAnotherResource", "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE"})


def fix_for(code: str) -> str:
    return _FIXES.get(code, RESUME_FIX)


class GcpFailure(ProviderError):
    """A Compute API call or operation failed: GCP answered with an error."""

    def __init__(self, operation: str, code: str, message: str, *, fix: str | None = None):
        self.operation = operation
        self.code = code
        super().__init__(f"Compute {operation} failed: {code}: {message}", fix=fix or fix_for(code))


class GcpTimeout(ProviderError):
    """An operation did not end in time; nothing failed yet, it was just slow."""
