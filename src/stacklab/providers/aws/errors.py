"""EC2 errors as stacklab errors: a failure (AWS said no) is told apart from a timeout."""

from __future__ import annotations

from stacklab.errors import ProviderError

RESUME_FIX = (
    "`stacklab up` again resumes (what exists is found by its tags and kept); "
    "`stacklab down` removes everything made so far"
)

# Held by something that is going away (an instance terminating, an ENI detaching):
# deleting again a little later works.
IN_USE_CODES = frozenset(
    {
        "DependencyViolation",
        "InvalidNetworkInterface.InUse",
        "VolumeInUse",
        "IncorrectState",
        "IncorrectInstanceState",
        "InvalidIPAddress.InUse",
    }
)

# Made a moment ago but not yet visible to every EC2 endpoint (eventual consistency).
NOT_YET_VISIBLE_CODES = frozenset(
    {
        "InvalidVpcID.NotFound",
        "InvalidSubnetID.NotFound",
        "InvalidGroup.NotFound",
        "InvalidNetworkInterfaceID.NotFound",
        "InvalidInstanceID.NotFound",
        "InvalidAllocationID.NotFound",
        "InvalidRouteTableID.NotFound",
        "InvalidInternetGatewayID.NotFound",
        "InvalidKeyPair.NotFound",
    }
)

_CREDENTIALS_FIX = (
    "give stacklab AWS credentials: `aws configure` (or `aws sso login`), set provider.profile "
    "in the spec or AWS_PROFILE, and check the clock of this host"
)
_QUOTA_FIX = (
    "raise the quota in the Service Quotas console for this region, or `stacklab down` a lab "
    "you no longer need"
)
_FIXES = {
    "AuthFailure": _CREDENTIALS_FIX,
    "InvalidClientTokenId": _CREDENTIALS_FIX,
    "SignatureDoesNotMatch": _CREDENTIALS_FIX,
    "ExpiredToken": _CREDENTIALS_FIX,
    "RequestExpired": _CREDENTIALS_FIX,
    "UnauthorizedOperation": "allow this EC2 action for your IAM user or role "
    "(the error names it), or use a profile that has EC2 full access",
    "OptInRequired": "enable EC2 and this region for the account (AWS console), then retry",
    "VpcLimitExceeded": _QUOTA_FIX,
    "AddressLimitExceeded": _QUOTA_FIX,
    "InstanceLimitExceeded": _QUOTA_FIX,
    "VcpuLimitExceeded": _QUOTA_FIX,
    "NetworkInterfaceLimitExceeded": _QUOTA_FIX,
    "InsufficientInstanceCapacity": "AWS has no capacity of this type in the zone right now: "
    f"retry later or choose another machine type; {RESUME_FIX}",
    "Unsupported": "this machine type or option is not offered here: choose another type "
    "or region in the spec",
    "InvalidAMIID.NotFound": "set provider.image to an AMI id that exists in this region, "
    "or remove it to use the newest official Debian image",
    "InvalidAMIID.Malformed": "provider.image must be an AMI id such as ami-0123456789abcdef0",
}


def fix_for(code: str) -> str:
    return _FIXES.get(code, RESUME_FIX)


class AwsFailure(ProviderError):
    """An EC2 call failed: AWS answered with an error, or could not be reached."""

    def __init__(self, operation: str, code: str, message: str, *, fix: str | None = None):
        self.operation = operation
        self.code = code
        super().__init__(f"EC2 {operation} failed: {code}: {message}", fix=fix or fix_for(code))


class AwsTimeout(ProviderError):
    """EC2 did not reach the state waited for in time; nothing failed yet, it was just slow."""


def is_gone(code: str) -> bool:
    """The thing to delete does not exist (any more): deleting it is done."""
    return code.endswith(".NotFound")
