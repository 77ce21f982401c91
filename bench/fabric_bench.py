"""A lab on an emulated cloud fabric, from `up` to a verified instance and back to nothing.

`provider: {kind: local, fabric: FABRIC}` (aws: a VPC at this host's MTU 1500; gcp: GCP's
networks at MTU 1460, a network per NIC): `up` (nodes and APIs reached only through the
access node's public address, verify included), a second `verify` on the lab that is up,
`down`. Prints the seconds of each, the plan's tenant MTU, what verify saw (the full-size
ping across the tunnel, the MTU inside the guest) and the load average before. The CI test
(tests/integration/test_multinode.py) runs the aws fabric; this runs either.

Run as root: .venv/bin/python bench/fabric_bench.py --fabric gcp [--preset multinode]
With --home DIR the lab's state stays in DIR and a failed `up` or `verify` leaves the lab
up: run the bench again with the same --home to resume it (`up` again), or `stacklab down`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from ipaddress import IPv4Address
from pathlib import Path

from labbench import STACKLAB, lab_home, stacklab

# An address of the emulated public range (RFC 2544): the host's route to it names the
# source address the lab's access node sees, which is its admin_cidr.
PUBLIC_PROBE = IPv4Address("198.18.0.1")


def host_address() -> str:
    words = subprocess.run(
        ["ip", "-4", "route", "get", str(PUBLIC_PROBE)], capture_output=True, text=True, check=True
    ).stdout.split()
    return words[words.index("src") + 1]


def spec(lab: str, fabric: str, preset: str) -> str:
    return (
        f"name: {lab}\n"
        f"provider: {{kind: local, fabric: {fabric}}}\n"
        f"topology: {{preset: {preset}}}\n"
        "services: {horizon: false}\n"
        f"access: {{admin_cidr: {host_address()}/32}}\n"
    )


def tenant_mtu() -> int:
    done = subprocess.run(
        [str(STACKLAB), "plan", "--json"], capture_output=True, text=True, check=True
    )
    return int(json.loads(done.stdout)["tenant_mtu"])


def verify_again(lab: str) -> None:
    """A second verify on the lab that is up: its seconds and what its phases saw."""
    done = subprocess.run(
        [str(STACKLAB), "verify", lab, "--json"], capture_output=True, text=True, check=False
    )
    result = json.loads(done.stdout) if done.stdout.strip() else {}
    if done.returncode != 0 or not result.get("passed"):
        sys.exit(f"stacklab verify failed ({done.returncode}):\n{done.stdout}{done.stderr[-3000:]}")
    print(f"verify again: {result['seconds']:.0f} s")
    for phase in result["phases"]:
        print(f"  {phase['name']:<12} {phase['seconds']:6.1f} s  {phase['detail']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fabric", choices=["aws", "gcp"], default="gcp")
    parser.add_argument("--preset", choices=["aio", "multinode"], default="multinode")
    parser.add_argument("--lab", default="gcpf1", help="a lab name whose CIDRs are free here")
    parser.add_argument(
        "--home", type=Path, help="keep the lab's state here; a failed run leaves the lab up"
    )
    options = parser.parse_args()
    with lab_home(spec(options.lab, options.fabric, options.preset), options.home):
        print(f"fabric {options.fabric}, preset {options.preset}: tenant MTU {tenant_mtu()}")
        passed = False
        try:
            print(f"up (verify included): {stacklab('up'):.0f} s")
            verify_again(options.lab)
            passed = True
        finally:
            if passed or options.home is None:
                print(f"down: {stacklab('down', options.lab):.0f} s")
            else:
                print(f"lab {options.lab} left up: run again with --home {options.home}")


if __name__ == "__main__":
    main()
