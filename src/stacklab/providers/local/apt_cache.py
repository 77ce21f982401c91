"""The apt cache on the host (apt-cacher-ng) that every lab's nodes and image builds share.

Installed and started on demand, without systemd (PID 1 is not systemd on our hosts), so
that a second lab or a rebuilt image downloads nothing again.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from stacklab.core.nodes import ProgressCallback
from stacklab.doctor.mirror import apt_sources, host_debian_mirror
from stacklab.errors import HostError, ProviderError
from stacklab.providers.local.node_files import APT_CACHE_PORT
from stacklab.runner import Runner
from stacklab.state.leftovers import unmarked  # the cache serves every lab, and stays

DAEMON = Path("/usr/sbin/apt-cacher-ng")
INIT_SCRIPT = Path("/etc/init.d/apt-cacher-ng")
DEBIAN_BACKENDS = Path("/etc/apt-cacher-ng/backends_debian")
START_TIMEOUT_S = 15.0
APT_INSTALL = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q"]


def debian_mirror(spec_mirror: str | None) -> str:
    """The spec's mirror, else the one this host's apt uses."""
    mirror = spec_mirror or host_debian_mirror()
    if mirror is None:
        raise HostError(
            "No Debian mirror is configured: the spec sets none and this host's apt sources "
            "list none.",
            fix="set provider.mirror in the spec to a Debian mirror URL",
        )
    return mirror.rstrip("/")


def security_mirror(etc_apt: Path = Path("/etc/apt")) -> str | None:
    """The URI this host's apt uses for `<release>-security`, if any."""
    for source in apt_sources(etc_apt):
        if not source.enabled or "deb" not in source.types:
            continue
        if any(suite.endswith("-security") for suite in source.suites):
            for uri in source.uris:
                if uri.startswith(("http://", "https://")):
                    return uri.rstrip("/")
    return None


def render_backends(mirror: str) -> str:
    # No checksum line of the package's in here, so that package upgrades leave the file alone.
    return f"# Written by stacklab: the Debian mirror that this host's apt uses.\n{mirror}/\n"


def is_listening(port: int = APT_CACHE_PORT, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def ensure_apt_cache(runner: Runner, mirror: str, progress: ProgressCallback) -> None:
    """Install apt-cacher-ng if missing, point its Debian backend at `mirror`, run it."""
    if not DAEMON.exists():
        progress("installing apt-cacher-ng: the apt cache that every lab shares")
        _install(runner)
    # Its default backend is not reachable from every host ("503 Host not found"): requests
    # for Debian's well-known mirror names go to the backend, so it must be the host's mirror.
    wanted = render_backends(mirror)
    current = DEBIAN_BACKENDS.read_text(encoding="utf-8") if DEBIAN_BACKENDS.exists() else ""
    changed = current != wanted
    if changed:
        DEBIAN_BACKENDS.write_text(wanted, encoding="utf-8")
    if is_listening():
        if changed:
            runner.run(unmarked([str(INIT_SCRIPT), "restart"]), fix=f"see {INIT_SCRIPT}")
            _wait_listening()
        return
    progress(f"starting apt-cacher-ng on port {APT_CACHE_PORT}")
    runner.run(unmarked([str(INIT_SCRIPT), "start"]), fix=f"see {INIT_SCRIPT}")
    _wait_listening()


def _install(runner: Runner) -> None:
    command = unmarked([*APT_INSTALL, "apt-cacher-ng"])  # the package starts the daemon
    if not runner.run(command, check=False, timeout=600).ok:
        # A fresh host may have no package lists yet.
        runner.run(["apt-get", "update", "-q"], timeout=600, fix="check this host's apt sources")
        runner.run(command, timeout=600, fix="install apt-cacher-ng by hand")


def _wait_listening() -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if is_listening():
            return
        time.sleep(0.2)
    raise ProviderError(
        f"apt-cacher-ng did not listen on port {APT_CACHE_PORT} within {START_TIMEOUT_S:.0f} s.",
        fix="see /var/log/apt-cacher-ng/ and run `/etc/init.d/apt-cacher-ng start` by hand",
    )
