"""Waiting for a node's SSH with the real ssh client against a node too busy to answer: one
attempt that times out is one attempt, not a failed step (a node busy with what a killed
`up` left running once failed the nodes step this way)."""

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stacklab.core.nodes import NodeAccess
from stacklab.errors import ProviderError
from stacklab.providers.local.ssh import wait_for_ssh
from stacklab.runner import LocalRunner


class StalledSshd:
    """Accepts, sends an SSH banner, then says nothing more: an overloaded sshd."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.accepted = 0
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.accepted += 1
            self.held.append(connection)
            connection.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

    def close(self) -> None:
        self.server.close()
        for connection in self.held:
            connection.close()


@pytest.fixture
def stalled() -> Iterator[StalledSshd]:
    server = StalledSshd()
    yield server
    server.close()


def test_a_timed_out_attempt_is_tried_again_until_the_deadline(
    stalled: StalledSshd, tmp_path: Path
) -> None:
    access = NodeAccess("aio", "127.0.0.1", "root", stalled.port, tmp_path / "id_ed25519")
    log = tmp_path / "console.log"
    log.write_text("systemd is busy\n")
    started = time.monotonic()
    with pytest.raises(ProviderError) as failed:
        wait_for_ssh(
            LocalRunner(),
            access,
            tmp_path / "known_hosts",
            still_running=lambda: True,
            log=log,
            timeout=5,
            attempt_timeout=1,
        )
    assert time.monotonic() - started >= 5
    assert stalled.accepted >= 3
    shown = failed.value.render()
    assert "Node aio did not answer SSH at 127.0.0.1" in shown
    assert "systemd is busy" in shown
