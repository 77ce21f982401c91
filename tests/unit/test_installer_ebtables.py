"""The ebtables that Neutron's linuxbridge agent runs in a node: ebtables-nft 1.8.9 cannot
delete a rule with an among match by its text ("RULE_DELETE failed (Invalid argument)", and
the agent retries forever), so the wrapper deletes it by its number. Here a stand-in for
ebtables-nft lists rules as the real one does and records what it is asked to do."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from stacklab.installer.ansible import DATA_DIR

WRAPPER = DATA_DIR / "roles" / "neutron_agents" / "files" / "stacklab-ebtables"
CHAIN = "neutronMAC-tapabc"
# As `ebtables-nft -t nat -L CHAIN --Ln` prints it in a Debian 12 node.
LISTING = f"""Bridge table: nat

Bridge chain: {CHAIN}, entries: 2, policy: RETURN
1 -i tapabc --among-src fa:16:3e:a:b:c -j RETURN
2 -j DROP
"""
AMONG_RULE = "-i tapabc --among-src fa:16:3e:a:b:c -j RETURN"


@pytest.fixture
def ebtables_nft(tmp_path: Path) -> Path:
    """A stand-in that prints LISTING for -L and logs every call's arguments."""
    (tmp_path / "listing").write_text(LISTING)
    fake = tmp_path / "ebtables-nft"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {tmp_path}/calls\n'
        f'case " $* " in *" -L "*) cat {tmp_path}/listing ;; esac\n'
    )
    fake.chmod(0o755)
    return fake


def run_wrapper(ebtables_nft: Path, *args: str) -> list[str]:
    environment = {**os.environ, "STACKLAB_EBTABLES_REAL": str(ebtables_nft)}
    subprocess.run(["sh", str(WRAPPER), *args], env=environment, check=True, timeout=10)
    return (ebtables_nft.parent / "calls").read_text().splitlines()


def test_an_among_rule_is_deleted_by_its_number(ebtables_nft: Path) -> None:
    calls = run_wrapper(ebtables_nft, "-t", "nat", "--concurrent", "-D", CHAIN,
                        *AMONG_RULE.split())  # fmt: skip
    assert calls == [
        f"-t nat --concurrent -L {CHAIN} --Ln",
        f"-t nat --concurrent -D {CHAIN} 1",
    ]


def test_an_among_rule_not_listed_is_deleted_as_asked(ebtables_nft: Path) -> None:
    other = "-i tapxyz --among-src fa:16:3e:1:2:3 -j RETURN"
    calls = run_wrapper(ebtables_nft, "-t", "nat", "-D", CHAIN, *other.split())
    assert calls[-1] == f"-t nat -D {CHAIN} {other}"


def test_every_other_command_passes_through_unchanged(ebtables_nft: Path) -> None:
    calls = run_wrapper(ebtables_nft, "-t", "nat", "--concurrent", "-D", "PREROUTING",
                        "-i", "tapabc", "-j", CHAIN)  # fmt: skip
    assert calls == [f"-t nat --concurrent -D PREROUTING -i tapabc -j {CHAIN}"]
    calls = run_wrapper(ebtables_nft, "-t", "nat", "-I", CHAIN, *AMONG_RULE.split())
    assert calls[-1] == f"-t nat -I {CHAIN} {AMONG_RULE}"
