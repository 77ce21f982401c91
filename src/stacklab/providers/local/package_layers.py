"""Package layers: a node's packages installed but not configured, cached beside the base
images so the next lab's nodes start with them (the golden image of seed 000, locally).

A layer is keyed by the base image it was made on (its name and build time), the Debian
release and the node's sorted package list. After the packages phase, a node made on the
bare base whose key has no layer yet gives its overlay upper dir, minus what is its own
(layer_contents.py). When a node is made, the layer of its key (if cached) goes between the
base and the node's upper dir; the packages phase then finds everything installed.

A layer is saved in a hidden directory and renamed into place when complete: one that is
there is whole. Drop them with `rm -rf` of the `*-packages-*` directories when no local lab
runs; the next lab makes them again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from stacklab.core.nodes import ProgressCallback
from stacklab.plan.models import Plan, PlannedNode
from stacklab.plan.packages import node_packages
from stacklab.providers.local.images import STAMP as BASE_STAMP
from stacklab.providers.local.images import build_lock, images_dir
from stacklab.providers.local.layer_contents import UNITS_TO_ENABLE, Keep, keep, units_to_enable
from stacklab.providers.local.mounts import unmount_all_below
from stacklab.runner import Runner

RECIPE_VERSION = 2  # bump when layer_contents changes what a layer holds
MARK = "-packages-"
STAMP = "etc/stacklab-package-layer"
COPY_TIMEOUT_S = 1800.0


@dataclass(frozen=True)
class LayerKey:
    base: str  # the base image's name
    base_built_at: str  # and its build: a rebuilt base of the same recipe is another base
    release: str
    packages: tuple[str, ...]

    @property
    def digest(self) -> str:
        recipe = [RECIPE_VERSION, self.base, self.base_built_at, self.release]
        payload = json.dumps([*recipe, sorted(set(self.packages))])
        return hashlib.sha256(payload.encode()).hexdigest()[:12]

    @property
    def name(self) -> str:
        return f"{self.base}{MARK}{self.digest}"


def layer_key(base: Path, release: str, packages: Iterable[str]) -> LayerKey:
    """The key of a layer over the base image in directory `base`."""
    stamp = json.loads((base / BASE_STAMP).read_text(encoding="utf-8"))
    return LayerKey(base.name, str(stamp["built_at"]), release, tuple(sorted(set(packages))))


def layers_for(plan: Plan, node: PlannedNode, base_layers: tuple[Path, ...]) -> tuple[Path, ...]:
    """A new node's read-only layers, top first: its package layer if cached, then the base."""
    layer = cached_layer(layer_key(base_layers[-1], plan.release, node_packages(plan, node)))
    return (layer, *base_layers) if layer else base_layers


def is_package_layer(layer: Path) -> bool:
    return MARK in layer.name


def cached_layer(key: LayerKey) -> Path | None:
    layer = images_dir() / key.name
    return layer if (layer / STAMP).is_file() else None


def cached_layers() -> list[Path]:
    """Every complete package layer in the cache."""
    found = images_dir().glob(f"*{MARK}*") if images_dir().is_dir() else iter(())
    return sorted(layer for layer in found if (layer / STAMP).is_file())


@dataclass(frozen=True)
class SavedLayer:
    path: Path
    seconds: float
    mebibytes: int


def save_layer(
    runner: Runner, key: LayerKey, upper: Path, source: str, progress: ProgressCallback
) -> SavedLayer | None:
    """Save `upper` (a node's overlay upper dir) as the layer of `key`; None if another
    run saved it meanwhile."""
    directory = images_dir()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / key.name
    with build_lock(directory, key.name):
        if cached_layer(key):
            return None
        for leftover in directory.glob(f".{key.name}.build-*"):
            _remove(runner, leftover)  # an interrupted save's, never used
        build = directory / f".{key.name}.build-{os.getpid()}"
        progress(f"saving the package layer {key.name} from {source} (once; cached in {directory})")
        started = time.monotonic()
        try:
            # cp -a keeps owners, modes, hard links, xattrs (trusted.overlay.opaque of opaque
            # dirs) and device nodes (whiteouts are 0/0 character devices), so the layer
            # hides what the node removed from the base just as the node's upper dir did.
            runner.run(
                ["cp", "-a", "--reflink=auto", str(upper), str(build)], timeout=COPY_TIMEOUT_S
            )
            deferred = prune(build)
            (build / UNITS_TO_ENABLE).parent.mkdir(parents=True, exist_ok=True)
            (build / UNITS_TO_ENABLE).write_text(units_to_enable(deferred), encoding="utf-8")
            _write_stamp(build, key, source, time.monotonic() - started)
            if target.exists():  # a stamp-less leftover of a save from before this recipe
                _remove(runner, target)
            build.rename(target)
        except BaseException:
            _remove(runner, build)
            raise
    size = runner.run(["du", "-sm", str(target)], check=False).stdout.split()
    return SavedLayer(target, time.monotonic() - started, int(size[0]) if size else 0)


def prune(root: Path, directory: Path | None = None) -> list[tuple[str, str]]:
    """Take out of a copied upper dir what belongs to its node (layer_contents.keep); the
    enablement links deferred, (link, target) each."""
    deferred: list[tuple[str, str]] = []
    for entry in list(os.scandir(directory or root)):
        path = Path(entry.path)
        relative = str(path.relative_to(root))
        is_dir = entry.is_dir(follow_symlinks=False)
        rule = keep(
            relative,
            regular_file=entry.is_file(follow_symlinks=False),
            symlink=entry.is_symlink(),
        )
        if rule is Keep.NOTHING and is_dir:
            shutil.rmtree(path)
        elif rule is Keep.NOTHING:
            path.unlink()
        elif rule is Keep.DEFERRED:
            deferred.append((relative, str(path.readlink())))
            path.unlink()
        elif rule is Keep.EMPTY:
            os.truncate(path, 0)
        elif is_dir:
            deferred += prune(root, path)
    return deferred


def _write_stamp(root: Path, key: LayerKey, source: str, seconds: float) -> None:
    stamp = {
        "layer": key.name,
        "base": key.base,
        "base_built_at": key.base_built_at,
        "release": key.release,
        "packages": list(key.packages),
        "saved_from": source,
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "save_seconds": round(seconds, 1),
    }
    path = root / STAMP
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")


def _remove(runner: Runner, path: Path) -> None:
    if path.exists():
        unmount_all_below(runner, path)
        shutil.rmtree(path, ignore_errors=True)
