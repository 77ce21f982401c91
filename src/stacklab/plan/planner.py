"""plan(spec, catalog) -> Plan. Pure: no I/O, so it is tested with plain data."""

from __future__ import annotations

import zlib
from collections.abc import Collection, Mapping
from ipaddress import IPv4Address, IPv4Network

from stacklab.catalog.models import (
    Catalog,
    MachineType,
    ProviderCatalog,
    ProviderTraits,
    Virtualization,
)
from stacklab.catalog.releases import release_of
from stacklab.config.models import (
    AwsProvider,
    GcpProvider,
    Hypervisor,
    NetworkName,
    NodeSpec,
    ProviderKind,
    Role,
    Spec,
    SshProvider,
)
from stacklab.config.presets import node_specs
from stacklab.config.rules import (
    access_problems,
    fabric_of,
    fabric_problems,
    machine_problems,
    network_problems,
    node_networks,
    os_problems,
    topology_problems,
)
from stacklab.config.tunnels import GENEVE, Tunnel, tunnel_for
from stacklab.errors import Problem, SpecError
from stacklab.plan import addressing
from stacklab.plan.models import (
    Cost,
    DatapathChoice,
    DatapathKind,
    FloatingRange,
    HypervisorChoice,
    HypervisorKind,
    LabRouter,
    OpenPort,
    Plan,
    PlannedNetwork,
    PlannedNic,
    PlannedNode,
    Step,
)
from stacklab.plan.steps import STEPS

EMULATED_PUBLIC_RANGE = IPv4Network("198.18.0.0/15")
PURPOSES = {
    NetworkName.MANAGEMENT: "APIs, database, message queue and SSH between nodes",
    NetworkName.OVERLAY: "{tunnel} tunnels that carry the tenant networks",
    NetworkName.PROVIDER: "flat external network: floating IPs and router gateways",
    NetworkName.UPLINK: "the way out: package downloads and access from outside",
}


def plan(
    spec: Spec,
    catalog: Catalog,
    *,
    source: str | None = None,
    datapaths: Mapping[str, DatapathChoice] | None = None,
) -> Plan:
    """Everything `up` will make for this spec, or a SpecError listing every problem.

    datapaths: Open vSwitch's datapath per node name as a probe of its kernel decided it
    (local: this host's; ssh: each host's); nodes without one get the userspace datapath.
    """
    provider_catalog = catalog.of(spec.provider_kind.value)
    nodes = node_specs(spec)
    problems: list[Problem] = []
    problems += topology_problems(spec, nodes)
    machines, machine_issues = machine_problems(spec, provider_catalog, nodes)
    problems += machine_issues
    problems += os_problems(spec)
    problems += network_problems(spec, provider_catalog)
    problems += fabric_problems(spec, catalog)
    fabric = fabric_of(spec)
    # The cloud network decides the way out, the firewall and public addresses, whether
    # the cloud's own or emulated here (an unknown fabric is a problem reported above).
    network_catalog = catalog.of(fabric) if fabric in catalog.providers else provider_catalog
    problems += access_problems(spec, network_catalog)

    router_node = _router_node(network_catalog, nodes)
    # On a cloud the external network lives on the router node's br-ex: no node has a NIC on
    # it, so the cloud's network never sees a router MAC or floating IP it does not know.
    members = {
        name: []
        if name is NetworkName.PROVIDER and router_node is not None
        else [node for node in nodes if name in node_networks(node)]
        for name in NetworkName
    }
    counts = {name: len(joined) for name, joined in members.items()}
    cidrs, cidr_issues = addressing.allocate_cidrs(spec, counts)
    problems += cidr_issues
    size_issues = addressing.size_problems(cidrs, counts)
    problems += size_issues
    floating = None
    # Checked whenever the provider network itself fits, so its problems are reported
    # together with every other one.
    provider_fits = not any(p.field == "networks.provider.cidr" for p in size_issues)
    if NetworkName.PROVIDER in cidrs and provider_fits:
        floating, floating_issues = addressing.floating_range(
            spec, cidrs[NetworkName.PROVIDER], counts[NetworkName.PROVIDER]
        )
        problems += floating_issues
    if problems:
        raise SpecError(_ordered(problems), source)

    tunnel = tunnel_for(spec.os)
    networks = tuple(
        _network(spec, _mtu_source(provider_catalog, network_catalog, name), name, cidrs,
                 floating, tunnel, router_node)
        for name in NetworkName
    )  # fmt: skip
    mtu_of = {network.name: network.mtu for network in networks}
    addresses = {
        name: dict(
            zip(
                (n.name for n in joined),
                addressing.node_addresses(cidrs[name], len(joined)),
                strict=True,
            )
        )
        for name, joined in members.items()
    }
    release = release_of(spec.os)
    domain = f"{spec.name}.internal"
    planned_nodes = []
    for node in nodes:
        machine = machines[node.name]
        interfaces = _ssh_interfaces(spec, node.name)
        nics = tuple(
            PlannedNic(
                network=name,
                address=addresses[name][node.name],
                prefix_length=cidrs[name].prefixlen,
                mtu=mtu_of[name],
                interface=interfaces.get(name),
                source_dest_check=router_node is None
                or not (node.name == router_node or Role.NETWORK in node.roles),
            )
            for name in NetworkName
            if node.name in addresses[name]
        )
        planned_nodes.append(
            PlannedNode(
                name=node.name,
                fqdn=f"{node.name}.{domain}",
                roles=tuple(role for role in Role if role in node.roles),
                machine_type=machine.name,
                vcpus=machine.vcpus,
                memory_gib=machine.memory_gib,
                nics=nics,
                hypervisor=_hypervisor(spec, machine) if Role.COMPUTE in node.roles else None,
                usd_per_hour=machine.price.usd_per_hour if machine.price else None,
                datapath=_datapath(
                    tunnel, provider_catalog, node.roles, (datapaths or {}).get(node.name)
                ),
            )
        )
    services = _services(spec)
    access_node = _access_node(nodes)
    return Plan(
        lab=spec.name,
        provider=spec.provider_kind.value,
        os=spec.os.value,
        release=release.codename,
        openstack_series=release.openstack_series,
        domain=domain,
        networks=networks,
        nodes=tuple(planned_nodes),
        tenant_mtu=mtu_of[NetworkName.OVERLAY] - tunnel.overhead,
        tunnel=tunnel,
        controller=next(n.name for n in nodes if Role.CONTROLLER in n.roles),
        access_node=access_node,
        services=services,
        cost=_cost(spec, provider_catalog, tuple(planned_nodes)),
        steps=_steps(spec),
        warnings=_warnings(spec, network_catalog.traits, tuple(planned_nodes)),
        region=spec.provider.region
        if isinstance(spec.provider, AwsProvider | GcpProvider)
        else None,
        profile=_credentials_source(spec),
        project=spec.provider.project if isinstance(spec.provider, GcpProvider) else None,
        zone=_zone(spec, provider_catalog),
        router=_router(router_node, networks, tuple(planned_nodes)),
        open_ports=_open_ports(spec, network_catalog, access_node),
        fabric=fabric,
        public_address=_emulated_public_address(spec, network_catalog),
        networks_routed=fabric is None or network_catalog.network.routes_between_networks,
    )


def _access_node(nodes: tuple[NodeSpec, ...]) -> str:
    return next(n.name for n in nodes if Role.NETWORK in n.roles)


def _mtu_source(
    provider: ProviderCatalog, network: ProviderCatalog, name: NetworkName
) -> ProviderCatalog:
    """Whose default MTU a network gets: an emulated fabric's (GCP's 1460) where this host's
    bridges carry it, else the provider's own (AWS's 9001 is beyond a local bridge)."""
    wanted = (
        network.network.uplink_mtu if name is NetworkName.UPLINK else network.network.underlay_mtu
    )
    carried = provider.network.mtu_min <= wanted <= provider.network.mtu_max
    return network if carried else provider


def _router_node(catalog: ProviderCatalog, nodes: tuple[NodeSpec, ...]) -> str | None:
    """The access node, where the fabric gives nodes no way out of their own."""
    return _access_node(nodes) if catalog.network.nodes_exit_through_router_node else None


def _emulated_public_address(spec: Spec, network_catalog: ProviderCatalog) -> IPv4Address | None:
    """The access node's public address on an emulated fabric: one of the benchmarking range
    (RFC 2544), which no real network routes, picked by the lab's name."""
    if spec.provider_kind is not ProviderKind.LOCAL or not network_catalog.traits.public_addresses:
        return None
    offset = 1 + zlib.crc32(spec.name.encode()) % (EMULATED_PUBLIC_RANGE.num_addresses - 2)
    return EMULATED_PUBLIC_RANGE[offset]


def _credentials_source(spec: Spec) -> str | None:
    if isinstance(spec.provider, AwsProvider):
        return spec.provider.profile
    if isinstance(spec.provider, GcpProvider) and spec.provider.credentials_file:
        return str(spec.provider.credentials_file)
    return None


def _zone(spec: Spec, catalog: ProviderCatalog) -> str | None:
    """GCP's zone: the spec's, else the region's first in the catalog."""
    if not isinstance(spec.provider, GcpProvider):
        return None
    if spec.provider.zone:
        return spec.provider.zone
    regions = catalog.regions
    region = regions.names.get(spec.provider.region) if regions else None
    return region.zones[0] if region and region.zones else None


def _router(
    router_node: str | None,
    networks: tuple[PlannedNetwork, ...],
    nodes: tuple[PlannedNode, ...],
) -> LabRouter | None:
    if router_node is None:
        return None
    router = next(node for node in nodes if node.name == router_node)
    return LabRouter(
        node=router.name,
        gateway=router.management_address,
        masqueraded=tuple(n.cidr for n in networks if n.name is not NetworkName.UPLINK),
    )


def _open_ports(spec: Spec, catalog: ProviderCatalog, access_node: str) -> tuple[OpenPort, ...]:
    if not catalog.network.firewalled:
        return ()
    source = spec.access.admin_cidr
    return (
        OpenPort("tcp", 22, source, access_node, "SSH, and through it every node"),
        OpenPort("tcp", 443, source, access_node, "the TLS proxy: the APIs and Horizon"),
    )


def _ordered(problems: list[Problem]) -> list[Problem]:
    # Keyed on the rendered text: a Problem's value may be a list, which is unhashable.
    unique = list({problem.render(): problem for problem in problems}.values())
    return sorted(unique, key=lambda problem: problem.field)


def _network(
    spec: Spec,
    catalog: ProviderCatalog,
    name: NetworkName,
    cidrs: dict[NetworkName, IPv4Network],
    floating: tuple[IPv4Address, IPv4Address] | None,
    tunnel: Tunnel,
    router_node: str | None,
) -> PlannedNetwork:
    cidr = cidrs[name]
    default_mtu = (
        catalog.network.uplink_mtu if name is NetworkName.UPLINK else catalog.network.underlay_mtu
    )
    return PlannedNetwork(
        name=name,
        purpose=(
            f"{PURPOSES[name]}, held by {router_node} itself (its br-ex, masqueraded out)"
            if name is NetworkName.PROVIDER and router_node is not None
            else PURPOSES[name].format(tunnel=tunnel.name)
        ),
        cidr=cidr,
        gateway=cidr[addressing.GATEWAY_INDEX],
        mtu=spec.networks.spec_of(name).mtu or default_mtu,
        vip=cidr[addressing.VIP_INDEX] if name is NetworkName.MANAGEMENT else None,
        floating_range=(
            FloatingRange(*floating) if name is NetworkName.PROVIDER and floating else None
        ),
        on_node=router_node if name is NetworkName.PROVIDER else None,
    )


def _ssh_interfaces(spec: Spec, node: str) -> dict[NetworkName, str]:
    if not isinstance(spec.provider, SshProvider):
        return {}
    host = next(host for host in spec.provider.hosts if host.name == node)
    return dict(host.interfaces)


def _hypervisor(spec: Spec, machine: MachineType) -> HypervisorChoice:
    slow = "guests run under QEMU's emulator (TCG), about 10x slower than KVM"
    if spec.hypervisor is Hypervisor.QEMU:
        return HypervisorChoice(HypervisorKind.QEMU, f"the spec asks for qemu: {slow}")
    virtualization = machine.virtualization
    if virtualization is Virtualization.NATIVE:
        return HypervisorChoice(HypervisorKind.KVM, f"{machine.name}: {machine.how}")
    if virtualization is Virtualization.NESTED:
        return HypervisorChoice(HypervisorKind.KVM, f"{machine.name}: nested KVM, {machine.how}")
    if virtualization is Virtualization.NONE:
        return HypervisorChoice(HypervisorKind.QEMU, f"{machine.name}: {machine.how}; {slow}")
    if spec.hypervisor is Hypervisor.KVM:
        return HypervisorChoice(
            HypervisorKind.KVM, "the spec asks for kvm; `up` stops if a probe guest does not boot"
        )
    return HypervisorChoice(
        HypervisorKind.QEMU,
        "KVM not probed yet on this host (`stacklab doctor` boots a probe guest); until it "
        f"passes, {slow}",
    )


def _datapath(
    tunnel: Tunnel,
    catalog: ProviderCatalog,
    roles: Collection[Role],
    probed: DatapathChoice | None,
) -> DatapathChoice | None:
    """Open vSwitch runs on the network and compute nodes of an OVN release only."""
    if tunnel is not GENEVE or not {Role.NETWORK, Role.COMPUTE} & set(roles):
        return None
    if catalog.network.ovs_datapath == "kernel":
        return DatapathChoice.of(DatapathKind.KERNEL, catalog.network.ovs_datapath_how)
    if probed is not None:
        return probed
    return DatapathChoice.of(
        DatapathKind.USERSPACE,
        "this node's kernel was not asked yet (`stacklab doctor` on this host; `up` asks each "
        "ssh host); until then the userspace datapath, which works on any kernel",
    )


def _services(spec: Spec) -> tuple[str, ...]:
    services = ["keystone", "glance", "placement", "nova", "neutron"]
    switchable = (
        ("cinder", spec.services.cinder),
        ("octavia", spec.services.octavia),
        ("horizon", spec.services.horizon),
    )
    services += [name for name, enabled in switchable if enabled]
    return tuple(services)


def _cost(spec: Spec, catalog: ProviderCatalog, nodes: tuple[PlannedNode, ...]) -> Cost:
    if catalog.traits.unpriced is not None:
        return Cost(0.0, catalog.traits.unpriced)
    total = round(sum(node.usd_per_hour or 0.0 for node in nodes), 4)
    prices = [m.price for m in catalog.machine_types.values() if m.price]
    as_of = min(price.as_of for price in prices).isoformat() if prices else "unknown"
    # A price's source names where it was read, then (after ';') how far to trust it.
    sources = sorted({price.source.split(";")[0] for price in prices}) or ["unknown"]
    return Cost(
        total,
        f"on-demand estimate from the catalog ({', '.join(sources)}), prices as of {as_of}; "
        "disks, traffic and public addresses not included",
    )


def _steps(spec: Spec) -> tuple[Step, ...]:
    return tuple(Step(step.name, step.description) for step in STEPS if step.needed(spec))


def _warnings(
    spec: Spec, traits: ProviderTraits, nodes: tuple[PlannedNode, ...]
) -> tuple[str, ...]:
    warnings = []
    for node in nodes:
        if node.hypervisor and node.hypervisor.kind is HypervisorKind.QEMU:
            warnings.append(
                f"{node.name} runs guests under qemu, about 10x slower than kvm "
                "(why: see its hypervisor reason)"
            )
        if Role.STORAGE in node.roles and not spec.services.cinder:
            warnings.append(
                f"{node.name} has the storage role but services.cinder is off: it stays idle"
            )
    if isinstance(spec.provider, GcpProvider) and not spec.provider.project:
        warnings.append(
            "provider.project is not set: `up` refuses to start without it (the GCP project "
            "the lab is made in)"
        )
    if traits.public_addresses and not spec.access.admin_cidr:
        warnings.append(
            "access.admin_cidr is not set: `up` refuses to start without it (SSH and HTTPS of "
            "the access node open to that range only); set it to your public address/32"
        )
    return tuple(warnings)
