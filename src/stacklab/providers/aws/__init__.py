"""The AWS provider. Only `adapter` imports boto3, and only once the provider talks to AWS."""

from stacklab.providers.aws.provider import AwsProvider

__all__ = ["AwsProvider"]
