"""Every error stacklab raises on purpose exits with a code that says what kind it is."""

from __future__ import annotations

import importlib
import pkgutil

import stacklab
from stacklab.errors import (
    GENERIC_EXIT_CODE,
    CommandError,
    NotYetImplemented,
    StacklabError,
    StepError,
    exit_code_for,
    exit_code_of,
)

# Raised where nothing more specific is known (a file exists, no lab named): exit 1 on purpose.
GENERIC_ON_PURPOSE = {StacklabError}


def every_module() -> list[str]:
    """Every module of the package except the Ansible modules shipped as data."""
    names = []
    for module in pkgutil.walk_packages(stacklab.__path__, prefix="stacklab."):
        if ".installer.data" not in module.name:
            importlib.import_module(module.name)
            names.append(module.name)
    return names


def subclasses(root: type[StacklabError]) -> set[type[StacklabError]]:
    found: set[type[StacklabError]] = set()
    pending = [root]
    while pending:
        for child in pending.pop().__subclasses__():
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def test_every_error_class_has_an_exit_code_of_its_own() -> None:
    assert len(every_module()) > 100
    kinds = subclasses(StacklabError)
    # The errors defined outside errors.py are found too, not only its own.
    assert {"CloudError", "InstallError", "WaitTimeout", "DownloadError", "ServerFailed"} <= {
        kind.__name__ for kind in kinds
    }
    generic = sorted(
        f"{kind.__module__}.{kind.__qualname__}"
        for kind in kinds - GENERIC_ON_PURPOSE
        if exit_code_of(kind) == GENERIC_EXIT_CODE
    )
    assert generic == [], "map these under a category of the error tree in errors.py"


def test_a_failed_step_exits_6_unless_the_step_is_not_implemented() -> None:
    failed = StepError("packages", CommandError(["apt-get"], 100, "no"))
    assert exit_code_for(failed) == 6
    missing = StepError("octavia", NotYetImplemented("no octavia yet"))
    assert exit_code_for(missing) == 7
    assert exit_code_for(StacklabError("anything else")) == GENERIC_EXIT_CODE
