"""Run by the Tempest environment's own Python, never imported by stacklab:
`python subunit_results.py COMMAND...` runs the command (stestr run ... --subunit), reads
the subunit v2 stream it prints and writes one JSON line per finished test (id, status, and
the skip reason or the failure's traceback) as it comes, for stacklab to count and show;
it exits with the command's exit code. It imports only what Tempest's environment has
(subunit, testtools)."""

import json
import subprocess
import sys

import subunit  # type: ignore[import-not-found]
import testtools  # type: ignore[import-not-found]

_DETAIL_OF_STATUS = {"skip": "reason", "fail": "traceback", "uxsuccess": "traceback"}


def _text(details: dict, name: str) -> str:  # type: ignore[type-arg]
    content = details.get(name)
    return "" if content is None else str(content.as_text())


def _emit(test: dict) -> None:  # type: ignore[type-arg]
    if test["status"] in (None, "exists", "inprogress"):
        return
    wanted = _DETAIL_OF_STATUS.get(test["status"])
    reason = _text(test["details"], wanted) if wanted else ""
    line = {"id": test["id"], "status": test["status"], "reason": reason}
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def main(command: list[str]) -> int:
    with subprocess.Popen(command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL) as run:
        stream = subunit.ByteStreamToStreamResult(run.stdout, non_subunit_name="stdout")
        result = testtools.StreamToDict(_emit)
        result.startTestRun()
        try:
            stream.run(result)
        finally:
            result.stopTestRun()
    return run.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
