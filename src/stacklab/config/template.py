"""The commented spec that `stacklab init` writes."""

from __future__ import annotations

from ipaddress import IPv4Network

from stacklab.config.models import Preset, ProviderKind

HEADER = """\
# stacklab lab spec. `stacklab plan` shows what it makes; `stacklab up` makes it;
# `stacklab down` removes it. `stacklab schema` prints every field as JSON schema.

# Lab name: 1-10 of a-z, 0-9 and '-', starting with a letter. Every resource
# of the lab carries it, so `status` and `down` find them even without state.
name: {name}
"""

PROVIDERS = {
    ProviderKind.LOCAL: """
# Where the nodes run. local: systemd-nspawn machines on this host (needs root).
provider:
  kind: local
  # Debian mirror for the nodes; default: the one this host's apt uses.
  # mirror: http://mirror.example.org/debian
  # Share an apt cache on this host between labs (apt-cacher-ng).
  apt_cache: true
""",
    ProviderKind.SSH: """
# Where the nodes run. ssh: hosts you already have; one host per node, by name.
provider:
  kind: ssh
  hosts:
{hosts}""",
    ProviderKind.AWS: """
# Where the nodes run. aws: EC2 instances in a VPC of their own (costs money!).
provider:
  kind: aws
  region: us-east-1
  # profile: default              # AWS CLI profile for the credentials
  # machine_types:                # per role; default from the catalog
  #   compute: m8i.2xlarge        # C8i/M8i/R8i: nested KVM; *.metal: KVM; others: qemu
  # image: ami-0123456789abcdef0  # default: the newest official Debian image
  root_volume_gb: 50
  # owner: you@example.com        # Owner tag on every resource
""",
    ProviderKind.GCP: """
# Where the nodes run. gcp: Compute Engine instances, one VPC per lab network (costs money!).
provider:
  kind: gcp
  # project: my-lab-project     # required: the project the lab is made in
  region: us-central1
  zone: us-central1-a
  # machine_types:                # per role; default from the catalog
  #   compute: n2-standard-4      # Intel series: nested KVM; E2/N2D/AMD/Arm: qemu
  # credentials_file: ~/.keys/gcp_service_account.json  # default: application default credentials
""",
}

BODY = """
# debian-13: OpenStack 2025.1 with Neutron ML2/OVN (Open vSwitch's kernel datapath where
# the node's kernel has the openvswitch module, else its userspace datapath, which costs a
# core under bulk traffic). debian-12 (OpenStack Zed) is no longer supported.
os: debian-13

# aio: one node with everything. multinode: controller, network, compute1,
# compute2 and storage. Or list nodes yourself:
#   nodes:
#     - {{name: ctl, roles: [controller, network]}}
#     - {{name: cmp1, roles: [compute], machine_type: n2-standard-4}}
topology:
  preset: {preset}

# Lab networks. Every CIDR is optional: the plan picks free ranges.
# The tenant MTU is the overlay MTU minus 58 bytes of Geneve.
networks:
  management: {{}}        # APIs, database, SSH between nodes; e.g. {{cidr: 10.20.0.0/24}}
  overlay:
    encapsulation: geneve  # ML2/OVN tunnels with Geneve (unicast) only
  provider: {{}}          # floating IPs, e.g.
  #   floating_range: {{start: 10.20.2.100, end: 10.20.2.200}}
  uplink: {{}}            # the way out

# auto: kvm where a probe guest boots under KVM, else qemu (about 10x slower).
hypervisor: auto

services:
  cinder: false
  octavia: false
  horizon: true

access:
{admin_cidr}  # A public key (or its path) that may log in besides the lab's own key.
  # ssh_public_key: ~/.ssh/id_ed25519.pub

# A cloud image (needs internet), uploaded besides the offline test image that verify
# boots; `stacklab launch --image cirros-0.6.2-x86_64-disk` boots it.
# image_url: https://example.org/images/cirros-0.6.2-x86_64-disk.img
"""

ADMIN_CIDR_FOUND = """\
  # Required by `up` here: the only range that reaches the lab (SSH 22 and HTTPS 443 of
  # the access node). `stacklab init` found this as your public address; check it.
  admin_cidr: {cidr}
"""
ADMIN_CIDR_NOT_FOUND = """\
  # Required by `up` here, which refuses to start without it: the only range that reaches
  # the lab (SSH 22 and HTTPS 443 of the access node). `stacklab init` could not find your
  # public address (no network access?): uncomment this and put yours, as a /32
  # (`curl https://checkip.amazonaws.com` shows it; your LAN address is not it).
  # admin_cidr: 203.0.113.7/32
"""
ADMIN_CIDR_UNUSED = """\
  # Who may reach the lab from outside: used by the cloud providers only.
  # admin_cidr: 203.0.113.7/32
"""

SSH_HOST = """\
    - name: {name}
      address: 192.0.2.{index}
      user: root
      interfaces: {{{interfaces}}}
"""


def _ssh_hosts(preset: Preset) -> str:
    nodes = {
        Preset.AIO: [("aio", "management: eth1, overlay: eth2, provider: eth3, uplink: eth0")],
        Preset.MULTINODE: [
            ("controller", "management: eth1, uplink: eth0"),
            ("network", "management: eth1, overlay: eth2, provider: eth3, uplink: eth0"),
            ("compute1", "management: eth1, overlay: eth2"),
            ("compute2", "management: eth1, overlay: eth2"),
            ("storage", "management: eth1"),
        ],
    }[preset]
    return "".join(
        SSH_HOST.format(name=name, index=10 + index, interfaces=interfaces)
        for index, (name, interfaces) in enumerate(nodes)
    )


def render_spec(
    name: str,
    preset: Preset,
    provider: ProviderKind,
    *,
    firewalled: bool = False,
    admin_cidr: IPv4Network | None = None,
) -> str:
    """firewalled: the provider admits only access.admin_cidr (so `up` needs it); admin_cidr:
    the user's public range where it was found."""
    provider_text = PROVIDERS[provider]
    if "{hosts}" in provider_text:  # a provider on hosts the user has: they are listed
        provider_text = provider_text.format(hosts=_ssh_hosts(preset))
    if not firewalled:
        access = ADMIN_CIDR_UNUSED
    elif admin_cidr is None:
        access = ADMIN_CIDR_NOT_FOUND
    else:
        access = ADMIN_CIDR_FOUND.format(cidr=admin_cidr)
    body = BODY.format(preset=preset.value, admin_cidr=access)
    return HEADER.format(name=name) + provider_text + body
