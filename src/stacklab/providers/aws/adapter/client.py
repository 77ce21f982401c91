"""The only module that imports boto3: a client, and how every EC2 call is made.

Credentials and region come from the spec's profile and region, else from the standard AWS
environment; so does the endpoint (AWS_ENDPOINT_URL), which is how the tests reach moto.
Calls are retried while EC2 is eventually consistent ("not found" just after a create,
"in use" while something is going away); a deadline raises AwsTimeout, anything else an
AwsFailure carrying a fix.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Self

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]
from botocore.parsers import ResponseParserError  # type: ignore[import-untyped]

from stacklab.providers.aws.errors import (
    IN_USE_CODES,
    NOT_YET_VISIBLE_CODES,
    RESUME_FIX,
    AwsFailure,
    is_gone,
)
from stacklab.providers.aws.records import Filters
from stacklab.providers.aws.retry import Pacing, retry

DEFAULT_REGION = "us-east-1"  # the spec's default, when neither it nor the environment says
VISIBLE_TIMEOUT_S = 120.0
DELETE_TIMEOUT_S = 600.0
INSTANCE_TIMEOUT_S = 900.0
_CONNECT_FIX = (
    "check provider.profile and provider.region in the spec (or AWS_PROFILE, AWS_REGION), "
    "that `aws sts get-caller-identity` works, and that this host reaches AWS"
)

# What `delete` removes: kind -> (boto3 method, the parameter naming it).
DELETIONS = {
    "elastic-ip-association": ("disassociate_address", "AssociationId"),
    "elastic-ip": ("release_address", "AllocationId"),
    "network-interface": ("delete_network_interface", "NetworkInterfaceId"),
    "volume": ("delete_volume", "VolumeId"),
    "security-group": ("delete_security_group", "GroupId"),
    "subnet": ("delete_subnet", "SubnetId"),
    "route-table-association": ("disassociate_route_table", "AssociationId"),
    "route-table": ("delete_route_table", "RouteTableId"),
    "internet-gateway": ("delete_internet_gateway", "InternetGatewayId"),
    "vpc": ("delete_vpc", "VpcId"),
    "key-pair": ("delete_key_pair", "KeyName"),
    "image": ("deregister_image", "ImageId"),
    "snapshot": ("delete_snapshot", "SnapshotId"),
}


class Ec2Client:
    """A boto3 EC2 client, and the calling, retrying and waiting every call shares."""

    def __init__(
        self,
        client: Any,
        *,
        pacing: Pacing | None = None,
        visible_timeout: float = VISIBLE_TIMEOUT_S,
        delete_timeout: float = DELETE_TIMEOUT_S,
        instance_timeout: float = INSTANCE_TIMEOUT_S,
    ):
        self._client = client
        self.pacing = pacing or Pacing()
        self.visible_timeout = visible_timeout
        self.delete_timeout = delete_timeout
        self.instance_timeout = instance_timeout

    @classmethod
    def connect(
        cls,
        *,
        region: str | None,
        profile: str | None,
        pacing: Pacing | None = None,
        timeout: float | None = None,
    ) -> Self:
        """timeout: one limit for every wait instead of the defaults (tests use a short one)."""
        with _as_aws_failure("connect"):
            session = boto3.session.Session(profile_name=profile, region_name=region)
            retries = Config(retries={"mode": "standard", "max_attempts": 8})
            client = session.client(
                "ec2", region_name=session.region_name or DEFAULT_REGION, config=retries
            )
        if timeout is None:
            return cls(client, pacing=pacing)
        return cls(
            client,
            pacing=pacing,
            visible_timeout=timeout,
            delete_timeout=timeout,
            instance_timeout=timeout,
        )

    @property
    def region(self) -> str:
        return str(self._client.meta.region_name)

    # plumbing

    def _call(self, method: str, **kwargs: Any) -> Any:
        with _as_aws_failure(method):
            return getattr(self._client, method)(**kwargs)

    def _visible(
        self, method: str, extra_codes: frozenset[str] = frozenset(), **kwargs: Any
    ) -> Any:
        """A call that names something made a moment ago: retried until EC2 sees it."""
        return retry(
            lambda: self._call(method, **kwargs),
            retry_codes=NOT_YET_VISIBLE_CODES | extra_codes,
            timeout=self.visible_timeout,
            what=f"EC2 {method}",
            fix=RESUME_FIX,
            pacing=self.pacing,
        )

    def _delete(self, method: str, what: str, **kwargs: Any) -> bool:
        """Delete, waiting out "in use"; False if it was gone already."""
        try:
            retry(
                lambda: self._call(method, **kwargs),
                retry_codes=IN_USE_CODES,
                timeout=self.delete_timeout,
                what=f"deleting {what}",
                fix="`stacklab down` again once what holds it is gone; "
                "`stacklab down --dry-run` lists what is left",
                pacing=self.pacing,
            )
        except AwsFailure as failure:
            if is_gone(failure.code):
                return False
            raise
        return True

    def delete(self, kind: str, ident: str) -> bool:
        """Delete one thing of a kind in DELETIONS, waiting out "in use"; False if it was
        gone already."""
        method, parameter = DELETIONS[kind]
        return self._delete(method, f"{kind} {ident}", **{parameter: ident})

    def _describe(
        self, method: str, key: str, filters: Filters | None = None, **kwargs: Any
    ) -> list[Any]:
        if filters:
            kwargs["Filters"] = [{"Name": name, "Values": list(v)} for name, v in filters.items()]
        if not self._client.can_paginate(method):
            return list(self._call(method, **kwargs).get(key, []))
        items: list[Any] = []
        with _as_aws_failure(method):
            for page in self._client.get_paginator(method).paginate(**kwargs):
                items.extend(page.get(key, []))
        return items


@contextmanager
def _as_aws_failure(method: str) -> Iterator[None]:
    try:
        yield
    except ClientError as error:
        details = error.response.get("Error", {})
        raise AwsFailure(
            error.operation_name, details.get("Code", "Unknown"), details.get("Message", "")
        ) from error
    except (BotoCoreError, ResponseParserError) as error:
        raise AwsFailure(method, type(error).__name__, str(error), fix=_CONNECT_FIX) from error
