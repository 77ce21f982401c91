"""Ansible module: a systemd service enabled and running with its current configuration.

systemd is reloaded first when the unit's own file changed on disk (a unit stacklab writes).

Restarts the service when one of its configuration files changed after it started, or
when a service it depends on (e.g. libvirtd for nova-compute) restarted after it. The
node itself is the record of what is pending, so an install interrupted between a
configuration change and the restart still restarts on the next run.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

DOCUMENTATION = """
module: stacklab_service
short_description: systemd service running with its current configuration
options:
  name: {type: str, required: true}
  state: {type: str, default: started, choices: [started, stopped]}
  enabled: {type: bool, default: true}
  config_files: {type: list, elements: path, default: []}
  restart_after: {type: list, elements: str, default: []}
"""

MICROSECONDS = 1_000_000
# systemd in a node sometimes fails to spawn a unit's process under load ("Failed to spawn
# executor: No such file or directory", result 'resources'), failing the whole start job for
# a unit that starts fine a second later: one more try after a pause, then the real error.
START_TRIES = 2
RETRY_PAUSE_SECONDS = 3.0


def systemctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["systemctl", *args], capture_output=True, text=True, check=False)


def started_at(unit: str) -> float | None:
    """When the unit last became active (Unix time), None when it is not active."""
    if systemctl("is-active", "--quiet", unit).returncode != 0:
        return None
    shown = systemctl("show", "--property=ActiveEnterTimestampMonotonic", unit).stdout
    monotonic = int(shown.strip().partition("=")[2] or 0)
    if monotonic == 0:
        return None
    # Monotonic clock to wall clock, with the offset between the two clocks now.
    return time.time() - time.monotonic() + monotonic / MICROSECONDS


def stale_reasons(since: float, config_files: list[str], restart_after: list[str]) -> list[str]:
    reasons = [
        f"{path} changed"
        for path in config_files
        if Path(path).exists() and Path(path).stat().st_mtime > since
    ]
    for other in restart_after:
        other_start = started_at(other)
        if other_start is not None and other_start > since:
            reasons.append(f"{other} restarted")
    return reasons


def unit_file_changed(
    unit: str, call: Callable[..., subprocess.CompletedProcess[str]] = systemctl
) -> bool:
    """Whether systemd holds an older version of the unit than the file on disk (a unit that
    stacklab itself writes): starting it then would run the old one."""
    shown = call("show", "--property=NeedDaemonReload", unit).stdout
    return shown.strip() == "NeedDaemonReload=yes"


def with_one_retry(
    args: tuple[str, ...],
    call: Callable[..., subprocess.CompletedProcess[str]] = systemctl,
    pause: Callable[[float], None] = time.sleep,
) -> subprocess.CompletedProcess[str]:
    """`systemctl ARGS`; a failed start or restart is tried once more after a pause, with
    the failed units' state cleared (a unit in 'failed' would fail the job again)."""
    done = call(*args)
    for _ in range(START_TRIES - 1):
        if done.returncode == 0 or args[0] not in ("start", "restart"):
            break
        pause(RETRY_PAUSE_SECONDS)
        call("reset-failed")
        done = call(*args)
    return done


def main() -> None:
    from ansible.module_utils.basic import AnsibleModule  # type: ignore[import-untyped]

    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "default": "started", "choices": ["started", "stopped"]},
            "enabled": {"type": "bool", "default": True},
            "config_files": {"type": "list", "elements": "path", "default": []},
            "restart_after": {"type": "list", "elements": "str", "default": []},
        },
    )
    name: str = module.params["name"]
    actions: list[str] = []

    def run(*args: str) -> None:
        done = with_one_retry(args)
        if done.returncode != 0:
            status = systemctl("status", "--no-pager", "--lines=15", name).stdout
            journal = subprocess.run(
                ["journalctl", "--no-pager", "--lines=15", "--unit", name],
                capture_output=True,
                text=True,
                check=False,
            ).stdout
            module.fail_json(
                msg=f"systemctl {' '.join(args)} failed: {done.stderr.strip()}",
                stdout=status + "\n" + journal,
            )
        actions.append(" ".join(args))

    if unit_file_changed(name):
        run("daemon-reload")
    enabled = systemctl("is-enabled", "--quiet", name).returncode == 0
    if module.params["enabled"] and not enabled:
        run("enable", name)
    elif not module.params["enabled"] and enabled:
        run("disable", name)
    since = started_at(name)
    if module.params["state"] == "stopped":
        if since is not None:
            run("stop", name)
    elif since is None:
        run("start", name)
    else:
        reasons = stale_reasons(
            since, module.params["config_files"], module.params["restart_after"]
        )
        if reasons:
            run("restart", name)
            actions[-1] += f" ({', '.join(reasons)})"
    module.exit_json(changed=bool(actions), actions=actions)


if __name__ == "__main__":
    main()
