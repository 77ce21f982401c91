"""The lab files that go with a snapshot's golden images: the SSH key its nodes trust and the
passwords its services were configured with. They are secrets, so they stay on this machine,
in the state directory keyed by lab and snapshot name (mode 0700, files 0600), never in an
image's tags; `up --from` puts them back before anything new is generated.

The known hosts are not among them: a new instance from an image gets new host keys.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from stacklab.errors import ProviderError
from stacklab.state.paths import ensure_private_dir, state_dir

LAB_FILES = ("ssh", "secrets.json")


def golden_files_dir(lab: str, name: str) -> Path:
    return state_dir() / "snapshots" / lab / name


def save_golden_files(lab: str, name: str, lab_directory: Path) -> Path:
    """Copy the lab's key and passwords beside the snapshot's name; whole or not at all."""
    target = golden_files_dir(lab, name)
    partial = target.with_name(f".{name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    ensure_private_dir(partial.parent)
    ensure_private_dir(partial)
    for entry in LAB_FILES:
        source = lab_directory / entry
        if source.is_dir():
            shutil.copytree(source, partial / entry)  # copies modes: 0700 dir, 0600 key
        elif source.is_file():
            shutil.copy2(source, partial / entry)
    shutil.rmtree(target, ignore_errors=True)  # left by a snapshot deleted elsewhere
    partial.rename(target)
    return target


def restore_golden_files(lab: str, name: str, lab_directory: Path) -> None:
    """Put the snapshot's key and passwords into the lab's directory, keeping any there."""
    source = golden_files_dir(lab, name)
    if not source.is_dir():
        raise ProviderError(
            f"Snapshot {name} of lab {lab} has no SSH key and passwords on this machine "
            f"({source}): its nodes would not trust a new key, nor its services new passwords.",
            fix=f"copy {source} from the machine that made the snapshot, "
            "or `stacklab up` without --from",
        )
    ensure_private_dir(lab_directory)
    for entry in LAB_FILES:
        kept, wanted = source / entry, lab_directory / entry
        if wanted.exists() or not kept.exists():
            continue
        if kept.is_dir():
            shutil.copytree(kept, wanted)
        else:
            shutil.copy2(kept, wanted)


def delete_golden_files(lab: str, name: str) -> None:
    shutil.rmtree(golden_files_dir(lab, name), ignore_errors=True)
