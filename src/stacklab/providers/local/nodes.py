"""A node's root (overlayfs over the image layers), its files, and its systemd-nspawn process."""

from __future__ import annotations

import json
import signal
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from stacklab.errors import ProviderError
from stacklab.providers.local.mounts import is_mounted
from stacklab.providers.local.naming import MARKER_FILE
from stacklab.providers.local.network import NETNS_DIR, namespace_pids
from stacklab.providers.local.node_files import stale_files
from stacklab.providers.local.processes import (
    POWEROFF,
    container_inits,
    is_alive,
    nspawn_machines,
    send,
    wait_until,
)
from stacklab.runner import Runner
from stacklab.state.leftovers import unmarked

NODES_DIR = "nodes"
KVM = Path("/dev/kvm")
KILL_TIMEOUT_S = 10.0
# Detach nspawn from us: its own session, output to the node's log, and `sh` exits at once so
# the node outlives stacklab. Prints nspawn's PID.
_DETACH = 'log=$1; shift; "$@" </dev/null >>"$log" 2>&1 & echo $!'


@dataclass(frozen=True)
class NodeDirs:
    path: Path

    @property
    def upper(self) -> Path:
        return self.path / "upper"

    @property
    def work(self) -> Path:
        return self.path / "work"

    @property
    def root(self) -> Path:
        return self.path / "root"

    @property
    def log(self) -> Path:
        return self.path / "console.log"

    @property
    def pid_file(self) -> Path:
        return self.path / "nspawn.pid"

    @property
    def marker(self) -> Path:
        return self.path / MARKER_FILE


def node_dirs(lab_directory: Path, node: str) -> NodeDirs:
    return NodeDirs(lab_directory / NODES_DIR / node)


@dataclass(frozen=True)
class NodeMarker:
    """Written in each node's directory: whose it is, and the layers its upper dir sits on."""

    lab: str
    node: str
    layers: tuple[str, ...]


def write_marker(dirs: NodeDirs, marker: NodeMarker) -> None:
    dirs.path.mkdir(parents=True, exist_ok=True)
    data = {"lab": marker.lab, "node": marker.node, "layers": list(marker.layers)}
    dirs.marker.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def read_marker(dirs: NodeDirs) -> NodeMarker | None:
    try:
        data = json.loads(dirs.marker.read_text(encoding="utf-8"))
        return NodeMarker(str(data["lab"]), str(data["node"]), tuple(data.get("layers", ())))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def mount_root(runner: Runner, dirs: NodeDirs, source: str, layers: tuple[Path, ...]) -> bool:
    """Mount the node's overlayfs root unless it is mounted; True if mounted now."""
    if is_mounted(dirs.root):
        return False
    for directory in (dirs.upper, dirs.work, dirs.root):
        directory.mkdir(parents=True, exist_ok=True)
    paths = [*layers, dirs.upper, dirs.work]
    if any(char in str(path) for path in paths for char in ",:"):
        raise ProviderError(
            f"overlayfs cannot take a path with ',' or ':': {', '.join(map(str, paths))}",
            fix="use XDG_STATE_HOME and XDG_CACHE_HOME paths without those characters",
        )
    lower = ":".join(str(layer) for layer in layers)
    options = f"lowerdir={lower},upperdir={dirs.upper},workdir={dirs.work}"
    runner.run(["mount", "-t", "overlay", source, "-o", options, str(dirs.root)])
    return True


def _inside(root: Path, relative: str) -> Path:
    """A path in the node's root that does not leave it through a symlink."""
    path = root
    parts = Path(relative).parts
    for index, part in enumerate(parts):
        path = path / part
        if path.is_symlink():
            if index == len(parts) - 1:
                path.unlink()  # replace a link with our file, never write through it
            else:
                raise ProviderError(f"{path} is a symlink; stacklab does not write through it.")
    return path


def write_node_files(runner: Runner, root: Path, files: dict[str, str]) -> None:
    """Write the node's own files into its mounted root: identity, network, apt, SSH."""
    existing = [
        str(path.relative_to(root))
        for folder in ("etc/systemd/network", "etc/apt/apt.conf.d")
        if (root / folder).is_dir()
        for path in (root / folder).iterdir()
    ]
    for relative in stale_files(existing, files):
        _inside(root, relative).unlink(missing_ok=True)
    ssh_dir = _inside(root, "root/.ssh")
    ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    ssh_dir.chmod(0o700)
    for relative, text in files.items():
        path = _inside(root, relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600 if relative.startswith("root/") else 0o644)
    machine_id = _inside(root, "etc/machine-id")
    if not machine_id.exists() or not machine_id.read_text(encoding="ascii").strip():
        machine_id.write_text(uuid.uuid4().hex + "\n", encoding="ascii")
    # Host keys of this node only (the base image has none), known to us for known_hosts.
    runner.run(["ssh-keygen", "-A", "-f", str(root)])


def host_key_path(root: Path) -> Path:
    return root / "etc" / "ssh" / "ssh_host_ed25519_key.pub"


def host_public_key(root: Path) -> str:
    try:
        return host_key_path(root).read_text(encoding="ascii")
    except FileNotFoundError:
        raise ProviderError(
            f"The node's SSH host key {host_key_path(root)} is missing: its root is not "
            "mounted or was never made.",
            fix="run `stacklab up` again: a node without its root is booted afresh",
        ) from None


def nspawn_command(dirs: NodeDirs, machine: str, namespace: str, hostname: str) -> list[str]:
    command = [
        "systemd-nspawn",
        # This host's PID 1 is not systemd: no machined to register with, no unit to make.
        "--register=no",
        "--keep-unit",
        "--boot",
        f"--directory={dirs.root}",
        f"--machine={machine}",
        f"--hostname={hostname}",
        # The namespace we prepared holds the node's veths. --private-network as well: with
        # the namespace path alone nspawn drops CAP_NET_ADMIN (systemd-networkd then skips
        # itself: ConditionCapability) and mounts /proc/sys/net read-only; Neutron needs both
        # (bridges, vxlan, netns, nftables, sysctls). Both act on the node's namespace only.
        "--private-network",
        f"--network-namespace-path={NETNS_DIR / namespace}",
        # The host's resolvers, current at each boot (not the image's copy from build time).
        "--resolv-conf=copy-host",
        # Nothing of the node's under the host's /var/log/journal, no host .nspawn files.
        "--link-journal=no",
        "--settings=no",
        # Boot messages go to the node's log file; no terminal is needed.
        "--console=read-only",
    ]
    # /dev/net/tun needs no bind: nspawn makes it in every container. /dev/kvm is bound when
    # present (nspawn then allows it in the node's device policy) for where KVM works.
    if KVM.exists():
        command.append(f"--bind={KVM}")
    return command


def start_nspawn(runner: Runner, dirs: NodeDirs, command: list[str]) -> int:
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    with dirs.log.open("a", encoding="utf-8") as log:
        log.write(f"\n--- {stamp} stacklab starts: {' '.join(command)}\n")
    # Unmarked: the node outlives `up`, and the next `up` must not end it as a leftover.
    detach = ["setsid", "sh", "-c", _DETACH, "stacklab-node", str(dirs.log), *command]
    result = runner.run(unmarked(detach))
    pid = int(result.stdout.strip())
    dirs.pid_file.write_text(f"{pid}\n", encoding="ascii")
    return pid


def leaders(machine: str) -> list[int]:
    """PIDs of the live systemd-nspawn processes of a node (one when it runs)."""
    return nspawn_machines().get(machine, [])


@dataclass(frozen=True)
class NodeProcesses:
    machine: str
    namespace: str


def stop_nodes(
    runner: Runner, nodes: list[NodeProcesses], *, timeout: float, graceful: bool = True
) -> list[str]:
    """Power the nodes off (orderly if `graceful`, else at once); returns the machines that
    were running. What is still alive after `timeout` is killed."""
    running = []
    for node in nodes:
        nspawn = leaders(node.machine)
        inside = namespace_pids(runner, node.namespace)
        if not nspawn and not inside:
            continue
        running.append(node)
        if not graceful:
            send([*nspawn, *inside], signal.SIGKILL)
        elif nspawn:
            send(nspawn, signal.SIGTERM)  # nspawn forwards it to the node's systemd as poweroff
        else:  # nspawn died and left the node running: ask its systemd directly
            send(container_inits(inside), POWEROFF)

    def all_gone() -> bool:
        return not any(_alive(runner, node) for node in running)

    if not wait_until(all_gone, timeout):
        for node in running:
            send([*leaders(node.machine), *namespace_pids(runner, node.namespace)], signal.SIGKILL)
        if not wait_until(all_gone, KILL_TIMEOUT_S):
            names = ", ".join(node.machine for node in running if _alive(runner, node))
            raise ProviderError(f"Processes of {names} survived SIGKILL.", fix="see `ps -ef`")
    return [node.machine for node in running]


def _alive(runner: Runner, node: NodeProcesses) -> bool:
    if leaders(node.machine):
        return True
    return any(is_alive(pid) for pid in namespace_pids(runner, node.namespace))
