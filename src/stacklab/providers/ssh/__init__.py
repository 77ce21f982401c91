"""The ssh provider: a lab on hosts that already exist."""

from stacklab.providers.ssh.provider import SshProvider

__all__ = ["SshProvider"]
