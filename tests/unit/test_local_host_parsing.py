"""What the local provider reads from and renders for the host: mounts, NAT, apt, images."""

import os
from ipaddress import IPv4Network
from pathlib import Path

from stacklab.core.nodes import NodeAccess
from stacklab.core.ssh import ssh_argv
from stacklab.providers.local.apt_cache import render_backends, security_mirror
from stacklab.providers.local.images import BASE_PACKAGES, BaseImage
from stacklab.providers.local.mounts import parse_mountinfo
from stacklab.providers.local.network import render_lab_table
from stacklab.providers.local.processes import container_inits, is_alive, nspawn_directory

MOUNTINFO = (
    "25 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
    "52 27 0:40 / /tmp/with\\040space/n1/root rw,relatime - overlay stacklab:t1:n1 "
    "rw,lowerdir=/c/base,upperdir=/s/n1/upper,workdir=/s/n1/work\n"
    "43 42 0:4 net:[4026532177] /run/netns/x rw shared:2 - nsfs nsfs rw\n"
)


def test_mountinfo_is_parsed_with_escapes() -> None:
    mounts = parse_mountinfo(MOUNTINFO)
    assert [m.point for m in mounts] == [
        Path("/"),
        Path("/tmp/with space/n1/root"),
        Path("/run/netns/x"),
    ]
    overlay = mounts[1]
    assert (overlay.fstype, overlay.source) == ("overlay", "stacklab:t1:n1")
    assert "upperdir=/s/n1/upper" in overlay.options


def test_nat_table_masquerades_the_lab_out_of_the_uplink_only() -> None:
    cidrs = [IPv4Network("10.179.1.0/24"), IPv4Network("10.179.0.0/24")]
    table = render_lab_table("lab-one", cidrs, ["sl-lab-one-m"], "eth0")
    assert table.startswith("table ip stacklab_lab_one {")
    assert "type nat hook postrouting priority srcnat" in table
    assert 'ip saddr { 10.179.0.0/24, 10.179.1.0/24 } oifname "eth0" masquerade' in table


def test_nat_table_comment_changes_with_its_rules() -> None:
    one = render_lab_table("t1", [IPv4Network("10.1.0.0/24")], ["sl-t1-m"], "eth0")
    again = render_lab_table("t1", [IPv4Network("10.1.0.0/24")], ["sl-t1-m"], "eth0")
    other_uplink = render_lab_table("t1", [IPv4Network("10.1.0.0/24")], ["sl-t1-m"], "eth1")
    assert one == again
    assert one.splitlines()[1] != other_uplink.splitlines()[1]
    assert 'comment "stacklab:t1:' in one


def test_lab_table_forwards_only_among_its_bridges_and_the_uplink() -> None:
    bridges = ["sl-t1-p", "sl-t1-m"]
    table = render_lab_table("t1", [IPv4Network("10.1.0.0/24")], bridges, "eth0")
    assert "type filter hook forward priority filter; policy accept;" in table
    own = '{ "sl-t1-m", "sl-t1-p" }'
    allowed = '{ "sl-t1-m", "sl-t1-p", "eth0" }'
    assert f"iifname {own} oifname != {allowed} drop" in table
    assert f"oifname {own} iifname != {allowed} drop" in table


def test_backends_file_names_only_the_mirror() -> None:
    text = render_backends("http://mirror.invalid/debian")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines == ["http://mirror.invalid/debian/"]


def test_security_mirror_is_read_from_deb822_and_one_line_sources(tmp_path: Path) -> None:
    apt = tmp_path / "apt"
    (apt / "sources.list.d").mkdir(parents=True)
    (apt / "sources.list").write_text("deb http://mirror.invalid/debian bookworm main\n")
    assert security_mirror(apt) is None
    (apt / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.invalid/debian\nSuites: bookworm\nComponents: main\n\n"
        "Types: deb\nURIs: http://security.invalid/debian-security/\n"
        "Suites: bookworm-security\nComponents: main\n"
    )
    assert security_mirror(apt) == "http://security.invalid/debian-security"


def test_image_names_follow_release_and_packages() -> None:
    trixie = BaseImage("trixie")
    assert trixie.name.startswith("debian-trixie-base-")
    assert trixie.name == BaseImage("trixie", tuple(reversed(BASE_PACKAGES))).name
    assert trixie.name != BaseImage("bookworm").name
    assert trixie.name != BaseImage("trixie", (*BASE_PACKAGES, "curl")).name


def test_ssh_checks_the_host_keys_stacklab_made() -> None:
    access = NodeAccess("n1", "10.1.0.10", "root", 22, Path("/lab/ssh/id_ed25519"))
    argv = ssh_argv(access, Path("/lab/known_hosts"), ["uname", "-a"])
    assert argv[0] == "ssh" and argv[-3:] == ["root@10.1.0.10", "uname", "-a"]
    assert "StrictHostKeyChecking=yes" in argv and "UserKnownHostsFile=/lab/known_hosts" in argv
    assert argv[argv.index("-i") + 1] == "/lab/ssh/id_ed25519"
    assert "BatchMode=yes" in argv


def test_processes_are_read_from_proc() -> None:
    assert is_alive(os.getpid())
    assert not is_alive(2**22 + 1)  # above the kernel's largest PID
    assert nspawn_directory(os.getpid()) is None
    assert container_inits([os.getpid()]) == []  # this test does not run as a PID 1
