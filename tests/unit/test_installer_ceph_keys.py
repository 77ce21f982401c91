"""Ceph's ids and keys made of the lab's secrets: the shape Ceph and libvirt read."""

from __future__ import annotations

import base64
import struct
import uuid
from pathlib import Path

import pytest

from stacklab.installer.ceph_keys import cephx_key, secret_uuid
from stacklab.state.secrets import SecretStore


def test_a_cephx_key_is_ceph_s_encoding_of_the_secret_bytes() -> None:
    secret = "00112233445566778899aabbccddeeff"
    raw = base64.b64decode(cephx_key(secret))
    kind, created_s, created_ns, length = struct.unpack("<HIIH", raw[:12])
    assert (kind, created_s, created_ns, length) == (1, 0, 0, 16)
    assert raw[12:] == bytes.fromhex(secret)
    # The form `ceph-authtool --gen-print-key` prints: 40 characters starting "AQ".
    assert len(cephx_key(secret)) == 40 and cephx_key(secret).startswith("AQ")


def test_the_same_secret_gives_the_same_key_and_uuid_others_differ(tmp_path: Path) -> None:
    store = SecretStore("lab", tmp_path)
    first, second = store.get("ceph_cinder_key"), store.get("ceph_glance_key")
    assert cephx_key(first) == cephx_key(store.get("ceph_cinder_key"))
    assert cephx_key(first) != cephx_key(second)
    assert uuid.UUID(secret_uuid(first)).bytes == bytes.fromhex(first)


@pytest.mark.parametrize("bad", ["00ff", "zz" * 16, "00" * 17])
def test_a_secret_of_the_wrong_size_or_not_hex_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        cephx_key(bad)
