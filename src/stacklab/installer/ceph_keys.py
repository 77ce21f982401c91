"""Ceph's identifiers made of the lab's generated secrets (16 random bytes as hex), so the
host keeps them (0600) and every node derives the same ones without fetching from another.
Pure; used by the playbook's filter plugin."""

from __future__ import annotations

import base64
import struct
import uuid

KEY_BYTES = 16
AES = 1  # CEPH_CRYPTO_AES, the type of every cephx key


def _secret_bytes(hex_secret: str) -> bytes:
    raw = bytes.fromhex(hex_secret)
    if len(raw) != KEY_BYTES:
        raise ValueError(f"a secret of {len(raw)} bytes; Ceph's keys take {KEY_BYTES}")
    return raw


def cephx_key(hex_secret: str) -> str:
    """The key as `ceph-authtool --gen-print-key` prints one: base64 of Ceph's encoding of
    a CryptoKey (type u16, created u32 s + u32 ns, length u16, then the secret)."""
    secret = _secret_bytes(hex_secret)
    header = struct.pack("<HIIH", AES, 0, 0, len(secret))
    return base64.b64encode(header + secret).decode("ascii")


def secret_uuid(hex_secret: str) -> str:
    """A UUID of the secret's bytes (a cluster's fsid, a libvirt secret's UUID)."""
    return str(uuid.UUID(bytes=_secret_bytes(hex_secret)))
