"""The Compute adapter: the only code that imports google-cloud-compute (client.py) and sees
its messages (shapes.py works on their dict form). It hands out records from `records`."""

from stacklab.providers.gcp.adapter.calls import ComputeCalls


class ComputeAdapter(ComputeCalls):
    """Every Compute call the GCP provider makes."""


__all__ = ["ComputeAdapter"]
