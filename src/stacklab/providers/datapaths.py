"""Open vSwitch's datapath per node, as the probes of the kernels found it, for the plan.

Local nodes share this host's kernel; each ssh host has its own, asked when the ssh
provider surveys the hosts. Cloud providers say it in the catalog, so nothing is probed.
"""

from __future__ import annotations

from stacklab.config.models import Spec, SshProvider
from stacklab.config.presets import node_specs
from stacklab.config.tunnels import GENEVE, tunnel_for
from stacklab.doctor.ovs_datapath import (
    load_datapath,
    load_host_datapath,
    probe_host_datapath,
    ssh_host_key,
)
from stacklab.plan.models import DatapathChoice, Plan
from stacklab.providers.base import Provider
from stacklab.providers.registry import traits_of
from stacklab.runner import LocalRunner


def probed_datapaths(spec: Spec) -> dict[str, DatapathChoice]:
    """Node name -> the datapath its kernel's last probe decided (nodes never probed left out)."""
    if traits_of(spec.provider_kind).nodes_on_this_host:
        choice = load_host_datapath()
        return {} if choice is None else {node.name: choice for node in node_specs(spec)}
    if isinstance(spec.provider, SshProvider):
        found = {
            host.name: load_datapath(ssh_host_key(host.address, host.port))
            for host in spec.provider.hosts
        }
        return {name: choice for name, choice in found.items() if choice is not None}
    return {}


def datapaths_unprobed(spec: Spec) -> bool:
    """True where the plan would run Open vSwitch on a kernel nobody has asked yet."""
    if tunnel_for(spec.os) is not GENEVE:
        return False
    if traits_of(spec.provider_kind).nodes_on_this_host:
        return load_host_datapath() is None
    if isinstance(spec.provider, SshProvider):
        return len(probed_datapaths(spec)) < len(spec.provider.hosts)
    return False


def probe_datapaths(spec: Spec, plan: Plan, provider: Provider) -> None:
    """Ask the kernels: this host's, or every ssh host's through the provider's survey (its
    preflight check, which also records each host's datapath)."""
    if traits_of(spec.provider_kind).nodes_on_this_host:
        probe_host_datapath(LocalRunner())
    elif isinstance(spec.provider, SshProvider):
        provider.check(plan)
