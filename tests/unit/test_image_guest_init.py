"""The guest's /init and DHCP hook as rendered, and the console markers read back."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from stacklab.images import console_markers, guest_init
from stacklab.images.console_markers import read_markers
from stacklab.images.guest_init import DHCP_SCRIPT, VIRTIO_MODULES, render_init

# FIELD-NOTES: the only order in which none of them fails with "unknown symbol".
FIELD_NOTES_ORDER = (
    "virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover "
    "net_failover virtio_net virtio_blk"
)
SHELLS = [shell for shell in ("sh", "busybox") if shutil.which(shell)]


def test_modules_load_in_the_field_notes_order() -> None:
    assert " ".join(VIRTIO_MODULES) == FIELD_NOTES_ORDER
    script = render_init(VIRTIO_MODULES)
    assert f"for module in {FIELD_NOTES_ORDER}; do" in script


def test_only_the_modules_the_initramfs_holds_are_loaded() -> None:
    script = render_init(("virtio_ring", "virtio_net"))
    assert "for module in virtio_ring virtio_net; do" in script
    assert 'insmod "/lib/modules/$module.ko"' in script


def test_every_placeholder_is_filled_and_every_marker_is_printed() -> None:
    script = render_init(VIRTIO_MODULES)

    assert not re.search(r"@[A-Z_]+@", script)
    for marker in (
        console_markers.BOOTED,
        console_markers.DISK,
        console_markers.ADDRESS,
        console_markers.DHCP_FAILED,
        console_markers.METADATA_OK,
        console_markers.METADATA_FAILED,
        console_markers.HOSTNAME,
        console_markers.HOSTNAME_FAILED,
        console_markers.SSH_READY,
        console_markers.SSH_UNAVAILABLE,
        console_markers.HTTP_READY,
        console_markers.HTTP_UNAVAILABLE,
        console_markers.DISKS,
    ):
        assert marker in script
    assert script.index(console_markers.BOOTED) < script.index("insmod")
    assert "nc 169.254.169.254 80" in script
    assert not re.search(r"^\s*[^#\s].*\bwget\b", script, re.MULTILINE)
    assert "GET %s HTTP/1.0" in script
    assert "/latest/meta-data/instance-id" in script
    assert "/latest/meta-data/public-keys/0/openssh-key" in script
    assert "/latest/meta-data/hostname" in script
    # The hostname is set after the metadata answered and before SSH is decided, so a
    # finished console always says it.
    assert script.index("\n    set_hostname\n") < script.index("\n    start_ssh\n")
    # The page names the guest: written after the hostname is set.
    assert script.index("\n    set_hostname\n") < script.index("\n    serve_hostname\n")
    assert "httpd -p 80 -h /www" in script


def test_init_never_ends_since_pid_1_exiting_panics_the_kernel() -> None:
    script = render_init(VIRTIO_MODULES).rstrip()
    assert script.endswith("while :; do\n    setsid cttyhack sh\n    sleep 1\ndone")
    assert "\nexit" not in script and "exec " not in script


def test_the_dhcp_hook_applies_mtu_and_classless_routes() -> None:
    assert 'ip link set dev "$interface" mtu "$mtu"' in DHCP_SCRIPT
    assert "add_static_routes $staticroutes" in DHCP_SCRIPT
    assert "-O mtu -O staticroutes" in render_init(VIRTIO_MODULES)


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("script", ["init", "dhcp"])
def test_scripts_parse_as_shell(shell: str, script: str, tmp_path: Path) -> None:
    text = render_init(VIRTIO_MODULES) if script == "init" else DHCP_SCRIPT
    path = tmp_path / script
    path.write_text(text)
    command = [shell, "-n", str(path)] if shell == "sh" else [shell, "sh", "-n", str(path)]
    checked = subprocess.run(command, capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr


def test_the_fingerprint_follows_what_the_guest_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    before = guest_init.templates_fingerprint()
    assert guest_init.templates_fingerprint() == before
    monkeypatch.setattr(guest_init, "DHCP_SCRIPT", DHCP_SCRIPT + "# changed\n")
    assert guest_init.templates_fingerprint() != before


CONSOLE = (
    "[    0.028000] ..MP-BIOS bug: 8254 timer not connected to IO-APIC\r\n"
    "STACKLAB-BOOTED\r\n"
    "STACKLAB-DISK vda 1048576\r\n"
    "udhcpc: lease of 10.0.2.15 obtained from 10.0.2.2, lease time 86400\r\n"
    "STACKLAB-ADDRESS 10.0.2.15\r\n"
    "STACKLAB-METADATA-OK i-0123abcd\r\n"
    "STACKLAB-HOSTNAME vm-1\r\n"
    "STACKLAB-SSH-READY\r\n"
)


def test_markers_are_read_from_a_console_log() -> None:
    markers = read_markers(CONSOLE)

    assert markers.booted and markers.ssh_ready and markers.finished
    assert markers.disk == ("vda", 1048576)
    assert markers.address == "10.0.2.15"
    assert markers.instance_id == "i-0123abcd"
    assert markers.hostname == "vm-1" and markers.hostname_failure is None
    assert markers.metadata_failure is None and not markers.dhcp_failed


def test_failures_are_read_with_their_reasons() -> None:
    console = (
        "STACKLAB-BOOTED\r\nSTACKLAB-ADDRESS 10.0.0.5\r\n"
        "STACKLAB-METADATA-FAILED no answer from 169.254.169.254:80 for /x\r\n"
        "STACKLAB-HOSTNAME-FAILED /latest/meta-data/hostname: HTTP/1.0 404 Not Found\r\n"
        "STACKLAB-SSH-UNAVAILABLE no public key: /y: HTTP/1.0 404 Not Found\r\n"
    )
    markers = read_markers(console)

    assert markers.instance_id is None
    assert markers.metadata_failure == "no answer from 169.254.169.254:80 for /x"
    assert markers.hostname is None
    assert markers.hostname_failure == "/latest/meta-data/hostname: HTTP/1.0 404 Not Found"
    assert markers.ssh_unavailable == "no public key: /y: HTTP/1.0 404 Not Found"
    assert markers.finished and not markers.ssh_ready


def test_a_console_still_booting_is_not_finished() -> None:
    markers = read_markers("STACKLAB-BOOTED\r\nSTACKLAB-ADDRESS 10.0.2.")
    assert markers.booted and not markers.finished
    assert markers.address is None
    assert not read_markers("").booted


def test_disk_lists_are_read_oldest_first_and_a_disk_marker_is_not_one() -> None:
    console = (
        "STACKLAB-DISK vda 1048576\r\nSTACKLAB-DISKS vda:1048576\r\n"
        "STACKLAB-DISKS vda:1048576 vdb:1073741824\r\nSTACKLAB-DISKS\r\n"
    )
    assert console_markers.disk_lists(console) == [
        {"vda": 1048576},
        {"vda": 1048576, "vdb": 1073741824},
        {},
    ]
    assert read_markers(console).disk == ("vda", 1048576)


def test_the_disk_watcher_prints_the_disks_again_when_one_comes_or_goes(tmp_path: Path) -> None:
    script = render_init(VIRTIO_MODULES)
    function = script[script.index("watch_disks() {") : script.index("\nwatch_disks &")]
    sys_block = tmp_path / "block"
    (sys_block / "vda").mkdir(parents=True)
    (sys_block / "vda" / "size").write_text("2048\n")
    watcher = function.replace("/sys/block", str(sys_block)).replace("sleep 2", "sleep 0.2")
    with subprocess.Popen(
        ["sh", "-c", f"{watcher}\nwatch_disks"], stdout=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        first = process.stdout.readline()
        (sys_block / "vdb").mkdir()
        (sys_block / "vdb" / "size").write_text("4\n")
        second = process.stdout.readline()
        shutil.rmtree(sys_block / "vdb")
        third = process.stdout.readline()
        process.kill()
    assert console_markers.disk_lists(first + second + third) == [
        {"vda": 1048576},
        {"vda": 1048576, "vdb": 2048},
        {"vda": 1048576},
    ]


def tempest_disks(lsblk_output: str) -> list[str]:
    """Tempest's RemoteClient.get_disks/list_disks: the rows with "disk" right under TYPE."""
    position: int | None = None
    names = []
    for line in lsblk_output.splitlines():
        if position is None and line.find("TYPE") > 0:
            position = line.find("TYPE")
        elif position is not None and line[position : position + 4] == "disk":
            names.append(line.split()[0])
    return names


@pytest.mark.parametrize("shell", SHELLS)
def test_lsblk_lists_the_virtio_disks_as_tempest_reads_them(shell: str, tmp_path: Path) -> None:
    sysfs = tmp_path / "block"
    for name, dev, sectors in (
        ("vda", "253:0", 2097152),
        ("vdb", "253:16", 2 << 30),
        ("sr0", "11:0", 900),
    ):
        (sysfs / name).mkdir(parents=True)
        for key, value in (("dev", dev), ("size", sectors), ("removable", 0), ("ro", 0)):
            (sysfs / name / key).write_text(f"{value}\n")
    script = tmp_path / "lsblk"
    script.write_text(guest_init.LSBLK_SCRIPT.replace("/sys/block", str(sysfs)))
    command = [shell, str(script)] if shell == "sh" else [shell, "sh", str(script)]
    listed = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert tempest_disks(listed) == ["vda", "vdb"]
    assert f"{(2 << 30) * 512}" in listed  # bytes, as -b asks
