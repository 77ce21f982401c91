"""Rules across fields, and rules that need the catalog. Each returns Problems with
the field path, so all of them are reported together before anything is made."""

from __future__ import annotations

import difflib
from collections import Counter

from stacklab.catalog.models import Catalog, MachineType, ProviderCatalog, Regions, Virtualization
from stacklab.config.models import (
    Hypervisor,
    LocalProvider,
    NetworkName,
    NodeSpec,
    OperatingSystem,
    Role,
    Spec,
    SshProvider,
)
from stacklab.config.tunnels import tunnel_for
from stacklab.errors import Problem

# The clouds whose network the local provider emulates (`provider.fabric`).
EMULATED_FABRICS = ("aws", "gcp")
MIN_TENANT_MTU = 1280  # the IPv6 minimum: below it tenant networks cannot carry IPv6

# Which lab networks a node joins, by role. Computes and storage reach the outside
# through the host or the controller's apt cache, as in seed 001, to save NICs.
NETWORKS_BY_ROLE: dict[Role, frozenset[NetworkName]] = {
    Role.CONTROLLER: frozenset({NetworkName.MANAGEMENT, NetworkName.UPLINK}),
    Role.NETWORK: frozenset(
        {NetworkName.MANAGEMENT, NetworkName.OVERLAY, NetworkName.PROVIDER, NetworkName.UPLINK}
    ),
    Role.COMPUTE: frozenset({NetworkName.MANAGEMENT, NetworkName.OVERLAY}),
    Role.STORAGE: frozenset({NetworkName.MANAGEMENT}),
}


def node_networks(node: NodeSpec) -> frozenset[NetworkName]:
    joined: frozenset[NetworkName] = frozenset()
    for role in node.roles:
        joined |= NETWORKS_BY_ROLE[role]
    return joined


def node_path(spec: Spec, index: int) -> str:
    if spec.topology.nodes is not None:
        return f"topology.nodes[{index}]"
    return f"topology.preset ({(spec.topology.preset or 'aio')})"


def topology_problems(spec: Spec, nodes: tuple[NodeSpec, ...]) -> list[Problem]:
    problems: list[Problem] = []
    counts = Counter(node.name for node in nodes)
    for index, node in enumerate(nodes):
        if counts[node.name] > 1:
            problems.append(
                Problem(
                    field=f"topology.nodes[{index}].name",
                    value=node.name,
                    why="another node has the same name",
                    fix="give every node a unique name",
                )
            )
        duplicated_roles = [role for role, n in Counter(node.roles).items() if n > 1]
        if duplicated_roles:
            problems.append(
                Problem(
                    field=f"topology.nodes[{index}].roles",
                    value=[role.value for role in node.roles],
                    why=f"role {duplicated_roles[0].value} is listed twice",
                    fix="list each role once",
                )
            )
    for role, limit in ((Role.CONTROLLER, 1), (Role.NETWORK, 1), (Role.COMPUTE, None)):
        holders = [node.name for node in nodes if role in node.roles]
        if not holders:
            problems.append(
                Problem(
                    field="topology.nodes",
                    value=[node.name for node in nodes],
                    why=f"no node has the {role.value} role, and a cloud needs one",
                    fix=f"add '{role.value}' to the roles of one node",
                )
            )
        elif limit is not None and len(holders) > limit:
            problems.append(
                Problem(
                    field="topology.nodes",
                    value=holders,
                    why=f"{len(holders)} nodes have the {role.value} role; stacklab runs one",
                    fix=f"keep the {role.value} role on one node only",
                )
            )
    problems += _storage_problems(spec, nodes)
    if isinstance(spec.provider, SshProvider):
        problems.extend(_ssh_host_problems(spec.provider, nodes))
    return problems


def _storage_problems(spec: Spec, nodes: tuple[NodeSpec, ...]) -> list[Problem]:
    """Cinder's volumes live in a one-node Ceph on the node with the storage role: Cinder
    needs exactly one such node (the all-in-one preset gives its node the role itself)."""
    holders = [node.name for node in nodes if Role.STORAGE in node.roles]
    if spec.services.cinder and not holders:
        return [
            Problem(
                field="services.cinder",
                value=True,
                why="Cinder keeps its volumes in Ceph on the node with the storage role, and "
                f"no node of {[node.name for node in nodes]} has it",
                fix="add 'storage' to the roles of one node, or set services.cinder: false",
            )
        ]
    if len(holders) > 1:
        return [
            Problem(
                field="topology.nodes",
                value=holders,
                why=f"{len(holders)} nodes have the storage role; stacklab runs one Ceph "
                "node (one mon, one OSD)",
                fix="keep the storage role on one node only",
            )
        ]
    return []


def _ssh_host_problems(provider: SshProvider, nodes: tuple[NodeSpec, ...]) -> list[Problem]:
    problems = []
    hosts = {host.name: host for host in provider.hosts}
    for node in nodes:
        host = hosts.get(node.name)
        if host is None:
            problems.append(
                Problem(
                    field="provider.hosts",
                    value=sorted(hosts),
                    why=f"node {node.name} has no host to run on",
                    fix=f"add a host named {node.name} with its address",
                )
            )
            continue
        index = provider.hosts.index(host)
        missing = sorted(net.value for net in node_networks(node) - set(host.interfaces))
        if missing:
            problems.append(
                Problem(
                    field=f"provider.hosts[{index}].interfaces",
                    value={net.value: name for net, name in host.interfaces.items()},
                    why=f"node {node.name} joins {', '.join(missing)} but no interface is named",
                    fix="name the host's interface for each of: " + ", ".join(missing),
                )
            )
    return problems


def machine_type_of(
    spec: Spec, catalog: ProviderCatalog, node: NodeSpec, single_node: bool
) -> str | None:
    if node.machine_type:
        return node.machine_type
    per_role: dict[Role, str] = getattr(spec.provider, "machine_types", {})
    for role in (Role.COMPUTE, Role.CONTROLLER, Role.NETWORK, Role.STORAGE):
        if role in node.roles and role in per_role:
            return per_role[role]
    if single_node and catalog.aio_machine_type:
        return catalog.aio_machine_type
    for role in (Role.COMPUTE, Role.CONTROLLER, Role.NETWORK, Role.STORAGE):
        if role in node.roles and role in catalog.default_machine_types:
            return catalog.default_machine_types[role]
    if len(catalog.machine_types) == 1:
        return next(iter(catalog.machine_types))
    return None


def machine_type_field(spec: Spec, node: NodeSpec, index: int) -> str:
    """Where the user sets this node's machine type: its own entry, else the role's."""
    if node.machine_type:
        return f"topology.nodes[{index}].machine_type"
    per_role: dict[Role, str] = getattr(spec.provider, "machine_types", {})
    order = (Role.COMPUTE, Role.CONTROLLER, Role.NETWORK, Role.STORAGE)
    for role in order:
        if role in node.roles and role in per_role:
            return f"provider.machine_types.{role.value}"
    if spec.topology.nodes is not None or not hasattr(spec.provider, "machine_types"):
        return f"{node_path(spec, index)}.machine_type"
    role = next(role for role in order if role in node.roles)
    return f"provider.machine_types.{role.value}"


def machine_problems(
    spec: Spec, catalog: ProviderCatalog, nodes: tuple[NodeSpec, ...]
) -> tuple[dict[str, MachineType], list[Problem]]:
    """Resolve each node's machine type and check its NICs and virtualization."""
    problems: list[Problem] = []
    machines: dict[str, MachineType] = {}
    for index, node in enumerate(nodes):
        name = machine_type_of(spec, catalog, node, len(nodes) == 1)
        machine = catalog.machine_type(name) if name else None
        path = machine_type_field(spec, node, index)
        if machine is None:
            known = ", ".join(sorted(catalog.machine_types)) or "none"
            problems.append(
                Problem(
                    field=path,
                    value=name,
                    why=f"the {catalog.provider} catalog does not know this machine type",
                    fix=f"use one of: {known}",
                )
            )
            continue
        machines[node.name] = machine
        nics = len(node_networks(node))
        if nics > machine.max_nics:
            problems.append(_nic_problem(spec, path, node, machine, nics, catalog))
        if (
            Role.COMPUTE in node.roles
            and spec.hypervisor is Hypervisor.KVM
            and machine.virtualization is Virtualization.NONE
        ):
            problems.append(
                Problem(
                    field="hypervisor",
                    value="kvm",
                    why=f"compute node {node.name} is a {machine.name}, which has no "
                    f"hardware virtualization ({machine.how})",
                    fix="set hypervisor: auto (qemu, about 10x slower) or choose a metal or "
                    "nested-virtualization machine type for the compute nodes"
                    + _kvm_example(catalog, machine, nics),
                )
            )
    return machines, problems


def _kvm_example(catalog: ProviderCatalog, machine: MachineType, nics: int) -> str:
    """The cheapest type that runs KVM guests and is at least as big as this one."""
    fitting = sorted(
        (
            m
            for m in catalog.machine_types.values()
            if m.virtualization in (Virtualization.NATIVE, Virtualization.NESTED)
            and m.max_nics >= nics
            and m.vcpus >= machine.vcpus
            and m.memory_gib >= machine.memory_gib
        ),
        key=lambda m: (m.price.usd_per_hour if m.price else 0.0, m.vcpus),
    )
    return f", for example {fitting[0].name}" if fitting else ""


def _nic_problem(
    spec: Spec,
    path: str,
    node: NodeSpec,
    machine: MachineType,
    nics: int,
    catalog: ProviderCatalog,
) -> Problem:
    bigger = sorted(
        (m for m in catalog.machine_types.values() if m.max_nics >= nics),
        key=lambda m: (m.price.usd_per_hour if m.price else 0.0, m.vcpus),
    )
    suggestion = f", for example {bigger[0].name}" if bigger else ""
    rule = f" ({catalog.network.nic_limit})" if catalog.network.nic_limit else ""
    return Problem(
        field=path,
        value=machine.name,
        why=(
            f"node {node.name} ({', '.join(r.value for r in node.roles)}) needs {nics} NICs "
            f"but a {machine.name} takes at most {machine.max_nics}{rule}"
        ),
        fix=f"choose a machine type that takes {nics} NICs{suggestion}",
    )


def os_problems(spec: Spec) -> list[Problem]:
    if spec.os is not OperatingSystem.DEBIAN_12:
        return []
    return [
        Problem(
            field="os",
            value=spec.os.value,
            why="stacklab installs OpenStack 2025.1 with Neutron ML2/OVN only; debian-12's "
            "OpenStack Zed was installed with the linuxbridge driver, which is gone",
            fix="use os: debian-13 (OpenStack 2025.1), the default",
        )
    ]


def network_problems(spec: Spec, catalog: ProviderCatalog) -> list[Problem]:
    problems: list[Problem] = []
    overlay = spec.networks.overlay
    if overlay.encapsulation != "geneve":
        problems.append(
            Problem(
                field="networks.overlay.encapsulation",
                value=overlay.encapsulation,
                why="Neutron ML2/OVN, which stacklab uses, tunnels tenant networks with Geneve",
                fix="use encapsulation: geneve, the default",
            )
        )
    if overlay.multicast_group is not None:
        problems.append(
            Problem(
                field="networks.overlay.multicast_group",
                value=str(overlay.multicast_group),
                why="ML2/OVN's Geneve tunnels are unicast between the chassis",
                fix="remove multicast_group",
            )
        )
    facts = catalog.network
    for name in NetworkName:
        mtu = spec.networks.spec_of(name).mtu
        if mtu is not None and not facts.mtu_min <= mtu <= facts.mtu_max:
            problems.append(
                Problem(
                    field=f"networks.{name}.mtu",
                    value=mtu,
                    why=f"{catalog.provider} networks take MTUs from {facts.mtu_min} "
                    f"to {facts.mtu_max}",
                    fix=f"use an MTU in that range, or remove it for {facts.underlay_mtu}",
                )
            )
    underlay = overlay.mtu or facts.underlay_mtu
    tunnel = tunnel_for(spec.os)
    tenant = underlay - tunnel.overhead
    if tenant < MIN_TENANT_MTU:
        problems.append(
            Problem(
                field="networks.overlay.mtu",
                value=underlay,
                why=f"{tunnel.name} takes {tunnel.overhead} bytes, leaving tenant networks an "
                f"MTU of {tenant}, below the {MIN_TENANT_MTU} that IPv6 needs",
                fix=f"use an overlay MTU of at least {MIN_TENANT_MTU + tunnel.overhead}",
            )
        )
    return problems


def fabric_of(spec: Spec) -> str | None:
    """The cloud network the lab's nodes are on: a cloud provider's own, or the one the
    local provider emulates; None for plain networks."""
    if isinstance(spec.provider, LocalProvider):
        return spec.provider.fabric
    return None if isinstance(spec.provider, SshProvider) else spec.provider.kind


def fabric_problems(spec: Spec, catalog: Catalog) -> list[Problem]:
    """provider.fabric must name an emulated cloud, and the spec's networks must fit both
    the cloud's network and this host's (MTUs both of them carry)."""
    if not isinstance(spec.provider, LocalProvider) or spec.provider.fabric is None:
        return []
    fabric = spec.provider.fabric
    if fabric not in EMULATED_FABRICS:
        return [
            Problem(
                field="provider.fabric",
                value=fabric,
                why="the local provider emulates no such cloud network",
                fix=_did_you_mean(fabric, list(EMULATED_FABRICS), "emulated fabrics")
                + ", or remove fabric for plain bridges",
            )
        ]
    cloud, host = catalog.of(fabric).network, catalog.of("local").network
    low, high = max(cloud.mtu_min, host.mtu_min), min(cloud.mtu_max, host.mtu_max)
    problems = []
    for name in NetworkName:
        mtu = spec.networks.spec_of(name).mtu
        cloud_default = cloud.uplink_mtu if name is NetworkName.UPLINK else cloud.underlay_mtu
        default = cloud_default if low <= cloud_default <= high else host.underlay_mtu
        if mtu is not None and not low <= mtu <= high:
            problems.append(
                Problem(
                    field=f"networks.{name}.mtu",
                    value=mtu,
                    why=f"the emulated {fabric} fabric carries MTUs from {low} to {high} "
                    f"({fabric}: {cloud.mtu_min}-{cloud.mtu_max}, this host: "
                    f"{host.mtu_min}-{host.mtu_max})",
                    fix=f"use an MTU in that range, or remove it for {default}",
                )
            )
    return problems


def access_problems(spec: Spec, catalog: ProviderCatalog) -> list[Problem]:
    cidr = spec.access.admin_cidr
    allow_world = bool(getattr(spec.provider, "allow_ssh_from_world", False))
    if (
        catalog.traits.public_addresses
        and cidr is not None
        and cidr.prefixlen == 0
        and not allow_world
    ):
        return [
            Problem(
                field="access.admin_cidr",
                value=str(cidr),
                why="it opens SSH and the APIs to the whole internet",
                fix="use your own address (for example 203.0.113.7/32), or set "
                "provider.allow_ssh_from_world: true if you really mean it",
            )
        ]
    return []


def region_problems(spec: Spec, catalog: Catalog) -> list[Problem]:
    """The provider's region, and zone, must be ones the catalog knows; a zone must lie in
    the region. Checked when the spec is read, so no command acts on a made-up place."""
    region: str | None = getattr(spec.provider, "region", None)
    if region is None:
        return []
    kind = spec.provider_kind.value
    regions = catalog.of(kind).regions
    if regions is None:
        return []
    if region not in regions.names:
        return [
            Problem(
                field="provider.region",
                value=region,
                why=f"the {kind} catalog knows no such region ({_listed_by(regions)})",
                fix=_did_you_mean(region, list(regions.names), f"{kind} regions"),
            )
        ]
    zone: str | None = getattr(spec.provider, "zone", None)
    zones = regions.names[region].zones
    if zone is None or zone in zones:
        return []
    home = regions.zone_region(zone)
    if home is not None:
        why = f"zone {zone} lies in region {home}, not in provider.region {region}"
        fix = f"use a zone of {region} ({', '.join(zones)}), or set region: {home}"
    else:
        why = f"the {kind} catalog knows no such zone ({_listed_by(regions)})"
        fix = _did_you_mean(zone, list(zones), f"zones of {region}")
    return [Problem(field="provider.zone", value=zone, why=why, fix=fix)]


def _listed_by(regions: Regions) -> str:
    return f"list of {regions.as_of.isoformat()} from {regions.source.split(' (')[0]}"


def _did_you_mean(value: str, known: list[str], what: str) -> str:
    close = difflib.get_close_matches(value, known, n=2, cutoff=0.5)
    listed = f"the {what} are {', '.join(sorted(known))}"
    if close:
        return f"did you mean {' or '.join(close)}? ({listed})"
    return f"use one of them: {listed}"
