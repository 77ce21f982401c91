"""How the user reaches a lab's cloud and nodes: clouds.yaml entries (`<lab>` for the admin,
`<lab>-demo` for the demo user, written by `labcloud.clouds_file`), an openrc per user and
an ssh_config with an alias per node, in the lab's directory. All mode 0600:
they hold passwords or point at the lab's key. Rendering is pure; writing is separate."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from stacklab.core.context import LabContext
from stacklab.core.nodes import NodeAccess
from stacklab.core.ssh import known_hosts_path
from stacklab.installer.proxy import ProxyRecord, read_record
from stacklab.labcloud.clouds_file import (
    admin_cloud,
    cloud_entry,
    demo_cloud,
    merge_into_clouds_file,
    user_clouds_file,
)
from stacklab.labcloud.credentials import lab_credentials
from stacklab.openstack_records import Credentials
from stacklab.plan.models import Plan
from stacklab.state.secrets import write_private

SSH_CONFIG = "ssh_config"
KEEP_ALIVE_S = 30
CONNECT_TIMEOUT_S = 15


def openrc_path(lab_directory: Path, user: str) -> Path:
    return lab_directory / f"{user}-openrc.sh"


def ssh_config_path(lab_directory: Path) -> Path:
    return lab_directory / SSH_CONFIG


def node_alias(lab: str, node: str) -> str:
    return f"{lab}-{node}"


# openrc


def openrc_text(lab: str, credentials: Credentials) -> str:
    variables = {
        "OS_AUTH_URL": credentials.auth_url,
        "OS_USERNAME": credentials.username,
        "OS_PASSWORD": str(credentials.password),
        "OS_PROJECT_NAME": credentials.project_name,
        "OS_USER_DOMAIN_NAME": credentials.domain,
        "OS_PROJECT_DOMAIN_NAME": credentials.domain,
        "OS_REGION_NAME": credentials.region_name,
        "OS_IDENTITY_API_VERSION": "3",
        "OS_INTERFACE": "public",
        **({"OS_CACERT": credentials.cacert} if credentials.cacert else {}),
    }
    lines = [f"# Lab {lab} as {credentials.username}: source this file, then `openstack ...`."]
    lines.append("unset OS_CLOUD  # the variables below would lose to it")
    lines += [f"export {name}={shlex.quote(value)}" for name, value in variables.items()]
    return "\n".join(lines) + "\n"


# ssh_config


def _quoted(path: Path) -> str:
    text = str(path)
    return f'"{text}"' if " " in text else text


def _host_block(alias: str, access: NodeAccess, known_hosts: Path, jump: str | None) -> str:
    lines = [
        f"Host {alias}",
        f"    HostName {access.host}",
        f"    User {access.user}",
        f"    Port {access.port}",
        f"    IdentityFile {_quoted(access.private_key)}",
        "    IdentitiesOnly yes",
        f"    UserKnownHostsFile {_quoted(known_hosts)}",
        "    StrictHostKeyChecking accept-new",
        f"    ConnectTimeout {CONNECT_TIMEOUT_S}",
        f"    ServerAliveInterval {KEEP_ALIVE_S}",
        "    ServerAliveCountMax 4",
    ]
    if jump is not None:
        # ssh passes -F on to the jump, so the alias resolves with this same file.
        lines.append(f"    ProxyJump {jump}")
    return "\n".join(lines) + "\n"


def _split_target(target: str) -> tuple[str | None, str]:
    user, _, host = target.rpartition("@")
    return (user or None), host


def ssh_config_text(lab: str, nodes: Sequence[NodeAccess], known_hosts: Path) -> str:
    """A Host alias `<lab>-<node>` per node. A jump host that is one of the nodes is
    reached through that node's alias; any other gets an alias `<lab>-jump-N` of its own."""
    by_target = {f"{n.user}@{n.host}": node_alias(lab, n.name) for n in nodes}
    extra_jumps: dict[str, str] = {}
    blocks = []
    for access in sorted(nodes, key=lambda n: n.name):
        jump = None
        if access.jump_host is not None:
            jump = by_target.get(access.jump_host) or extra_jumps.setdefault(
                access.jump_host, f"{lab}-jump-{len(extra_jumps) + 1}"
            )
        blocks.append(_host_block(node_alias(lab, access.name), access, known_hosts, jump))
    for target, alias in extra_jumps.items():
        user, host = _split_target(target)
        template = nodes[0]
        jump_access = NodeAccess(alias, host, user or template.user, 22, template.private_key)
        blocks.append(_host_block(alias, jump_access, known_hosts, None))
    return f"# Lab {lab}: `ssh -F <this file> <alias>`\n" + "\n".join(blocks)


# Writing them all


@dataclass(frozen=True)
class AccessFiles:
    lab: str
    clouds_file: Path
    clouds: tuple[str, ...]  # cloud names in clouds_file
    openrc_files: tuple[Path, ...]
    ssh_config: Path
    aliases: tuple[str, ...]


def write_access_files(
    lab: str,
    lab_directory: Path,
    nodes: Sequence[NodeAccess],
    clouds_file: Path | None = None,
) -> AccessFiles:
    credentials = lab_credentials(lab, lab_directory)
    target = clouds_file or user_clouds_file()
    users = {admin_cloud(lab): credentials.admin, demo_cloud(lab): credentials.demo}
    merge_into_clouds_file(target, {name: cloud_entry(c) for name, c in users.items()})
    openrc_files = []
    for user_credentials in (credentials.admin, credentials.demo):
        path = openrc_path(lab_directory, user_credentials.username)
        write_private(path, openrc_text(lab, user_credentials))
        openrc_files.append(path)
    config = ssh_config_path(lab_directory)
    write_private(config, ssh_config_text(lab, nodes, known_hosts_path(lab_directory)))
    return AccessFiles(
        lab=lab,
        clouds_file=target,
        clouds=tuple(users),
        openrc_files=tuple(openrc_files),
        ssh_config=config,
        aliases=tuple(sorted(node_alias(lab, n.name) for n in nodes)),
    )


def access_step(plan: Plan, context: LabContext, nodes: Sequence[NodeAccess]) -> AccessFiles:
    """The `access` step of `up`."""
    files = write_access_files(plan.lab, context.directory, nodes)
    context.progress(f"access: clouds {', '.join(files.clouds)} in {files.clouds_file}")
    return files


def aliases_in(ssh_config: str) -> tuple[str, ...]:
    return tuple(line.split()[1] for line in ssh_config.splitlines() if line.startswith("Host "))


def lab_environment(lab: str, lab_directory: Path) -> str:
    """`stacklab env` of a lab whose access step has run."""
    config = ssh_config_path(lab_directory)
    aliases = aliases_in(config.read_text(encoding="utf-8")) if config.exists() else ()
    return environment_text(lab, lab_directory, aliases, read_record(lab_directory))


def proxy_lines(proxy: ProxyRecord) -> list[str]:
    return [
        f"# Horizon over TLS: {proxy.horizon_url} (self-signed: {_quoted(proxy.certificate)})",
        f"# The APIs through the same proxy: OS_AUTH_URL={proxy.auth_url} "
        f"OS_CACERT={_quoted(proxy.certificate)}",
    ]


def environment_text(
    lab: str, lab_directory: Path, aliases: Sequence[str], proxy: ProxyRecord | None = None
) -> str:
    """What `stacklab env` prints: shell that `eval` accepts, and no secret in it."""
    config = _quoted(ssh_config_path(lab_directory))
    lines = [
        f"# Lab {lab}: the OpenStack CLI and SDK as its admin; OS_CLOUD={demo_cloud(lab)} for "
        "the demo user",
        f"# (entries in {user_clouds_file()}).",
        f"export OS_CLOUD={shlex.quote(admin_cloud(lab))}",
        "# Without clouds.yaml: "
        + " or ".join(f". {openrc_path(lab_directory, u)}" for u in ("admin", "demo")),
    ]
    lines += [f"# ssh -F {config} {alias}" for alias in aliases]
    if proxy is not None:
        lines += proxy_lines(proxy)
    return "\n".join(lines) + "\n"
