"""The SSH key pair of a lab: generated once, private key mode 0600 in the lab's directory."""

from __future__ import annotations

from pathlib import Path

from stacklab.runner import Runner
from stacklab.state.paths import ensure_private_dir

KEY_NAME = "id_ed25519"


def ensure_lab_key(directory: Path, lab: str, runner: Runner) -> tuple[Path, str]:
    """The lab's private key path and public key text, generating them if needed."""
    key_dir = ensure_private_dir(directory / "ssh")
    private = key_dir / KEY_NAME
    public = key_dir / f"{KEY_NAME}.pub"
    if not (private.exists() and public.exists()):
        private.unlink(missing_ok=True)
        public.unlink(missing_ok=True)
        runner.run(
            [
                "ssh-keygen",
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                f"stacklab-{lab}",
                "-f",
                str(private),
            ],
            fix="install openssh-client",
        )
    private.chmod(0o600)
    return private, public.read_text(encoding="utf-8").strip()


def extra_public_key(value: str | None) -> str | None:
    """The spec's access.ssh_public_key: the key itself, or a path to it."""
    if value is None:
        return None
    if value.startswith(("ssh-", "ecdsa-", "sk-")):
        return value.strip()
    return Path(value).expanduser().read_text(encoding="utf-8").strip()
