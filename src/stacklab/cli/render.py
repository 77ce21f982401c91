"""Human-readable views of plans, reports and status, as rich tables."""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from stacklab.doctor import CheckResult, DoctorReport, Status
from stacklab.installer.health import CloudHealth
from stacklab.orchestration.status import LabStatus
from stacklab.plan.models import Plan
from stacklab.state.db import LabRecord

STATUS_STYLE = {Status.PASS: "green", Status.WARN: "yellow", Status.FAIL: "bold red"}


def plan_view(plan: Plan) -> RenderableType:
    header = Text.assemble(
        ("Lab ", "bold"),
        (plan.lab, "bold cyan"),
        f" on {plan.provider}: {plan.os} (OpenStack {plan.openstack_series}), "
        f"tenant MTU {plan.tenant_mtu} (overlay MTU - {plan.tunnel.overhead} bytes of "
        f"{plan.tunnel.name}: {plan.tunnel.made_of}), services {', '.join(plan.services)}",
        f" in {plan.zone or plan.region}" if plan.region else "",
        f" (project {plan.project})" if plan.project else "",
        f" (credentials {plan.profile})" if plan.profile else "",
    )
    networks = Table(title="Networks", title_justify="left")
    for column in ("network", "cidr", "gateway", "mtu", "vip / floating IPs"):
        networks.add_column(column, no_wrap=True)
    for network in plan.networks:
        extra = ""
        if network.vip:
            extra = f"VIP {network.vip}"
        if network.floating_range:
            extra = f"{network.floating_range.start}-{network.floating_range.end}"
        networks.add_row(
            network.name.value,
            str(network.cidr),
            str(network.gateway),
            str(network.mtu),
            extra,
        )
    nodes = Table(title="Nodes", title_justify="left")
    nodes.add_column("node", no_wrap=True)
    nodes.add_column("roles")
    nodes.add_column("machine")
    nodes.add_column("addresses", no_wrap=True)
    nodes.add_column("hypervisor")
    nodes.add_column("datapath")
    nodes.add_column("$/hour")
    for node in plan.nodes:
        nodes.add_row(
            node.name,
            ", ".join(role.value for role in node.roles),
            f"{node.machine_type} ({node.vcpus} vCPU, {node.memory_gib:g} GiB)",
            "\n".join(f"{nic.network.value}: {nic.with_prefix}" for nic in node.nics),
            node.hypervisor.kind.value if node.hypervisor else "-",
            node.datapath.kind.value if node.datapath else "-",
            f"{node.usd_per_hour:.4f}" if node.usd_per_hour is not None else "-",
        )
    reasons = Table(title="Hypervisor choice", title_justify="left", show_header=False)
    reasons.add_column("node")
    reasons.add_column("why")
    for node in plan.nodes:
        if node.hypervisor:
            reasons.add_row(node.name, f"{node.hypervisor.kind.value}: {node.hypervisor.reason}")
    datapaths = Table(title="Open vSwitch datapath", title_justify="left", show_header=False)
    datapaths.add_column("node")
    datapaths.add_column("why")
    costs: dict[str, str] = {}
    for node in plan.nodes:
        if node.datapath:
            datapaths.add_row(node.name, f"{node.datapath.kind.value}: {node.datapath.reason}")
            costs[node.datapath.kind.value] = node.datapath.cost
    steps = Table(title="Steps of `up`", title_justify="left", show_header=False)
    steps.add_column("n", justify="right")
    steps.add_column("step")
    steps.add_column("what")
    for index, step in enumerate(plan.steps, start=1):
        steps.add_row(str(index), step.name, step.description)
    cost = Text(f"Cost: ${plan.cost.usd_per_hour:.2f}/hour ({plan.cost.note})")
    parts: list[RenderableType] = [header, networks, nodes, reasons]
    if costs:
        parts.append(datapaths)
        parts += [Text(f"Datapath cost ({kind}): {what}") for kind, what in costs.items()]
    parts += _way_in_and_out(plan)
    parts += [steps, cost]
    parts += [Text(f"warning: {warning}", style="yellow") for warning in plan.warnings]
    return Group(*parts)


def _fabric_networks(plan: Plan) -> str:
    if plan.networks_routed:
        return "a routed subnet per network"
    return "a network of its own per NIC, routed to none of the others"


def _way_in_and_out(plan: Plan) -> list[RenderableType]:
    parts: list[RenderableType] = []
    if plan.fabric is not None and plan.provider != plan.fabric:
        parts.append(
            Text(
                f"Fabric: {plan.fabric}, emulated on this host: {_fabric_networks(plan)}, "
                "the source/destination check on every node interface except the router's; "
                f"{plan.access_node}'s public address {plan.public_address} is NATed to its "
                "uplink address"
            )
        )
    if plan.router is not None:
        router = plan.router
        parts.append(
            Text(
                f"Router: {router.node} is the lab's router and gateway: every other node's "
                f"default route goes through {router.gateway}; it forwards and masquerades "
                f"{', '.join(str(cidr) for cidr in router.masqueraded)} out of its uplink"
            )
        )
    if plan.open_ports:
        ports = Table(title="Open from outside (the provider's firewall)", title_justify="left")
        for column in ("port", "from", "to", "what"):
            ports.add_column(column, no_wrap=column != "what")
        for port in plan.open_ports:
            ports.add_row(
                f"{port.port}/{port.protocol}",
                str(port.source) if port.source else "access.admin_cidr (not set)",
                port.node,
                port.purpose,
            )
        parts.append(ports)
    return parts


def check_line(check: CheckResult) -> Text:
    text = Text.assemble(
        (f"{check.status.value:>4} ", STATUS_STYLE[check.status]),
        (check.name, "bold"),
        f": {check.summary}",
    )
    if check.fix and check.status is not Status.PASS:
        text.append(f"\n       fix: {check.fix}", style="dim")
    return text


def doctor_summary(report: DoctorReport) -> Text:
    verdict = "ready" if report.ok else "not ready"
    return Text.assemble(
        ("This host is ", "bold"),
        (verdict, "bold green" if report.ok else "bold red"),
        f" for the local provider. Hypervisor: {report.hypervisor} ({report.hypervisor_reason})",
        f". Open vSwitch datapath: {report.datapath.kind.value}" if report.datapath else "",
    )


def status_view(status: LabStatus) -> RenderableType:
    if status.lab is None and not status.found:
        return Text(f"Nothing of a lab named {status.name} exists here.")
    head = Text.assemble(
        ("Lab ", "bold"),
        (status.name, "bold cyan"),
        f": {status.lab.status if status.lab else 'no state here (found from the host)'}",
    )
    resources = Table(title="Resources found", title_justify="left")
    for column in ("kind", "id", "state"):
        resources.add_column(column)
    for found in status.found:
        resources.add_row(found.kind, found.ident, found.state)
    journal = Table(title="Journal", title_justify="left")
    for column in ("step", "status", "started", "seconds"):
        journal.add_column(column)
    for entry in status.journal:
        seconds = f"{entry.seconds:.0f}" if entry.seconds is not None else "-"
        journal.add_row(entry.step, entry.status, entry.started_at, seconds)
    parts: list[RenderableType] = [head, resources, journal]
    if status.health:
        parts.append(health_view(status.health))
    if status.cost:
        parts.append(
            Text(
                f"Cost so far: ${status.cost.usd_so_far:.2f} "
                f"(${status.cost.usd_per_hour:.2f}/hour; {status.cost.note})"
            )
        )
    return Group(*parts)


def health_view(health: CloudHealth) -> RenderableType:
    if health.error:
        return Text(f"OpenStack: not answering ({health.error})", style="yellow")
    table = Table(title="OpenStack services", title_justify="left")
    for column in ("kind", "host", "service", "state"):
        table.add_column(column)
    for service in health.services:
        state = Text("up", "green") if service.up else Text("DOWN", "bold red")
        table.add_row(service.kind, service.host, service.name, state)
    for missing in health.missing:
        kind, _, where = missing.partition(" ")
        host, _, name = where.partition("/")
        table.add_row(kind, host, name, Text("MISSING", "bold red"))
    return table


def labs_view(labs: list[LabRecord]) -> RenderableType:
    if not labs:
        return Text("No labs. `stacklab init` then `stacklab up` makes one.")
    table = Table()
    for column in ("lab", "provider", "status", "nodes", "updated"):
        table.add_column(column)
    for lab in labs:
        table.add_row(
            lab.name,
            lab.provider,
            lab.status,
            str(len(lab.plan.get("nodes", []))),
            lab.updated_at,
        )
    return table


def print_view(console: Console, view: RenderableType) -> None:
    console.print(view)
