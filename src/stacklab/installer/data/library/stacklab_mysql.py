"""Ansible module: a MariaDB user with a password and all privileges on its databases.

Runs the `mysql` client as root over the local socket; SQL goes through stdin, so no
password shows in the process list. Changes only what differs.
"""

from __future__ import annotations

import subprocess
from typing import Any

DOCUMENTATION = """
module: stacklab_mysql
short_description: Databases and their user, find-or-create
options:
  databases: {type: list, elements: str, required: true}
  user: {type: str, required: true}
  password: {type: str, required: true, no_log: true}
  host: {type: str, default: '%'}
"""


def quote(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def identifier(value: str) -> str:
    return "`" + value.replace("`", "``") + "`"


def query(sql: str) -> list[list[str]]:
    done = subprocess.run(
        ["mysql", "--batch", "--skip-column-names"],
        input=sql,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip() or f"mysql exited with {done.returncode}")
    return [line.split("\t") for line in done.stdout.splitlines()]


def statements_needed(
    existing: set[str],
    wanted: list[str],
    password_state: str,
    grants: str,
    user: str,
    host: str,
    password: str,
) -> list[str]:
    """What to run. `password_state` is 'missing', 'same' or 'different'."""
    account = f"{quote(user)}@{quote(host)}"
    statements = [f"CREATE DATABASE {identifier(name)}" for name in wanted if name not in existing]
    if password_state == "missing":
        statements.append(f"CREATE USER {account} IDENTIFIED BY {quote(password)}")
    elif password_state == "different":
        statements.append(f"ALTER USER {account} IDENTIFIED BY {quote(password)}")
    for name in wanted:
        if f"ALL PRIVILEGES ON {identifier(name)}.*" not in grants:
            statements.append(f"GRANT ALL PRIVILEGES ON {identifier(name)}.* TO {account}")
    return statements


def main() -> None:
    from ansible.module_utils.basic import AnsibleModule  # type: ignore[import-untyped]

    module = AnsibleModule(
        argument_spec={
            "databases": {"type": "list", "elements": "str", "required": True},
            "user": {"type": "str", "required": True},
            "password": {"type": "str", "required": True, "no_log": True},
            "host": {"type": "str", "default": "%"},
        },
        supports_check_mode=True,
    )
    params: dict[str, Any] = module.params
    user, host, password = params["user"], params["host"], params["password"]
    try:
        existing = {row[0] for row in query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")}
        rows = query(
            "SELECT authentication_string = PASSWORD(" + quote(password) + ") FROM mysql.user "
            f"WHERE User = {quote(user)} AND Host = {quote(host)}"
        )
        state = "missing" if not rows else ("same" if rows[0][0] == "1" else "different")
        grants = ""
        if state != "missing":
            shown = query(f"SHOW GRANTS FOR {quote(user)}@{quote(host)}")
            grants = "\n".join(row[0] for row in shown)
        statements = statements_needed(
            existing, params["databases"], state, grants, user, host, password
        )
        if statements and not module.check_mode:
            query(";\n".join(statements) + ";\n")
    except RuntimeError as error:
        module.fail_json(msg=f"mysql: {error}")
    module.exit_json(changed=bool(statements), databases=params["databases"], user=user)


if __name__ == "__main__":
    main()
