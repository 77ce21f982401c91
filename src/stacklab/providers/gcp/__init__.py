"""The GCP provider. Only `adapter` imports google-cloud-compute, and only once the provider
talks to GCP."""

from stacklab.providers.gcp.provider import GcpProvider

__all__ = ["GcpProvider"]
