"""The EC2 adapter: the only code that sees boto3 (client.py imports it) and EC2's untyped
dicts (shapes.py). Everything it hands out is a typed record from `records`."""

from stacklab.providers.aws.adapter.compute_calls import ComputeCalls
from stacklab.providers.aws.adapter.network_calls import NetworkCalls


class Ec2Adapter(NetworkCalls, ComputeCalls):
    """Every EC2 call the AWS provider makes."""


__all__ = ["Ec2Adapter"]
