"""The only module that imports google-cloud-compute: the clients, and how every Compute call
is made, waited on and turned into stacklab errors.

Every client talks REST. Credentials come from provider.credentials_file (a service-account
key), else from application default credentials; the endpoint is Google's unless the
gcloud override CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE names another (how the tests reach
their local stand-in). Inserts and deletes return operations: each is waited on (the zone's,
region's or global operations' `wait`) until DONE, and its error raised as a GcpFailure.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from google.api_core import exceptions as api_errors
from google.api_core.client_options import ClientOptions
from google.auth import default as default_credentials
from google.auth import exceptions as auth_errors
from google.auth.credentials import Credentials
from google.cloud import compute_v1
from google.oauth2 import service_account

from stacklab.errors import ProviderError
from stacklab.providers.gcp.errors import (
    CREDENTIALS_FIX,
    IN_USE_CODES,
    RESUME_FIX,
    GcpFailure,
    GcpTimeout,
)

ENDPOINT_VARIABLE = "CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
OPERATION_TIMEOUT_S = 900.0
DELETE_TIMEOUT_S = 300.0
_CONNECT_FIX = "check that this host reaches the Compute API, then `stacklab up` again"

CLIENTS: dict[str, Callable[..., Any]] = {
    "networks": compute_v1.NetworksClient,
    "subnetworks": compute_v1.SubnetworksClient,
    "firewalls": compute_v1.FirewallsClient,
    "routes": compute_v1.RoutesClient,
    "instances": compute_v1.InstancesClient,
    "disks": compute_v1.DisksClient,
    "images": compute_v1.ImagesClient,
    "zone_operations": compute_v1.ZoneOperationsClient,
    "region_operations": compute_v1.RegionOperationsClient,
    "global_operations": compute_v1.GlobalOperationsClient,
}


def endpoint_from_environment() -> str | None:
    """gcloud's override names the API's root (`http://host:port/compute/v1/`); the client
    takes the host part."""
    value = os.environ.get(ENDPOINT_VARIABLE, "").strip()
    return value.rstrip("/").removesuffix("/compute/v1") or None


def load_credentials(credentials_file: Path | None) -> Credentials:
    if credentials_file is not None:
        try:
            loaded: Credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                str(credentials_file.expanduser()), scopes=SCOPES
            )
            return loaded
        except (OSError, ValueError, KeyError) as error:
            raise ProviderError(
                f"provider.credentials_file {credentials_file} is not a usable service-account "
                f"key: {error}",
                fix="download a new JSON key of the service account, or remove "
                "provider.credentials_file to use application default credentials",
            ) from error
    try:
        found, _ = default_credentials(scopes=SCOPES)
    except auth_errors.DefaultCredentialsError as error:
        raise ProviderError(f"No Google credentials found: {error}", fix=CREDENTIALS_FIX) from error
    return found


class ComputeClient:
    """The Compute clients of one project, and the calling and waiting every call shares."""

    def __init__(
        self,
        project: str,
        clients: dict[str, Any],
        *,
        operation_timeout: float = OPERATION_TIMEOUT_S,
        delete_timeout: float = DELETE_TIMEOUT_S,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.project = project
        self._clients = clients
        self.operation_timeout = operation_timeout
        self.delete_timeout = delete_timeout
        self._sleep = sleep
        self._clock = clock

    @classmethod
    def connect(
        cls,
        *,
        project: str,
        credentials_file: Path | None = None,
        endpoint: str | None = None,
        credentials: Credentials | None = None,
        timeout: float | None = None,
    ) -> Self:
        """endpoint: default from the environment, else Google's. timeout: one limit for
        every wait instead of the defaults (tests use a short one)."""
        found = credentials or load_credentials(credentials_file)
        endpoint = endpoint or endpoint_from_environment()
        options = ClientOptions(api_endpoint=endpoint) if endpoint else None
        with _as_failure("connect"):
            clients = {
                name: make(credentials=found, transport="rest", client_options=options)
                for name, make in CLIENTS.items()
            }
        if timeout is None:
            return cls(project, clients)
        return cls(project, clients, operation_timeout=timeout, delete_timeout=timeout)

    # plumbing

    def _call(self, client: str, method: str, **request: Any) -> Any:
        with _as_failure(f"{client}.{method}"):
            return getattr(self._clients[client], method)(request=request)

    def _list(self, client: str, **request: Any) -> list[dict[str, Any]]:
        """Every item, every page, as plain dicts with the API's field names in snake case."""
        with _as_failure(f"{client}.list"):
            pager = self._clients[client].list(request={"project": self.project, **request})
            return [_plain(item) for item in pager]

    def _get(self, client: str, method: str = "get", **request: Any) -> dict[str, Any] | None:
        """The resource, or None if it does not exist."""
        try:
            return _plain(self._call(client, method, **request))
        except GcpFailure as failure:
            if failure.code == "404":
                return None
            raise

    def _change(self, client: str, method: str, what: str, **request: Any) -> None:
        """An insert, patch, start or stop: the call, then its operation waited on."""
        operation = self._call(client, method, project=self.project, **request)
        self._wait(operation, what)

    def _delete(self, client: str, what: str, **request: Any) -> bool:
        """Delete and wait; False if it was gone already. "In use" is waited out."""
        deadline = self._clock() + self.delete_timeout
        pause = 1.0
        while True:
            try:
                self._change(client, "delete", what, **request)
                return True
            except GcpFailure as failure:
                if failure.code == "404":
                    return False
                if failure.code not in IN_USE_CODES or self._clock() >= deadline:
                    raise
            self._sleep(pause)
            pause = min(pause * 2, 10.0)

    def _wait(self, operation: Any, what: str) -> None:
        deadline = self._clock() + self.operation_timeout
        while operation.status != compute_v1.Operation.Status.DONE:
            if self._clock() >= deadline:
                raise GcpTimeout(
                    f"Timed out after {self.operation_timeout:.0f} s waiting for {what} "
                    f"(operation {operation.name} is {operation.status.name}).",
                    fix=f"check the operation in the console; {RESUME_FIX}",
                )
            operation = self._wait_once(operation)
            if operation.status != compute_v1.Operation.Status.DONE:
                # GCP's wait may answer early, even at once when it is busy: not in a loop.
                self._sleep(2.0)
        if operation.error and operation.error.errors:
            first = operation.error.errors[0]
            raise GcpFailure(what, first.code, first.message)

    def _wait_once(self, operation: Any) -> Any:
        """GCP's operations `wait` answers when the operation is done, or after 2 minutes."""
        if operation.zone:
            scope = {"zone": operation.zone.rsplit("/", 1)[-1]}
            client = "zone_operations"
        elif operation.region:
            scope = {"region": operation.region.rsplit("/", 1)[-1]}
            client = "region_operations"
        else:
            scope, client = {}, "global_operations"
        return self._call(client, "wait", project=self.project, operation=operation.name, **scope)


def _plain(message: Any) -> dict[str, Any]:
    plain: dict[str, Any] = type(message).to_dict(message, use_integers_for_enums=False)
    return plain


@contextmanager
def _as_failure(operation: str) -> Iterator[None]:
    try:
        yield
    except api_errors.GoogleAPICallError as error:
        reasons = [
            detail.get("reason") for detail in (error.errors or []) if isinstance(detail, dict)
        ]
        code = next((reason for reason in reasons if reason), None) or str(error.code or "")
        if error.code == 404:
            code = "404"
        raise GcpFailure(operation, code, error.message or str(error)) from error
    except auth_errors.GoogleAuthError as error:
        raise GcpFailure(operation, "UNAUTHENTICATED", str(error), fix=CREDENTIALS_FIX) from error
    except (api_errors.RetryError, OSError) as error:
        raise GcpFailure(operation, type(error).__name__, str(error), fix=_CONNECT_FIX) from error
