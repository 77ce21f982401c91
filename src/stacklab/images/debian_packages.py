"""Debian packages fetched through this host's apt and unpacked, never installed.

Guest images (the KVM probe, the OpenStack test image) are made of pieces of Debian
packages: a kernel from `linux-image-*-amd64`, busybox from `busybox-static`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stacklab.errors import CommandError
from stacklab.runner import Completed, Runner

# What apt prints when its package lists are missing or stale; `apt-get update` cures it.
MISSING_LISTS_SIGNS = (
    "Unable to locate package",
    "has no installation candidate",
    "No packages found",
    "Can't select candidate version",
)
DOWNLOAD_TIMEOUT_S = 900.0
FIX_APT = "make sure `apt-get update` and `apt-get download {package}` work on this host"
# `apt-cache depends` options that leave only what a package needs to run.
ONLY_HARD_DEPENDENCIES = [
    "--no-recommends",
    "--no-suggests",
    "--no-conflicts",
    "--no-breaks",
    "--no-replaces",
    "--no-enhances",
]


@dataclass(frozen=True)
class DebFile:
    """A .deb as apt's index describes it, known before (and without) downloading it."""

    package: str
    filename: str
    size: int
    checksum: str  # as apt prints it: "SHA256:<hex>"


class AptPackages:
    """Resolves and downloads packages; refreshes apt's lists at most once, only if needed."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner
        self._lists_refreshed = False

    def dependency_of(self, metapackage: str, name_prefix: str) -> str:
        """The package a metapackage points to: linux-image-amd64 -> linux-image-6.1.0-56-amd64."""
        completed = self._run_with_lists(["apt-cache", "depends", metapackage], metapackage)
        for line in completed.stdout.splitlines():
            kind, _, value = line.strip().lstrip("|").partition(":")
            name = value.strip().strip("<>")
            if kind == "Depends" and name.startswith(name_prefix):
                return name
        raise CommandError(
            ["apt-cache", "depends", metapackage],
            0,
            completed.output + f"\n(no dependency named {name_prefix}*)",
            where=self._runner.where,
            fix=FIX_APT.format(package=metapackage),
        )

    def dependency_closure(self, package: str) -> list[str]:
        """The package and every package it needs, through Depends all the way down; sorted."""
        command = ["apt-cache", "depends", "--recurse", *ONLY_HARD_DEPENDENCIES, package]
        completed = self._run_with_lists(command, package)
        # Top-level lines name the packages; virtual ones come as <name> and have no .deb.
        names = {line.strip() for line in completed.stdout.splitlines() if line[:1].isalnum()}
        return sorted(names)

    def package_files(self, packages: list[str]) -> dict[str, DebFile]:
        """The file `apt-get download` would fetch for each package, from apt's index alone."""
        command = ["apt-get", "download", "--print-uris", *packages]
        completed = self._run_with_lists(command, " ".join(packages))
        files: dict[str, DebFile] = {}
        for line in completed.stdout.splitlines():
            fields = line.split()
            if len(fields) == 4 and fields[1].endswith(".deb") and fields[2].isdigit():
                package = fields[1].split("_", 1)[0]
                files[package] = DebFile(package, fields[1], int(fields[2]), fields[3])
        missing = sorted(set(packages) - set(files))
        if missing:
            raise CommandError(
                command,
                0,
                completed.output + f"\n(nothing to download for {', '.join(missing)})",
                where=self._runner.where,
                fix=FIX_APT.format(package=missing[0]),
            )
        return files

    def download(self, packages: list[str], destination: Path) -> dict[str, Path]:
        """Download .deb files into destination; returns each package's file."""
        destination.mkdir(parents=True, exist_ok=True)
        # apt-get download always writes to the current directory; `env -C` sets it.
        command = ["env", "-C", str(destination), "apt-get", "download", *packages]
        self._run_with_lists(command, " ".join(packages), timeout=DOWNLOAD_TIMEOUT_S)
        return {package: _downloaded_file(destination, package) for package in packages}

    def _run_with_lists(
        self, command: list[str], package: str, timeout: float | None = 120.0
    ) -> Completed:
        fix = FIX_APT.format(package=package)
        completed = self._runner.run(command, check=False, timeout=timeout, fix=fix)
        if completed.ok:
            return completed
        if not self._lists_refreshed and _lists_missing(completed.output):
            self._lists_refreshed = True
            self._runner.run(["apt-get", "update"], timeout=600.0, fix=fix)
            return self._runner.run(command, timeout=timeout, fix=fix)
        raise CommandError(
            command, completed.returncode, completed.output, where=self._runner.where, fix=fix
        )


def extract_package(runner: Runner, deb: Path, destination: Path) -> Path:
    """Unpack a .deb's files (not its maintainer scripts) under destination."""
    destination.mkdir(parents=True, exist_ok=True)
    runner.run(["dpkg-deb", "-x", str(deb), str(destination)], timeout=300.0)
    return destination


def _lists_missing(output: str) -> bool:
    return any(sign in output for sign in MISSING_LISTS_SIGNS)


def _downloaded_file(directory: Path, package: str) -> Path:
    matches = sorted(directory.glob(f"{package}_*.deb"))
    if not matches:
        raise FileNotFoundError(f"apt-get download left no {package}_*.deb in {directory}")
    return matches[-1]
