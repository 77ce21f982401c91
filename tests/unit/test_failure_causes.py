"""A full disk and a mirror gone, read from what apt, dpkg, tar and cp printed when they
failed that way on this kind of host (captured, the mirror's name replaced)."""

from __future__ import annotations

from pathlib import Path

from stacklab.core.failure_causes import cause_of
from stacklab.errors import CommandError, HostError, StepError
from stacklab.installer.failures import InstallError, failure_from_event
from stacklab.step_failures import explained

MIRROR = "http://mirror.invalid/debian"
DEB = f"{MIRROR}/pool/main/h/hello/hello_2.10-3_amd64.deb"
# apt-get -d install hello, proxy on a closed port
REFUSED = f"""\
Err:1 {MIRROR} bookworm/main amd64 hello amd64 2.10-3
  Could not connect to 127.0.0.1:9 (127.0.0.1). - connect (111: Connection refused)
E: Failed to fetch {DEB}  Could not connect to 127.0.0.1:9 (127.0.0.1). - connect (111: Connection refused)
E: Some files failed to download
"""  # noqa: E501
# the same through a proxy that answers 503 (as the apt cache does when the mirror is gone)
UNAVAILABLE = f"""\
Err:1 {MIRROR} bookworm/main amd64 hello amd64 2.10-3
  503  Service Unavailable [IP: 127.0.0.1 38503]
E: Failed to fetch {DEB}  503  Service Unavailable [IP: 127.0.0.1 38503]
E: Some files failed to download
"""
# apt-get -d install hello into a 16 KiB tmpfs
NO_ROOM_FOR_ARCHIVES = """\
Need to get 53.1 kB of archives.
After this operation, 284 kB of additional disk space will be used.
E: You don't have enough free space in /var/cache/apt/archives/.
"""
# dpkg-deb -x into that tmpfs, and cp -a (the local provider's layer copies)
UNPACK_FULL = """\
tar: ./usr/bin/hello: Wrote only 8192 of 10240 bytes
tar: ./usr/share/doc/hello/NEWS.gz: Cannot write: No space left on device
"""
COPY_FULL = "cp: error writing '/cache/layers/x/usr/lib/a.so': No space left on device\n"


def apt_task_failed(stdout: str) -> dict[str, object]:
    """An ansible-runner event of the apt module failing with that output."""
    return {
        "event": "runner_on_failed",
        "event_data": {
            "host": "aio",
            "task": "Install what is missing, without starting services",
            "res": {
                "msg": f"'/usr/bin/apt-get -y install hello' failed: {stdout.splitlines()[-2]}",
                "stdout": stdout,
                "rc": 100,
            },
        },
    }


def test_a_mirror_that_refuses_or_answers_503_is_named_with_its_fix() -> None:
    for output in (REFUSED, UNAVAILABLE):
        cause = cause_of(output.splitlines())
        assert cause is not None and "mirror" in cause.what and DEB in cause.what
        assert "apt-cacher-ng" in cause.fix and "resumes at this step" in cause.fix


def test_a_full_disk_is_named_with_where_and_its_fix() -> None:
    for output, path in (
        (NO_ROOM_FOR_ARCHIVES, "/var/cache/apt/archives/"),
        (UNPACK_FULL, "./usr/bin/hello"),
        (COPY_FULL, "/cache/layers/x/usr/lib/a.so"),
    ):
        cause = cause_of(output.splitlines())
        assert cause is not None and cause.what.startswith(f"the disk is full (writing {path})")
        assert "df -h" in cause.fix and "resumes at this step" in cause.fix


def test_other_failures_have_no_known_cause() -> None:
    assert cause_of(["E: Unable to locate package nova-apii"]) is None
    assert cause_of([]) is None


def test_the_packages_step_shows_one_screen_with_the_cause_and_its_fix() -> None:
    failure = failure_from_event(apt_task_failed(UNAVAILABLE))
    assert failure is not None
    error = InstallError("packages", failure, Path("/state/labs/lab/ansible/stdout"))
    shown = StepError("packages", error).render()
    assert shown.splitlines()[0] == "Step 'packages' failed."
    assert "Cause: the package mirror or the apt cache in front of it did not answer" in shown
    assert "Fix: check that this host reaches its Debian mirror" in shown
    assert "Traceback" not in shown and len(shown.splitlines()) <= 25


def test_a_host_command_that_ran_out_of_disk_says_so() -> None:
    failed = CommandError(["cp", "-a", "/x", "/cache/layers/x"], 1, COPY_FULL)
    shown = explained(failed)
    assert isinstance(shown, HostError)
    assert "Cause: the disk is full" in shown.render() and "df -h" in shown.render()
    other = CommandError(["ip", "link"], 1, "RTNETLINK answers: Operation not permitted")
    assert explained(other) is other
