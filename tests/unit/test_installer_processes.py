"""Where a playbook run's SSH master sockets live: in the lab's directory, so that those of a
killed run go with the next run or with `down`, never piling up in /tmp."""

import shutil
import tempfile
from pathlib import Path

from stacklab.installer.processes import CONTROL_DIR, CONTROL_DIR_MAX, ssh_control_dir


def test_the_sockets_live_in_the_labs_directory_and_a_killed_runs_go() -> None:
    private = Path(tempfile.mkdtemp(prefix="lab-", dir="/tmp"))
    try:
        leftover = private / CONTROL_DIR / "0123456789"
        leftover.parent.mkdir()
        leftover.write_text("the socket of a master whose run was killed")
        with ssh_control_dir(private) as directory:
            assert directory == private / CONTROL_DIR
            assert list(directory.iterdir()) == []
            assert directory.stat().st_mode & 0o777 == 0o700
        assert not directory.exists()
    finally:
        shutil.rmtree(private)


def test_a_path_too_long_for_a_socket_falls_back_to_a_temporary_directory(
    tmp_path: Path,
) -> None:
    private = tmp_path / ("x" * CONTROL_DIR_MAX)
    with ssh_control_dir(private) as directory:
        assert directory.parent == Path(tempfile.gettempdir())
        assert len(str(directory / "0123456789")) + 17 <= 107
    assert not directory.exists()
