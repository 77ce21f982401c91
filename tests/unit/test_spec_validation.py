"""Bad specs fail before anything is made, each with a message that names the field path,
the YAML line, the bad value, why, and the fix (issue 2, item 2).

Each spec goes through `stacklab.api.plan_file`, so the schema and the plan-time rules both
run, exactly as for `stacklab plan` and `stacklab up`.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from stacklab import api
from stacklab.config.models import Preset, ProviderKind
from stacklab.config.template import render_spec
from stacklab.errors import SpecError


@dataclass(frozen=True)
class Bad:
    id: str
    yaml: str
    field: str  # the field path as rendered
    line: int | None  # the YAML line the message points at
    value: str  # how the bad value appears in the message
    why: tuple[str, ...]  # distinctive parts of the reason
    fix: tuple[str, ...]  # distinctive parts of the fix


def bad(
    id: str,
    yaml: str,
    field: str,
    line: int | None,
    value: str,
    why: str | tuple[str, ...],
    fix: str | tuple[str, ...],
) -> Bad:
    return Bad(
        id,
        textwrap.dedent(yaml).lstrip("\n"),
        field,
        line,
        value,
        (why,) if isinstance(why, str) else why,
        (fix,) if isinstance(fix, str) else fix,
    )


SSH_AIO_INTERFACES = "{management: eth1, overlay: eth2, provider: eth3, uplink: eth0}"

BAD_SPECS = [
    # --- the schema: shape, names, enums ---
    bad(
        "bad-lab-name",
        """
        name: Bad_Name
        """,
        "name",
        1,
        "'Bad_Name'",
        "should match pattern",
        ("lowercase letters, digits and '-'", "1-10 characters"),
    ),
    bad(
        "lab-name-too-long",
        """
        name: averyverylongname
        """,
        "name",
        1,
        "'averyverylongname'",
        "should match pattern",
        "1-10 characters",
    ),
    bad(
        "bad-node-name",
        """
        name: lab
        topology:
          nodes:
            - {name: Ctl_1, roles: [controller, network, compute]}
        """,
        "topology.nodes[0].name",
        4,
        "'Ctl_1'",
        "should match pattern",
        "lowercase letters",
    ),
    bad(
        "missing-name",
        """
        provider: local
        """,
        "name",
        None,
        "'provider': 'local'",
        "field required",
        "add `name:`",
    ),
    bad(
        "unknown-field-suggests-spelling",
        """
        name: lab
        hypervizor: kvm
        """,
        "hypervizor",
        2,
        "'kvm'",
        "not known here",
        ("did you mean `hypervisor`?", "remove `hypervizor`"),
    ),
    bad(
        "unknown-provider-field-suggests-region",
        """
        name: lab
        provider:
          kind: aws
          regoin: eu-west-1
        """,
        "provider.regoin",
        4,
        "'eu-west-1'",
        "not known here",
        "did you mean `region`?",
    ),
    bad(
        "unknown-network-suggests-management",
        """
        name: lab
        networks:
          managment: {cidr: 10.1.0.0/24}
        """,
        "networks.managment",
        3,
        "'cidr': '10.1.0.0/24'",
        "not known here",
        "did you mean `management`?",
    ),
    bad(
        "unknown-field-lists-allowed",
        """
        name: lab
        colour: blue
        """,
        "colour",
        2,
        "'blue'",
        "not known here",
        ("remove `colour`", "allowed here: name, provider"),
    ),
    bad(
        "bad-enum-hypervisor",
        """
        name: lab
        hypervisor: xen
        """,
        "hypervisor",
        2,
        "'xen'",
        "'auto', 'kvm' or 'qemu'",
        "one of the values",
    ),
    bad(
        "bad-enum-role",
        """
        name: lab
        topology:
          nodes:
            - {name: a, roles: [controler, network, compute]}
        """,
        "topology.nodes[0].roles[0]",
        4,
        "'controler'",
        "'controller', 'network'",
        "one of the values",
    ),
    bad(
        "bad-provider-kind",
        """
        name: lab
        provider: openstack
        """,
        "provider",
        2,
        "'openstack'",
        "'local', 'ssh', 'aws', 'gcp'",
        "one of the values",
    ),
    bad(
        "bad-os",
        """
        name: lab
        os: ubuntu-24.04
        """,
        "os",
        2,
        "'ubuntu-24.04'",
        "'debian-13' or 'debian-12'",
        "one of the values",
    ),
    bad(
        "bad-cidr-syntax",
        """
        name: lab
        networks:
          management: {cidr: 10.0.0.0/33}
        """,
        "networks.management.cidr",
        3,
        "'10.0.0.0/33'",
        "not a valid IPv4 network",
        "like 10.0.0.0/24",
    ),
    bad(
        "bad-bool",
        """
        name: lab
        services:
          cinder: maybe
        """,
        "services.cinder",
        3,
        "'maybe'",
        "valid boolean",
        "true or false",
    ),
    bad(
        "cinder-without-storage-node",
        """
        name: lab
        topology:
          nodes:
            - {name: aio, roles: [controller, network, compute]}
        services:
          cinder: true
        """,
        "services.cinder",
        6,
        "True",
        ("Ceph on the node with the storage role", "'aio'"),
        "add 'storage' to the roles of one node",
    ),
    bad(
        "two-storage-nodes",
        """
        name: lab
        topology:
          nodes:
            - {name: aio, roles: [controller, network, compute, storage]}
            - {name: st2, roles: [storage]}
        services:
          cinder: true
        """,
        "topology.nodes",
        3,
        "['aio', 'st2']",
        "2 nodes have the storage role; stacklab runs one Ceph node",
        "keep the storage role on one node only",
    ),
    bad(
        "preset-and-nodes",
        """
        name: lab
        topology:
          preset: aio
          nodes: [{name: a, roles: [compute]}]
        """,
        "topology",
        2,
        "'preset': 'aio'",
        "not both",
        "remove one of them",
    ),
    bad(
        "floating-range-reversed",
        """
        name: lab
        networks:
          provider:
            floating_range: {start: 10.1.2.50, end: 10.1.2.20}
        """,
        "networks.provider.floating_range",
        4,
        "'start': '10.1.2.50'",
        "end 10.1.2.20 comes before start 10.1.2.50",
        "swap them",
    ),
    # --- addresses ---
    bad(
        "overlapping-cidrs",
        """
        name: lab
        networks:
          management: {cidr: 10.1.0.0/24}
          overlay: {cidr: 10.1.0.128/25}
        """,
        "networks.overlay.cidr",
        4,
        "'10.1.0.128/25'",
        "overlaps networks.management.cidr 10.1.0.0/24",
        ("its own range", "remove cidr to get a free one"),
    ),
    bad(
        "too-small-cidr",
        """
        name: lab
        topology: {preset: multinode}
        networks:
          management: {cidr: 10.1.0.0/29}
        """,
        "networks.management.cidr",
        4,
        "'10.1.0.0/29'",
        ("holds 8 addresses", "needs 17", "5 for nodes"),
        "use a /27 or larger",
    ),
    bad(
        "floating-range-outside-provider-cidr",
        """
        name: lab
        networks:
          provider:
            cidr: 10.1.2.0/24
            floating_range: {start: 10.9.0.10, end: 10.9.0.20}
        """,
        "networks.provider.floating_range",
        5,
        "'10.9.0.10-10.9.0.20'",
        "outside the provider network 10.1.2.0/24",
        "choose a range inside 10.1.2.0/24",
    ),
    bad(
        "floating-range-over-node-addresses",
        """
        name: lab
        networks:
          provider:
            cidr: 10.1.2.0/24
            floating_range: {start: 10.1.2.5, end: 10.1.2.20}
        """,
        "networks.provider.floating_range",
        5,
        "'10.1.2.5-10.1.2.20'",
        "overlaps the addresses kept for the gateway and nodes",
        "start at 10.1.2.11 or later",
    ),
    # --- machine types ---
    bad(
        "gcp-network-node-needs-4-nics",
        """
        name: lab
        provider:
          kind: gcp
          machine_types: {network: n2-standard-2}
        topology: {preset: multinode}
        """,
        "provider.machine_types.network",
        4,
        "'n2-standard-2'",
        (
            "node network",
            "needs 4 NICs",
            "at most 2",
            "GCP allows 2 NICs up to 2 vCPUs, then one per vCPU up to 8",
        ),
        ("takes 4 NICs", "for example "),
    ),
    bad(
        "gcp-explicit-node-needs-4-nics",
        """
        name: lab
        provider: gcp
        topology:
          nodes:
            - name: ctl
              roles: [controller, network]
              machine_type: n2-standard-2
            - {name: cmp, roles: [compute]}
        """,
        "topology.nodes[0].machine_type",
        7,
        "'n2-standard-2'",
        ("node ctl", "needs 4 NICs", "at most 2", "GCP allows 2 NICs"),
        "for example ",
    ),
    bad(
        "unknown-machine-type",
        """
        name: lab
        provider:
          kind: gcp
          machine_types: {compute: n9-huge}
        """,
        "provider.machine_types.compute",
        4,
        "'n9-huge'",
        "gcp catalog does not know",
        ("use one of:", "n2-standard-4"),
    ),
    bad(
        "kvm-on-aws-m5",
        """
        name: lab
        provider:
          kind: aws
          machine_types: {compute: m5.xlarge}
        hypervisor: kvm
        """,
        "hypervisor",
        5,
        "'kvm'",
        ("m5.xlarge", "no hardware virtualization"),
        ("hypervisor: auto", "10x", "for example m8i."),
    ),
    bad(
        "kvm-on-gcp-e2",
        """
        name: lab
        provider:
          kind: gcp
          machine_types: {compute: e2-standard-4}
        hypervisor: kvm
        """,
        "hypervisor",
        5,
        "'kvm'",
        ("e2-standard-4", "no nested virtualization on E2"),
        ("hypervisor: auto", "for example n"),
    ),
    # --- what the network carries ---
    bad(
        "gre-on-gcp",
        """
        name: lab
        provider: gcp
        networks:
          overlay: {encapsulation: gre}
        """,
        "networks.overlay.encapsulation",
        4,
        "'gre'",
        "ML2/OVN, which stacklab uses, tunnels tenant networks with Geneve",
        "encapsulation: geneve",
    ),
    bad(
        "vxlan-on-local",
        """
        name: lab
        networks:
          overlay:
            encapsulation: vxlan
        """,
        "networks.overlay.encapsulation",
        4,
        "'vxlan'",
        "tunnels tenant networks with Geneve",
        "encapsulation: geneve",
    ),
    bad(
        "multicast-group",
        """
        name: lab
        provider: aws
        networks:
          overlay: {multicast_group: 239.1.1.1}
        """,
        "networks.overlay.multicast_group",
        4,
        "'239.1.1.1'",
        "Geneve tunnels are unicast",
        "remove multicast_group",
    ),
    bad(
        "debian-12-is-gone",
        """
        name: lab
        os: debian-12
        """,
        "os",
        2,
        "'debian-12'",
        ("2025.1 with Neutron ML2/OVN only", "OpenStack Zed", "linuxbridge"),
        "os: debian-13",
    ),
    bad(
        "tenant-mtu-below-1280",
        """
        name: lab
        provider: gcp
        networks:
          overlay: {mtu: 1300}
        """,
        "networks.overlay.mtu",
        4,
        "1300",
        ("Geneve takes 58 bytes", "tenant networks an MTU of 1242", "1280"),
        "overlay MTU of at least 1338",
    ),
    bad(
        "mtu-outside-provider-range",
        """
        name: lab
        provider: gcp
        networks:
          management: {mtu: 9000}
        """,
        "networks.management.mtu",
        4,
        "9000",
        "gcp networks take MTUs from 1300 to 8896",
        ("in that range", "remove it for 1460"),
    ),
    bad(
        "mtu-outside-aws-range",
        """
        name: lab
        provider: aws
        networks:
          uplink: {mtu: 1400}
        """,
        "networks.uplink.mtu",
        4,
        "1400",
        "aws networks take MTUs from 1500 to 9001",
        "in that range",
    ),
    bad(
        "mtu-below-schema-minimum",
        """
        name: lab
        networks:
          management: {mtu: 100}
        """,
        "networks.management.mtu",
        3,
        "100",
        "greater than or equal to 576",
        "stacklab schema",
    ),
    # --- topology ---
    bad(
        "duplicate-node-names",
        """
        name: lab
        topology:
          nodes:
            - {name: a, roles: [controller, network, compute]}
            - {name: a, roles: [compute]}
        """,
        "topology.nodes[1].name",
        5,
        "'a'",
        "another node has the same name",
        "unique name",
    ),
    bad(
        "role-listed-twice",
        """
        name: lab
        topology:
          nodes:
            - {name: a, roles: [controller, network, compute, compute]}
        """,
        "topology.nodes[0].roles",
        4,
        "'compute', 'compute'",
        "compute is listed twice",
        "each role once",
    ),
    bad(
        "no-compute-role",
        """
        name: lab
        topology:
          nodes:
            - {name: a, roles: [controller, network]}
        """,
        "topology.nodes",
        3,
        "['a']",
        "no node has the compute role",
        "add 'compute' to the roles of one node",
    ),
    bad(
        "no-controller-role",
        """
        name: lab
        topology:
          nodes:
            - {name: a, roles: [network, compute]}
        """,
        "topology.nodes",
        3,
        "['a']",
        "no node has the controller role",
        "add 'controller' to the roles",
    ),
    bad(
        "no-network-role",
        """
        name: lab
        topology:
          nodes:
            - {name: a, roles: [controller, compute]}
        """,
        "topology.nodes",
        3,
        "['a']",
        "no node has the network role",
        "add 'network' to the roles",
    ),
    bad(
        "two-controllers",
        """
        name: lab
        topology:
          nodes:
            - {name: a, roles: [controller, network, compute]}
            - {name: b, roles: [controller]}
        """,
        "topology.nodes",
        3,
        "['a', 'b']",
        "2 nodes have the controller role",
        "keep the controller role on one node only",
    ),
    # --- access ---
    bad(
        "admin-cidr-world-on-aws",
        """
        name: lab
        provider: aws
        access:
          admin_cidr: 0.0.0.0/0
        """,
        "access.admin_cidr",
        4,
        "'0.0.0.0/0'",
        "whole internet",
        ("your own address", "allow_ssh_from_world: true"),
    ),
    bad(
        "admin-cidr-world-on-gcp",
        """
        name: lab
        provider: gcp
        access: {admin_cidr: 0.0.0.0/0}
        """,
        "access.admin_cidr",
        3,
        "'0.0.0.0/0'",
        "whole internet",
        "allow_ssh_from_world",
    ),
    # --- ssh hosts ---
    bad(
        "ssh-node-without-host",
        f"""
        name: lab
        provider:
          kind: ssh
          hosts:
            - name: a
              address: 192.0.2.1
              interfaces: {SSH_AIO_INTERFACES}
        topology:
          nodes:
            - {{name: a, roles: [controller, network, compute]}}
            - {{name: b, roles: [compute]}}
        """,
        "provider.hosts",
        4,
        "['a']",
        "node b has no host to run on",
        "add a host named b with its address",
    ),
    bad(
        "ssh-host-missing-interface",
        """
        name: lab
        provider:
          kind: ssh
          hosts:
            - name: aio
              address: 192.0.2.1
              interfaces: {management: eth1, uplink: eth0}
        """,
        "provider.hosts[0].interfaces",
        7,
        "'management': 'eth1'",
        "node aio joins overlay, provider but no interface is named",
        "name the host's interface for each of: overlay, provider",
    ),
    # --- not a spec at all ---
    bad(
        "invalid-yaml",
        """
        name: lab
          provider: local
        """,
        "(yaml)",
        2,
        "mapping values are not allowed",
        "not valid YAML",
        "correct the syntax at that line",
    ),
    bad(
        "invalid-yaml-tab",
        "name: lab\nprovider:\n\tkind: aws\n",
        "(yaml)",
        3,
        "cannot start any token",
        "not valid YAML",
        "correct the syntax",
    ),
    bad(
        "yaml-list-not-mapping",
        """
        - name: lab
        - provider: local
        """,
        "(top level)",
        1,
        "'list'",
        "a spec is a YAML mapping",
        "stacklab init",
    ),
    bad(
        "empty-file",
        "",
        "(top level)",
        1,
        "''",
        ("the file is empty", "YAML mapping"),
        "stacklab init",
    ),
]


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """State and cache under tmp_path, so we can see that nothing was created."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def refused(path: Path) -> SpecError:
    with pytest.raises(SpecError) as error:
        api.plan_file(path)
    return error.value


def write(tmp_path: Path, text: str, name: str = "stacklab.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("case", BAD_SPECS, ids=lambda case: case.id)
def test_bad_spec_message_names_field_line_value_and_fix(tmp_path: Path, case: Bad) -> None:
    path = write(tmp_path, case.yaml)
    error = refused(path)
    rendered = error.render()
    assert "nothing was created" in rendered
    problem = next((p for p in error.problems if p.field == case.field), None)
    assert problem is not None, f"no problem about {case.field}:\n{rendered}"
    assert problem.line == case.line, rendered
    where = f"{path}:{case.line}: {case.field}: " if case.line else f"{path}: {case.field}: "
    mine = [line for line in rendered.splitlines() if where in line]
    assert mine, f"expected {where!r} in:\n{rendered}"
    text = mine[0]
    assert case.value in text.split(" is not valid: ")[0], text
    reason, fix = text.split(" is not valid: ", 1)[1].split(". Fix: ", 1)
    for part in case.why:
        assert part in reason, f"{part!r} not in the reason: {text}"
    for part in case.fix:
        assert part in fix, f"{part!r} not in the fix: {text}"
    assert "Traceback" not in rendered


def test_missing_file_names_the_path_and_the_fix(tmp_path: Path) -> None:
    rendered = refused(tmp_path / "nope.yaml").render()
    assert f"(file): '{tmp_path / 'nope.yaml'}'" in rendered
    assert "no such file" in rendered
    assert "stacklab init" in rendered and "-f FILE" in rendered


def test_every_problem_is_reported_at_once_schema(tmp_path: Path) -> None:
    path = write(tmp_path, "name: Lab!\nhypervizor: kvm\nos: windows\nservices: {cinder: 3}\n")
    error = refused(path)
    fields = {p.field for p in error.problems}
    assert fields == {"name", "hypervizor", "os", "services.cinder"}
    assert "has 4 problems" in error.render()
    assert {p.line for p in error.problems} == {1, 2, 3, 4}


def test_every_problem_is_reported_at_once_plan_rules(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        textwrap.dedent("""\
        name: lab
        provider:
          kind: gcp
          machine_types: {network: n2-standard-2, compute: e2-standard-4}
        topology:
          nodes:
            - {name: ctl, roles: [controller]}
            - {name: ctl, roles: [compute]}
            - {name: net, roles: [network]}
        hypervisor: kvm
        networks:
          overlay: {encapsulation: gre, mtu: 1300}
          provider:
            cidr: 10.1.2.0/24
            floating_range: {start: 10.9.0.1, end: 10.9.0.9}
          uplink: {cidr: 10.1.2.0/25}
        access: {admin_cidr: 0.0.0.0/0}
        """),
    )
    error = refused(path)
    by_field: dict[str, int] = {}
    for problem in error.problems:
        by_field[problem.field] = by_field.get(problem.field, 0) + 1
    expected = {
        "topology.nodes[1].name",  # duplicate
        "provider.machine_types.network",  # 4 NICs on a 2-NIC type
        "hypervisor",  # kvm on e2
        "networks.overlay.encapsulation",  # GRE
        "networks.overlay.mtu",  # tenant MTU 1242
        "networks.provider.floating_range",  # outside the provider CIDR
        "networks.uplink.cidr",  # overlaps the provider CIDR
        "access.admin_cidr",  # the whole internet
    }
    assert expected <= set(by_field), error.render()
    assert f"has {len(error.problems)} problems" in error.render()
    assert all(problem.line is not None for problem in error.problems)


def test_errors_come_before_anything_is_created(tmp_path: Path) -> None:
    path = write(tmp_path, "name: lab\nprovider: gcp\nnetworks:\n  overlay: {encapsulation: gre}\n")
    with pytest.raises(SpecError):
        api.up(path)
    with pytest.raises(SpecError):
        api.plan_file(path)
    assert not (tmp_path / "state").exists()
    assert not (tmp_path / "cache").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stacklab.yaml"]


TEMPLATES = [(preset, provider) for preset in Preset for provider in ProviderKind]


@pytest.mark.parametrize(
    ("preset", "provider"), TEMPLATES, ids=[f"{a.value}-{b.value}" for a, b in TEMPLATES]
)
def test_every_init_template_loads_and_plans(
    tmp_path: Path, preset: Preset, provider: ProviderKind
) -> None:
    path = write(tmp_path, render_spec("demo", preset, provider))
    planned = api.plan_file(path)
    assert planned.lab == "demo"
    assert planned.provider == provider.value
    assert len(planned.nodes) == {Preset.AIO: 1, Preset.MULTINODE: 5}[preset]
    assert not (tmp_path / "state").exists()


def test_commented_out_section_means_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "name: lab\naccess:\n  # admin_cidr: 203.0.113.7/32\nservices:\n")
    planned = api.plan_file(path)
    assert "horizon" in planned.services
