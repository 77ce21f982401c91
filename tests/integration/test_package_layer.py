"""The package layer on real nspawn nodes: the session's AIO lab (conftest.py) saved its
node's packages as a cached layer (or, when the cache had it already, started on it); a
second new lab's node starts on that layer, has every package installed before its packages
phase runs (none of their services started at boot), and that phase installs nothing.
Root, nspawn; about a minute on 2 cores."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import AioLab, in_lab_home

from stacklab.cli.main import run
from stacklab.installer.installer import last_stats
from stacklab.plan.packages import node_packages
from stacklab.providers.local.images import BaseImage, images_dir
from stacklab.providers.local.nodes import node_dirs, read_marker
from stacklab.providers.local.package_layers import cached_layer, layer_key
from stacklab.state.paths import lab_dir

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SECOND_LAB = "pkl"
INSTALL_TASK = "Install what is missing"
# Enabled by its package; deferred by the layer until the packages phase.
MARIADB_AT_BOOT = Path("etc/systemd/system/multi-user.target.wants/mariadb.service")


def installed(root: Path) -> set[str]:
    """Packages dpkg has installed in a node's root, read from the host."""
    status = (root / "var" / "lib" / "dpkg" / "status").read_text(encoding="utf-8")
    names = set()
    for stanza in status.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in stanza.splitlines() if ": " in line and line[0] != " "
        )
        if fields.get("Status") == "install ok installed":
            names.add(fields["Package"])
    return names


def test_a_new_lab_starts_on_the_first_labs_package_layer(lab: AioLab, tmp_path: Path) -> None:
    node = lab.plan.nodes[0]
    base = images_dir() / BaseImage(lab.plan.release).name
    packages = node_packages(lab.plan, node)
    layer = cached_layer(layer_key(base, lab.plan.release, packages))
    assert layer is not None, "the first lab saved no package layer"
    first = read_marker(node_dirs(lab.directory, node.name))
    assert first is not None and first.layers[-1] == str(base)

    # the shared lab's spec under another name: the same services, so the same packages
    spec = yaml.safe_load((lab.home / "stacklab.yaml").read_text(encoding="utf-8"))
    (tmp_path / "stacklab.yaml").write_text(yaml.safe_dump({**spec, "name": SECOND_LAB}))
    with in_lab_home(tmp_path):
        try:
            assert run(["up", "--until", "nodes"]) == 0
            dirs = node_dirs(lab_dir(SECOND_LAB), node.name)
            marker = read_marker(dirs)
            assert marker is not None and marker.layers == (str(layer), str(base))
            assert set(packages) <= installed(dirs.root)  # before its packages phase ran
            assert not (dirs.root / MARIADB_AT_BOOT).is_symlink()  # nothing started at boot

            assert run(["up", "--until", "packages"]) == 0
            stats = last_stats(lab_dir(SECOND_LAB), "packages")
            assert stats is not None
            changed = stats["changed_tasks"]
            assert isinstance(changed, list)
            assert not [task for task in changed if INSTALL_TASK in str(task)], changed
            assert (dirs.root / MARIADB_AT_BOOT).is_symlink()
        finally:
            assert run(["down", SECOND_LAB]) == 0
