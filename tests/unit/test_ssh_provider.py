"""The ssh provider: what it reads from hosts, how it judges them, and its marker, on fake
hosts (directories behind a fake `ssh`, see ssh_hosts.py)."""

from __future__ import annotations

from ipaddress import IPv4Interface
from pathlib import Path
from typing import Any

import pytest
from ssh_hosts import FakeHost, FakeHosts

from stacklab.catalog import load_catalog
from stacklab.config.models import OperatingSystem, Spec
from stacklab.config.models import SshProvider as SshSettings
from stacklab.core.context import LabContext
from stacklab.doctor.ovs_datapath import decide_datapath, read_kernel_facts
from stacklab.errors import HostError, ProviderError
from stacklab.plan.models import Plan
from stacklab.plan.planner import plan
from stacklab.providers.base import OwnNodeAddresses
from stacklab.providers.datapaths import datapaths_unprobed, probed_datapaths
from stacklab.providers.ssh import SshProvider
from stacklab.providers.ssh.facts import parse_facts
from stacklab.providers.ssh.hosts import SshTarget, recorded_target, targets_of
from stacklab.providers.ssh.judgement import address_conflicts, host_problems
from stacklab.providers.ssh.marker import AddedAddress, Marker, parse_marker
from stacklab.providers.ssh.remote import ssh_problem
from stacklab.runner import Completed, LocalRunner
from stacklab.state.db import StateDB

CATALOG = load_catalog(with_host=False)
MANAGEMENT = "10.30.0.0/24"
OVERLAY = "10.30.1.0/24"
INTERFACES = {"management": "mgmt0", "overlay": "overlay0"}


def spec_of(lab: str, key: Path, addresses: tuple[str, str] = ("192.0.2.1", "192.0.2.2")) -> Spec:
    hosts: list[dict[str, Any]] = [
        {"name": name, "address": address, "private_key": str(key), "interfaces": INTERFACES}
        for name, address in zip(("ctl", "cmp"), addresses, strict=True)
    ]
    hosts[0]["interfaces"] = {**INTERFACES, "provider": "provider0", "uplink": "uplink0"}
    return Spec.model_validate(
        {
            "name": lab,
            "provider": {"kind": "ssh", "hosts": hosts},
            "topology": {
                "nodes": [
                    {"name": "ctl", "roles": ["controller", "network"]},
                    {"name": "cmp", "roles": ["compute"]},
                ]
            },
            "networks": {
                "management": {"cidr": MANAGEMENT},
                "overlay": {"cidr": OVERLAY},
                "provider": {"cidr": "10.30.2.0/24"},
                "uplink": {"cidr": "10.30.3.0/24"},
            },
        }
    )


def settings_of(spec: Spec) -> SshSettings:
    assert isinstance(spec.provider, SshSettings)
    return spec.provider


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The survey records each host's datapath in the cache: not in the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "id_ed25519"
    path.write_text("private")
    return path


@pytest.fixture
def fleet(tmp_path: Path) -> FakeHosts:
    """The two hosts as the local provider makes them: addresses in place already on ctl,
    none yet on cmp's overlay interface."""
    hosts = FakeHosts()
    hosts.add(
        FakeHost(
            tmp_path / "ctl",
            "192.0.2.1",
            {
                "mgmt0": ["10.30.0.10/24"],
                "overlay0": ["10.30.1.10/24"],
                "provider0": ["10.30.2.10/24"],
                "uplink0": ["10.30.3.10/24"],
            },
        )
    )
    hosts.add(FakeHost(tmp_path / "cmp", "192.0.2.2", {"mgmt0": ["10.30.0.11/24"], "overlay0": []}))
    return hosts


def provider_for(spec: Spec, runner: FakeHosts, db: StateDB | None = None) -> SshProvider:
    def recorded(lab: str) -> tuple[SshTarget, ...]:
        rows = db.resources(lab) if db else []
        return tuple(recorded_target(r.ident, r.data) for r in rows if r.kind == "host")

    return SshProvider(targets_of(settings_of(spec).hosts), runner=runner, recorded=recorded)


def context_for(plan_: Plan, tmp_path: Path, db: StateDB) -> LabContext:
    directory = tmp_path / "labs" / plan_.lab
    directory.mkdir(parents=True, exist_ok=True)
    messages: list[str] = []
    return LabContext(plan_.lab, directory, db, tmp_path / "lab-key", "", messages.append)


# --- what is read -----------------------------------------------------------------------

PROBE_OUTPUT = """\
@uid
0
@os-release
PRETTY_NAME="Debian GNU/Linux 13 (trixie)"
ID=debian
VERSION_CODENAME=trixie
@python
yes
@links
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT
2: mgmt0@if7: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT
3: overlay0@if9: <BROADCAST,MULTICAST> mtu 1450 qdisc noop state DOWN mode DEFAULT
@addresses
1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
2: mgmt0    inet 10.30.0.10/24 brd 10.30.0.255 scope global mgmt0\\       valid_lft forever
@marker
# comment
lab=sshh
node=ctl
added=10.30.1.10/24 overlay0
@openvswitch
kernel 6.12.48+deb13-amd64
module-loaded no
module-file yes
module-loading yes
genl-family no
@end
"""


def test_probe_output_becomes_facts() -> None:
    facts = parse_facts(PROBE_OUTPUT)
    assert facts.uid == 0 and facts.python and facts.ip_tool
    assert facts.os_release["VERSION_CODENAME"] == "trixie"
    assert set(facts.links) == {"lo", "mgmt0", "overlay0"}
    assert facts.links["overlay0"].mtu == 1450 and not facts.links["overlay0"].up
    assert facts.interface_of(IPv4Interface("10.30.0.10/16")) == "mgmt0"
    added = (AddedAddress(IPv4Interface("10.30.1.10/24"), "overlay0"),)
    assert facts.marker == Marker("sshh", "ctl", added)
    assert facts.kernel is not None and facts.kernel.kernel == "6.12.48+deb13-amd64"
    assert facts.kernel.module_file and not facts.kernel.module_loaded
    assert facts.kernel.genl_family is False


def test_probe_output_cut_short_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_facts(PROBE_OUTPUT.replace("@end\n", ""))


def test_marker_renders_and_parses_back_and_ignores_what_it_cannot_read() -> None:
    added = AddedAddress(IPv4Interface("10.30.1.11/24"), "eth2")
    marker = Marker("sshh", "cmp").with_added((added,)).with_added((added,))
    assert marker.added == (added,)
    assert parse_marker(marker.render()) == marker
    assert parse_marker("") is None
    assert parse_marker("node=x\n") is None
    assert parse_marker("lab=a\nadded=garbage eth0\n") == Marker("a", "")


# --- how it is judged ---------------------------------------------------------------------


def test_every_problem_of_a_host_is_named_with_its_fix(key: Path) -> None:
    spec = spec_of("sshh", key)
    planned = plan(spec, CATALOG)
    wrong = (
        PROBE_OUTPUT.replace("\n0\n", "\n1000\n", 1)
        .replace("ID=debian", "ID=ubuntu")
        .replace("Debian GNU/Linux 13 (trixie)", "Ubuntu 24.04")
        .replace("yes\n", "", 1)
        .replace("2: mgmt0    inet 10.30.0.10/24", "3: overlay0    inet 10.30.0.10/24")
        .replace("lab=sshh", "lab=other")
    )
    target = targets_of(settings_of(spec).hosts)[0]
    problems = host_problems(planned, target, parse_facts(wrong))
    text = "\n".join(problem.render() for problem in problems)
    assert all(p.host == "ctl (root@192.0.2.1:22)" for p in problems)
    assert "uid 1000" in text and "user: root" in text
    assert "it runs Ubuntu 24.04" in text and "python3" in text
    assert "no interface provider0" in text and "interfaces.provider" in text
    assert "10.30.0.10 is on overlay0, not on mgmt0" in text
    assert "MTU 1450" in text
    assert "belongs to the lab other" in text and "stacklab down other" in text


def test_debian_12_host_is_told_to_be_debian_13_not_to_set_an_unsupported_os(key: Path) -> None:
    spec = spec_of("sshh", key)
    bookworm = PROBE_OUTPUT.replace("trixie", "bookworm").replace("Linux 13", "Linux 12")
    target = targets_of(settings_of(spec).hosts)[0]
    problems = host_problems(plan(spec, CATALOG), target, parse_facts(bookworm))
    fixes = [problem.fix for problem in problems]
    assert any("use a host with Debian trixie" in fix for fix in fixes), fixes
    assert not any("set os:" in fix for fix in fixes), fixes


def test_a_planned_address_held_by_another_host_is_a_conflict(key: Path) -> None:
    spec = spec_of("sshh", key)
    planned = plan(spec, CATALOG)
    targets = {t.name: t for t in targets_of(settings_of(spec).hosts)}
    # cmp's mgmt0 holds 10.30.0.10, which the plan gives to ctl
    problems = address_conflicts(planned, targets, {"cmp": parse_facts(PROBE_OUTPUT)})
    assert [p.host for p in problems] == ["ctl (root@192.0.2.1:22)"]
    assert "held by host cmp" in problems[0].why


def test_ssh_failures_say_what_to_do() -> None:
    target = SshTarget("ctl", "192.0.2.1", "root", 2222, Path("/k"), {}, index=0)
    denied = ssh_problem(target, Completed((), 255, "", "Permission denied (publickey).\n"))
    assert denied is not None and "ssh-copy-id -i /k.pub -p 2222 root@192.0.2.1" in denied.fix
    silent = ssh_problem(target, Completed((), 255, "", "connect to host: timed out\n"))
    assert silent is not None and "provider.hosts[0].address" in silent.fix
    assert ssh_problem(target, Completed((), 1, "", "")) is None


# --- the provider on fake hosts ----------------------------------------------------------


def test_check_passes_on_ready_hosts_and_changes_nothing(key: Path, fleet: FakeHosts) -> None:
    spec = spec_of("sshh", key)
    provider_for(spec, fleet).check(plan(spec, CATALOG))
    assert not any(host.marker.exists() for host in fleet.hosts.values())


def test_the_survey_asks_each_host_kernel_for_the_next_plan(key: Path, fleet: FakeHosts) -> None:
    spec = spec_of("sshh", key)
    ovn = spec.model_copy(update={"os": OperatingSystem.DEBIAN_13})
    assert datapaths_unprobed(ovn) and probed_datapaths(ovn) == {}
    provider_for(spec, fleet).check(plan(spec, CATALOG))
    assert not datapaths_unprobed(ovn)
    # The fake hosts run the facts script on this machine's kernel.
    expected = decide_datapath(
        read_kernel_facts(LocalRunner()), where="host", loads_module_at_start=True
    ).kind
    planned = plan(ovn, CATALOG, datapaths=probed_datapaths(ovn))
    for name in ("ctl", "cmp"):
        datapath = planned.node(name).datapath
        assert datapath is not None and datapath.kind is expected
        assert datapath.reason.startswith(f"host {name}'s kernel ")
        assert "could not be asked" not in datapath.reason  # the script's answer arrived


def test_check_reports_every_host_at_once_before_anything_is_marked(
    key: Path, fleet: FakeHosts, tmp_path: Path
) -> None:
    fleet.hosts["192.0.2.1"].accepts_key = False
    spec = spec_of("sshh", key, addresses=("192.0.2.1", "192.0.2.99"))
    with pytest.raises(HostError) as refused:
        provider_for(spec, fleet).check(plan(spec, CATALOG))
    text = refused.value.render()
    assert "2 problems" in text and "nothing was changed" in text
    assert "ctl (root@192.0.2.1:22)" in text and "authorized_keys" in text
    assert "cmp (root@192.0.2.99:22)" in text and "does not answer SSH" in text

    missing_key = spec_of("sshh", tmp_path / "no-such-key")
    with pytest.raises(HostError) as no_key:
        provider_for(missing_key, fleet).check(plan(missing_key, CATALOG))
    assert "no-such-key does not exist" in no_key.value.render()
    assert fleet.scripts == []  # no host was even asked


def test_nodes_are_marked_missing_addresses_added_and_down_takes_back_only_that(
    key: Path, fleet: FakeHosts, tmp_path: Path
) -> None:
    spec = spec_of("sshh", key)
    planned = plan(spec, CATALOG)
    db = StateDB(tmp_path / "state.db")
    provider = provider_for(spec, fleet, db)
    accesses = provider.create_nodes(planned, context_for(planned, tmp_path, db))
    assert [(a.name, a.host, a.private_key) for a in accesses] == [
        ("ctl", "192.0.2.1", key),
        ("cmp", "192.0.2.2", key),
    ]
    ctl, cmp = fleet.hosts["192.0.2.1"], fleet.hosts["192.0.2.2"]
    assert parse_marker(ctl.marker.read_text()) == Marker("sshh", "ctl")
    cmp_overlay = AddedAddress(IPv4Interface("10.30.1.11/24"), "overlay0")
    assert parse_marker(cmp.marker.read_text()) == Marker("sshh", "cmp", (cmp_overlay,))
    assert ("overlay0", IPv4Interface("10.30.1.11/24")) in cmp.addresses()

    provider.create_nodes(planned, context_for(planned, tmp_path, db))  # again: the same
    assert parse_marker(cmp.marker.read_text()) == Marker("sshh", "cmp", (cmp_overlay,))

    found = provider.discover("sshh")
    assert {(r.ident, r.state) for r in found} == {("ctl", "marked"), ("cmp", "marked")}

    ctl_before = ctl.addresses()
    removed = provider.destroy("sshh", lambda message: None)
    assert {r.ident for r in removed} == {"ctl", "cmp"}
    assert "OpenStack stays installed" in str(removed[0].details["note"])
    assert not ctl.marker.exists() and not cmp.marker.exists()
    assert ctl.addresses() == ctl_before  # its addresses were there before the lab
    assert ("overlay0", IPv4Interface("10.30.1.11/24")) not in cmp.addresses()
    assert ("mgmt0", IPv4Interface("10.30.0.11/24")) in cmp.addresses()
    assert provider.discover("sshh") == []


def test_a_second_lab_is_refused_the_hosts_of_the_first(
    key: Path, fleet: FakeHosts, tmp_path: Path
) -> None:
    first = spec_of("sshh", key)
    planned = plan(first, CATALOG)
    db = StateDB(tmp_path / "state.db")
    provider_for(first, fleet, db).create_nodes(planned, context_for(planned, tmp_path, db))

    second = spec_of("other", key)
    with pytest.raises(HostError) as refused:
        provider_for(second, fleet).check(plan(second, CATALOG))
    assert "belongs to the lab sshh" in refused.value.render()
    assert provider_for(second, fleet).discover("other") == []
    # Marked by the first lab between the second's check and its claim: refused all the same.
    target = targets_of(settings_of(second).hosts)[0]
    with pytest.raises(ProviderError, match="belongs to the lab sshh"):
        provider_for(second, fleet)._claim(target, Marker("other", "ctl"), (), Path("/dev/null"))
    assert parse_marker(fleet.hosts["192.0.2.1"].marker.read_text()) == Marker("sshh", "ctl")


def test_down_without_the_spec_finds_the_hosts_the_nodes_step_recorded(
    key: Path, fleet: FakeHosts, tmp_path: Path
) -> None:
    spec = spec_of("sshh", key)
    planned = plan(spec, CATALOG)
    db = StateDB(tmp_path / "state.db")
    provider_for(spec, fleet, db).create_nodes(planned, context_for(planned, tmp_path, db))

    def recorded(lab: str) -> tuple[SshTarget, ...]:
        return tuple(recorded_target(r.ident, r.data) for r in db.resources(lab))

    bare = SshProvider(runner=fleet, recorded=recorded)
    assert isinstance(bare, OwnNodeAddresses)
    access = bare.node_access("sshh", "cmp")
    assert access is not None and (access.host, access.user, access.port) == (
        "192.0.2.2",
        "root",
        22,
    )
    assert access.private_key == key
    assert {r.ident for r in bare.destroy("sshh", lambda message: None)} == {"ctl", "cmp"}
    assert not fleet.hosts["192.0.2.2"].marker.exists()
