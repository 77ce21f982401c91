"""Ansible module: a RabbitMQ user with a password and full permissions on a vhost.

Passwords go to rabbitmqctl on stdin, never on its command line.
"""

from __future__ import annotations

import subprocess

DOCUMENTATION = """
module: stacklab_rabbitmq_user
short_description: RabbitMQ user, find-or-create
options:
  user: {type: str, required: true}
  password: {type: str, required: true, no_log: true}
  vhost: {type: str, default: /}
"""

FULL = (".*", ".*", ".*")


def rabbitmqctl(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    # RabbitMQ 4 (Debian 13): `--quiet add_user` with the password on stdin never returns, so
    # commands that read a password run without it (their output is not parsed).
    quiet = [] if stdin is not None else ["--quiet"]
    return subprocess.run(
        ["rabbitmqctl", *quiet, *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


def users(listing: str) -> set[str]:
    return {line.split("\t")[0] for line in listing.splitlines() if line.strip()}


def has_full_permissions(listing: str, vhost: str) -> bool:
    for line in listing.splitlines():
        fields = line.split("\t")
        if len(fields) == 4 and fields[0] == vhost and tuple(fields[1:]) == FULL:
            return True
    return False


def main() -> None:
    from ansible.module_utils.basic import AnsibleModule  # type: ignore[import-untyped]

    module = AnsibleModule(
        argument_spec={
            "user": {"type": "str", "required": True},
            "password": {"type": "str", "required": True, "no_log": True},
            "vhost": {"type": "str", "default": "/"},
        },
    )
    user, password, vhost = (module.params[key] for key in ("user", "password", "vhost"))

    def check(done: subprocess.CompletedProcess[str], what: str) -> str:
        if done.returncode != 0:
            module.fail_json(msg=f"rabbitmqctl {what} failed: {done.stderr.strip()}")
        return done.stdout

    changed = False
    listing = check(rabbitmqctl("list_users", "--no-table-headers"), "list_users")
    if user not in users(listing):
        check(rabbitmqctl("add_user", user, stdin=password + "\n"), "add_user")
        changed = True
    elif rabbitmqctl("authenticate_user", user, stdin=password + "\n").returncode != 0:
        check(rabbitmqctl("change_password", user, stdin=password + "\n"), "change_password")
        changed = True
    permissions = check(
        rabbitmqctl("list_user_permissions", user, "--no-table-headers"), "list_user_permissions"
    )
    if not has_full_permissions(permissions, vhost):
        check(rabbitmqctl("set_permissions", "-p", vhost, user, *FULL), "set_permissions")
        changed = True
    module.exit_json(changed=changed, user=user)


if __name__ == "__main__":
    main()
