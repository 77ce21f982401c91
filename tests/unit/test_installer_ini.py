"""The stacklab_ini module's editing: options set in place, the rest of the file kept."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import stacklab.installer

LIBRARY = Path(stacklab.installer.__file__).parent / "data" / "library"


def load_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, LIBRARY / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ini = load_module("stacklab_ini")

DEBIAN_STYLE = """\
[DEFAULT]
# my_ip = <host_ipv4>
my_ip = 10.0.3.10
state_path = /var/lib/nova

[database]
#connection = <None>
connection = sqlite:////var/lib/nova/novadb

[vnc]
# comment at the end of vnc
"""


def test_an_existing_option_is_replaced_in_place() -> None:
    text = ini.edit_ini(DEBIAN_STYLE, {"DEFAULT": {"my_ip": "10.0.0.10"}})
    assert "my_ip = 10.0.0.10\nstate_path" in text
    assert "# my_ip = <host_ipv4>" in text  # the package's comments stay


def test_a_new_option_goes_after_the_sections_last_option() -> None:
    text = ini.edit_ini(DEBIAN_STYLE, {"database": {"max_retries": 10}})
    assert "connection = sqlite:////var/lib/nova/novadb\nmax_retries = 10\n" in text


def test_a_missing_section_is_appended() -> None:
    text = ini.edit_ini(DEBIAN_STYLE, {"experimental": {"linuxbridge": True}})
    assert text.endswith("\n[experimental]\nlinuxbridge = true\n")


def test_none_removes_an_option_and_duplicates_collapse() -> None:
    doubled = "[uwsgi]\nprocesses = 4\nthreads = 32\nprocesses = 8\n"
    text = ini.edit_ini(doubled, {"uwsgi": {"processes": 3, "threads": None}})
    assert text == "[uwsgi]\nprocesses = 3\n"


def test_values_render_for_oslo_config() -> None:
    assert ini.render_value(True) == "true"
    assert ini.render_value(["file", "http"]) == "file,http"
    assert ini.render_value(1450) == "1450"


def test_editing_twice_changes_nothing_the_second_time() -> None:
    settings = {"DEFAULT": {"my_ip": "10.0.0.10"}, "vnc": {"enabled": True}, "new": {"a": 1}}
    once = ini.edit_ini(DEBIAN_STYLE, settings)
    assert ini.edit_ini(once, settings) == once


def test_an_option_in_another_section_is_not_touched() -> None:
    text = ini.edit_ini(DEBIAN_STYLE, {"vnc": {"connection": "x"}})
    assert "connection = sqlite:////var/lib/nova/novadb" in text
    assert "[vnc]\nconnection = x\n# comment at the end of vnc" in text


def test_mysql_statements_only_for_what_differs() -> None:
    mysql = load_module("stacklab_mysql")
    grants = "GRANT ALL PRIVILEGES ON `nova`.* TO `nova`@`%`"
    needed = mysql.statements_needed(
        {"nova"}, ["nova", "nova_api"], "same", grants, "nova", "%", "pw"
    )
    assert needed == [
        "CREATE DATABASE `nova_api`",
        "GRANT ALL PRIVILEGES ON `nova_api`.* TO 'nova'@'%'",
    ]
    all_done = mysql.statements_needed({"nova"}, ["nova"], "same", grants, "nova", "%", "pw")
    assert all_done == []
    changed = mysql.statements_needed({"nova"}, ["nova"], "different", grants, "nova", "%", "p'w")
    assert changed == ["ALTER USER 'nova'@'%' IDENTIFIED BY 'p\\'w'"]
