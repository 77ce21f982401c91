"""kill -9 anywhere: one local all-in-one lab built by `stacklab up` runs killed with SIGKILL
at random moments spread over its steps (the nodes, each install phase, bootstrap, verify),
`up` run again after each kill; the last `up` must end with a passing verify. Then, as the
lab's admin: no duplicated resource (servers, networks, subnets, routers, images, flavors,
keypairs, security groups, users, projects by name), the nodes running are the plan's, one
nspawn each; then `down` leaves nothing. A second lab is killed in its first `up` and taken
down at once: `down` after a kill leaves nothing either.

Only the `up` process is killed, as `kill -9 PID` would: its children (ansible-playbook, ssh,
cp) live on as orphans, and the next `up` or `down` must cope with them.

Each kill: the seeded RNG picks the steps (in the plan's order, each once) and, when `up`
enters a chosen step (read from the journal in the state database), a moment within the
step's usual length; if the step ends sooner, the kill lands in the one after (reported).
A kill counts when the `up` after it gets through the killed step without failing.

Run as root: .venv/bin/python bench/chaos_bench.py [--seed N] [--kills 10] [--no-second-lab]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from labbench import STACKLAB, lab_home, stacklab

LAB = "chaos"
SECOND_LAB = "chaos2"
POLL_S = 0.5
UP_TIMEOUT_S = 3600.0
# How long each step usually runs when `up` resumes on this host (2 cores, other labs
# beside): the moment of a kill is drawn from [0, this).
STEP_SECONDS: dict[str, float] = {
    "nodes": 5,  # booted from the cached base image, SSH answers within seconds
    "packages": 20,  # from the cached package layer: apt finds everything installed
    "database": 40,
    "identity": 40,
    "image": 20,
    "placement": 20,
    "compute": 60,
    "network": 60,
    "dashboard": 20,
    "bootstrap": 15,
    "verify": 60,
}
SECOND_LAB_STEPS = ("nodes", "packages", "database")


@dataclass
class Kill:
    target: str
    delay: float
    step: str = ""  # where it landed
    into_step: float = 0.0  # seconds after the target step started
    up_seconds: float = 0.0  # the killed `up`'s run time
    orphans: list[str] = field(default_factory=list)
    resumed: bool = False
    resume_seconds: float | None = None  # the next `up`: from its start to the step done
    error: str = ""


def journal(lab: str) -> list[tuple[int, str, str]]:
    """(id, step, status) of every journal entry of the lab, oldest first."""
    from stacklab.state.db import StateDB

    with StateDB() as db:
        return [(entry.id, entry.step, entry.status) for entry in db.journal(lab)]


def running_step(lab: str, after: int) -> tuple[str, int] | None:
    """The step the current `up` runs and its journal id (entries newer than `after`)."""
    for entry_id, step, status in reversed(journal(lab)):
        if entry_id > after and status == "running":
            return step, entry_id
    return None


def last_id(lab: str) -> int:
    entries = journal(lab)
    return entries[-1][0] if entries else 0


def lab_markers(lab: str) -> list[str]:
    """What in a process's command line ties it to the lab: its state directory, its nodes'
    machine names and management addresses."""
    from stacklab import api
    from stacklab.state.paths import lab_dir

    spec = Path(f"{lab}.yaml") if lab != LAB else Path("stacklab.yaml")
    plan = api.plan_file(spec)
    markers = [str(lab_dir(lab)) + "/", f"stacklab.{lab}."]
    markers += [f"@{node.management_address}" for node in plan.nodes]
    markers += [f" {node.management_address} " for node in plan.nodes]
    return markers


def lab_processes(markers: list[str], *, in_nodes: bool = False) -> list[str]:
    """'PID program' of every live process whose command line names the lab; those inside
    the nodes (their own PID namespace) only with `in_nodes`."""
    found = []
    host = Path("/proc/self/ns/pid").readlink()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(") ", 1)[1].split()[0]
            if not in_nodes and (entry / "ns" / "pid").readlink() != host:
                continue
        except (OSError, IndexError):
            continue
        line = " " + " ".join(a.decode(errors="replace") for a in argv) + " "
        if state != "Z" and any(marker in line for marker in markers):
            found.append(f"{entry.name} {Path(argv[0].decode(errors='replace')).name}")
    return sorted(found)


def start_up(spec: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [str(STACKLAB), "up", "-f", spec], stdout=output, stderr=subprocess.STDOUT
        )


def tail(log: Path, lines: int = 25) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def kill_during(
    lab: str, spec: str, kill: Kill, order: list[str], log: Path, after: str | None = None
) -> Kill:
    """Run `up`, SIGKILL it `kill.delay` seconds into `kill.target` (or in the step after,
    if that one ended sooner), never before this `up` is past step `after`; fills in where
    it landed. If `up` fails on its own instead, kill.error says so."""
    baseline = last_id(lab)
    started = time.monotonic()
    process = start_up(spec, log)
    step_started: float | None = None
    while process.poll() is None:
        if time.monotonic() - started > UP_TIMEOUT_S:
            process.kill()
            process.wait()
            kill.error = f"`up` ran over {UP_TIMEOUT_S:.0f} s"
            return kill
        current = running_step(lab, baseline)
        if current is not None:
            step = current[0]
            index = order.index(step)
            reached = index >= order.index(kill.target) and (
                after is None or index > order.index(after)
            )
            if reached and step_started is None:
                step_started = time.monotonic()
            if step_started is not None and time.monotonic() - step_started >= kill.delay:
                landed = running_step(lab, baseline)
                process.send_signal(signal.SIGKILL)
                process.wait()
                kill.step = landed[0] if landed else step
                kill.into_step = time.monotonic() - step_started
                kill.up_seconds = time.monotonic() - started
                return kill
        time.sleep(POLL_S)
    kill.up_seconds = time.monotonic() - started
    kill.error = (
        "`up` completed before the kill"
        if process.returncode == 0
        else f"`up` failed on its own (exit {process.returncode}):\n{tail(log)}"
    )
    return kill


def resume(
    lab: str, spec: str, kill: Kill, order: list[str], log: Path, until_kill: Kill | None
) -> None:
    """The `up` after `kill`: killed in turn by `until_kill` (once past the step `kill`
    landed in), or run to its end. Marks `kill` resumed when this `up` gets through the
    killed step."""
    baseline = last_id(lab)
    started = time.monotonic()
    if until_kill is not None:
        kill_during(lab, spec, until_kill, order, log, after=kill.step)
    else:
        with log.open("ab") as output:
            done = subprocess.run(
                [str(STACKLAB), "up", "-f", spec],
                stdout=output,
                stderr=subprocess.STDOUT,
                check=False,
                timeout=UP_TIMEOUT_S,
            )
        if done.returncode != 0:
            kill.error = f"the last `up` failed (exit {done.returncode}):\n{tail(log)}"
    for entry_id, step, status in journal(lab):
        if entry_id > baseline and step == kill.step and status == "ok":
            kill.resumed = True
            kill.resume_seconds = _seconds_until_ok(lab, baseline, kill.step, started)
            break
    if not kill.resumed and not kill.error:
        failed = [s for i, s, st in journal(lab) if i > baseline and st == "failed"]
        kill.error = f"the next `up` did not get through {kill.step}" + (
            f" (failed in {failed[-1]}):\n{tail(log)}" if failed else ""
        )


def _seconds_until_ok(lab: str, baseline: int, step: str, started: float) -> float:
    from stacklab.state.db import StateDB

    with StateDB() as db:
        entries = [e for e in db.journal(lab) if e.id > baseline]
    first = entries[0] if entries else None
    done = next((e for e in entries if e.step == step and e.status == "ok"), None)
    if first is None or done is None or done.ended_at is None:
        return time.monotonic() - started
    from datetime import datetime

    return (
        datetime.fromisoformat(done.ended_at) - datetime.fromisoformat(first.started_at)
    ).total_seconds()


# The checks at the end


def duplicates(lab: str) -> dict[str, list[str]]:
    """Names given to more than one resource of a kind, as the lab's admin sees them all."""
    import openstack
    from openstack.identity.v3._proxy import Proxy as IdentityV3

    from stacklab.labcloud.credentials import lab_credentials
    from stacklab.state.paths import lab_dir

    credentials = lab_credentials(lab, lab_dir(lab))
    found: dict[str, list[str]] = {}
    admin = credentials.admin
    cloud = openstack.connect(
        load_yaml_config=False,
        load_envvars=False,
        auth={
            "auth_url": admin.auth_url,
            "username": admin.username,
            "password": str(admin.password),
            "project_name": admin.project_name,
            "user_domain_name": admin.domain,
            "project_domain_name": admin.domain,
        },
        region_name=admin.region_name,
        identity_api_version="3",
    )
    identity = cast(IdentityV3, cloud.identity)
    users = {user.name: user.id for user in identity.users()}
    kinds: dict[str, Iterator[tuple[str, ...]]] = {
        "servers": ((s.project_id, s.name) for s in cloud.compute.servers(all_projects=True)),
        "networks": ((n.project_id, n.name) for n in cloud.network.networks()),
        "subnets": ((s.network_id, s.name) for s in cloud.network.subnets()),
        "routers": ((r.project_id, r.name) for r in cloud.network.routers()),
        "images": ((i.owner, i.name) for i in cloud.image.images()),
        "flavors": ((f.name,) for f in cloud.compute.flavors()),
        "keypairs": (
            (user, k.name) for user in users for k in cloud.compute.keypairs(user_id=users[user])
        ),
        "security groups": ((g.project_id, g.name) for g in cloud.network.security_groups()),
        "users": ((name,) for name in [u.name for u in identity.users()]),
        "projects": ((p.name,) for p in identity.projects()),
        "floating IPs": ((ip.floating_ip_address,) for ip in cloud.network.ips()),
        "ports": (
            (p.network_id, p.device_owner, p.device_id, p.name) for p in cloud.network.ports()
        ),
    }
    counts: dict[str, Counter[tuple[str, ...]]] = {}
    for kind, names in kinds.items():
        counts[kind] = Counter(tuple(str(part) for part in name) for name in names)
        repeated = [" ".join(name) for name, count in counts[kind].items() if count > 1]
        if repeated:
            found[kind] = repeated
    print("  resources: " + ", ".join(f"{sum(c.values())} {k}" for k, c in counts.items()))
    for kind in ("servers", "floating IPs"):  # verify deletes its own
        if counts[kind]:
            found[f"{kind} left by verify"] = [" ".join(name) for name in counts[kind]]
    cloud.close()
    return found


def running_nodes(lab: str) -> Counter[str]:
    """Node name -> live systemd-nspawn processes booting it."""
    from stacklab.providers.local.processes import nspawn_machines

    prefix = f"stacklab.{lab}."
    return Counter(
        {
            machine[len(prefix) :]: len(pids)
            for machine, pids in nspawn_machines().items()
            if machine.startswith(prefix)
        }
    )


def left_on_host(lab: str, markers: list[str]) -> list[str]:
    """What of the lab is still on the host, looked for without stacklab's own discovery."""
    from stacklab.state.paths import lab_dir

    def lines(*command: str) -> list[str]:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        return done.stdout.splitlines()

    left = [
        f"link {line.split()[1]}"
        for line in lines("ip", "-o", "link", "show")
        if f"stacklab:{lab}:" in line or f" sl-{lab}-" in line
    ]
    left += [
        f"netns {line.split()[0]}"
        for line in lines("ip", "netns", "list")
        if line.startswith(f"stacklab.{lab}.")
    ]
    table = "stacklab_" + lab.replace("-", "_")
    left += [f"nft {line}" for line in lines("nft", "list", "tables") if line.endswith(table)]
    directory = str(lab_dir(lab))
    for mount in Path("/proc/self/mounts").read_text().splitlines():
        source, point = mount.split()[:2]
        if point.startswith(directory) or source.startswith(f"stacklab:{lab}:"):
            left.append(f"mount {point}")
    if lab_dir(lab).exists():
        left.append(f"directory {directory}")
    left += [f"process {p}" for p in lab_processes(markers, in_nodes=True)]
    return left


def down_and_check(lab: str, markers: list[str]) -> list[str]:
    seconds = stacklab("down", lab)
    print(f"  down {lab}: {seconds:.0f} s")
    return left_on_host(lab, markers)


# The runs


def plan_kills(rng: random.Random, steps: list[str], count: int) -> list[Kill]:
    """`count` kills over the steps in their order, each step at most once while there are
    more steps than kills, the rest spread again."""
    chosen = sorted(rng.sample(steps, min(count, len(steps))), key=steps.index)
    while len(chosen) < count:
        chosen = sorted([*chosen, rng.choice(steps)], key=steps.index)
    return [Kill(step, round(rng.uniform(0, STEP_SECONDS[step]), 1)) for step in chosen]


def _step_order(lab_spec: str) -> tuple[str, ...]:
    from stacklab import api

    return api.plan_file(Path(lab_spec)).step_names


def kill_steps(lab_spec: str) -> list[str]:
    return [name for name in _step_order(lab_spec) if name in STEP_SECONDS]


def chaos_lab(rng: random.Random, count: int, log: Path) -> bool:
    spec = "stacklab.yaml"
    steps = kill_steps(spec)
    order = list(_step_order(spec))
    kills = plan_kills(rng, steps, count)
    print(f"{LAB}: steps {', '.join(steps)}")
    print(f"{LAB}: {count} kills in " + ", ".join(f"{k.target}@{k.delay:.0f}s" for k in kills))
    markers = lab_markers(LAB)
    started = time.monotonic()
    kill_during(LAB, spec, kills[0], order, log)
    for index, kill in enumerate(kills):
        if kill.error:  # it never got killed; go on from there
            print(f"  kill {index + 1}: {kill.error.splitlines()[0]}")
            break
        kill.orphans = lab_processes(markers)
        following = kills[index + 1] if index + 1 < len(kills) else None
        print(
            f"  kill {index + 1}: in {kill.step}, {kill.into_step:.0f} s after {kill.target} "
            f"began (up ran {kill.up_seconds:.0f} s); left running: {len(kill.orphans)} "
            f"{_programs(kill.orphans)}",
            flush=True,
        )
        resume(LAB, spec, kill, order, log, following)
        if kill.resumed:
            print(f"    resumed: {kill.step} done {kill.resume_seconds:.0f} s into the next up")
            continue
        print(f"    NOT resumed: {kill.error}", flush=True)
        print(f"    evidence kept in {keep_evidence(LAB, index + 1, log)}")
        if following is not None:  # counted as failed; the kills go on after one more `up`
            again = Kill(kill.target, kill.delay, kill.step)
            kills[index + 1] = Kill(following.target, following.delay)
            resume(LAB, spec, again, order, log, kills[index + 1])
            print(f"    a second `up` got through {kill.step}: {'yes' if again.resumed else 'NO'}")
    total = time.monotonic() - started
    resumed = sum(kill.resumed for kill in kills)
    print(f"\n{LAB}: {resumed} of {count} kills resumed; wall time {total / 60:.1f} min")
    print(f"{'#':>2} {'target':<10} {'killed in':<10} {'at s':>5} {'orphans':>7} {'resume s':>8}")
    for number, kill in enumerate(kills, 1):
        resume_s = f"{kill.resume_seconds:.0f}" if kill.resume_seconds is not None else "-"
        print(
            f"{number:>2} {kill.target:<10} {kill.step or '-':<10} {kill.into_step:5.0f} "
            f"{len(kill.orphans):>7} {resume_s:>8}"
        )
    final_ok = all(kill.resumed for kill in kills) and _last_verify_ok(LAB)
    print(f"last up ended with a passing verify: {'yes' if _last_verify_ok(LAB) else 'NO'}")
    clean = final_ok
    if _last_verify_ok(LAB):
        repeated = duplicates(LAB)
        print(f"duplicated resources: {repeated or 'none'}")
        nodes = running_nodes(LAB)
        from stacklab import api

        planned = sorted(node.name for node in api.plan_file(Path(spec)).nodes)
        nodes_ok = sorted(nodes) == planned and all(count == 1 for count in nodes.values())
        print(f"nodes running: {dict(nodes)}, planned: {planned}: {'ok' if nodes_ok else 'NO'}")
        clean = clean and not repeated and nodes_ok
    left = down_and_check(LAB, markers)
    print(f"left after down: {left or 'nothing'}")
    return clean and not left


def second_lab(rng: random.Random, log: Path) -> bool:
    """`down` right after a kill in the first `up` of a new lab."""
    spec = f"{SECOND_LAB}.yaml"
    Path(spec).write_text(f"name: {SECOND_LAB}\n")
    target = rng.choice(SECOND_LAB_STEPS)
    kill = Kill(target, round(rng.uniform(0, STEP_SECONDS[target]), 1))
    markers = lab_markers(SECOND_LAB)
    kill_during(SECOND_LAB, spec, kill, list(_step_order(spec)), log)
    if kill.error:
        print(f"{SECOND_LAB}: {kill.error.splitlines()[0]}")
    else:
        kill.orphans = lab_processes(markers)
        print(
            f"{SECOND_LAB}: killed in {kill.step} at {kill.into_step:.0f} s; left running: "
            f"{len(kill.orphans)} {_programs(kill.orphans)}"
        )
    left = down_and_check(SECOND_LAB, markers)
    print(f"{SECOND_LAB}: left after down: {left or 'nothing'}")
    return not kill.error and not left


def keep_evidence(lab: str, number: int, log: Path) -> Path:
    """The lab's Ansible logs, node consoles and journal, beside the log, before the lab
    home (a temporary directory) goes."""
    from stacklab.state.paths import lab_dir

    target = log.parent / f"{log.stem}-kill{number}"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    artifacts = lab_dir(lab) / "ansible" / "artifacts"
    if artifacts.is_dir():
        shutil.copytree(artifacts, target / "artifacts", ignore=shutil.ignore_patterns("*.sock"))
    for console in (lab_dir(lab) / "nodes").glob("*/console.log"):
        shutil.copy(console, target / f"{console.parent.name}-console.log")
    (target / "journal.txt").write_text("\n".join(map(str, journal(lab))) + "\n")
    return target


def _programs(processes: list[str]) -> str:
    programs = Counter(line.split(" ", 1)[1] for line in processes)
    return "(" + ", ".join(f"{n} {p}" for p, n in programs.most_common()) + ")" if programs else ""


def _last_verify_ok(lab: str) -> bool:
    entries = journal(lab)
    return bool(entries) and entries[-1][1] == "verify" and entries[-1][2] == "ok"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=None, help="default: from the clock")
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--no-second-lab", action="store_true", help=f"no {SECOND_LAB}")
    parser.add_argument("--log", type=Path, default=Path("/tmp/chaos-bench.log"))
    options = parser.parse_args()
    seed = options.seed if options.seed is not None else int(time.time()) % 100000
    print(f"seed {seed} (again: --seed {seed})")
    rng = random.Random(seed)
    log = options.log.resolve()
    print(f"output of every `up`: {log}")
    with lab_home(f"name: {LAB}\n"):
        ok = True
        try:
            ok = chaos_lab(rng, options.kills, log)
            if not options.no_second_lab:
                ok = second_lab(rng, log) and ok
        finally:
            for lab in (LAB, SECOND_LAB):
                subprocess.run([str(STACKLAB), "down", lab], capture_output=True, check=False)
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
