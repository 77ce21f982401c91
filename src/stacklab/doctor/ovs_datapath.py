"""Open vSwitch's datapath: the kernel's where the kernel can make one, else the userspace one.

Decided by asking the kernel, as OVS itself would: a bridge with the kernel datapath needs
the Generic Netlink family `ovs_datapath` (the openvswitch module); without it ovs-vswitchd
fails with "Generic Netlink family 'ovs_datapath' does not exist" (FIELD-NOTES). The same
shell script asks this host (local provider: nspawn nodes share its kernel) and each ssh
host (providers/ssh/facts.py); `decide_datapath` is pure.
"""

from __future__ import annotations

import contextlib
import json
import platform
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from stacklab.doctor.models import CheckResult, Status
from stacklab.errors import CommandError
from stacklab.plan.models import DatapathChoice, DatapathKind
from stacklab.runner import Runner
from stacklab.state.paths import cache_dir

# Asks the kernel's Generic Netlink controller for the family (CTRL_CMD_GETFAMILY):
# an answer means a kernel datapath can be made; ENOENT means the module is not there.
GENL_FAMILY_PROBE = r"""
import errno, socket, struct
try:
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 16)  # NETLINK_GENERIC
    name = b"ovs_datapath\0"
    attr = struct.pack("=HH", 4 + len(name), 2) + name
    attr += b"\0" * (-len(attr) % 4)
    body = struct.pack("=BBH", 3, 1, 0) + attr
    s.send(struct.pack("=IHHII", 16 + len(body), 0x10, 1, 1, 0) + body)
    reply = s.recv(65536)
    kind = struct.unpack("=H", reply[4:6])[0]
    code = struct.unpack("=i", reply[16:20])[0] if kind == 2 else 0
    if kind == 2 and code == -errno.ENOENT:
        print("genl-family no")
    elif kind == 2:
        print("genl-family unknown netlink error", -code)
    else:
        print("genl-family yes")
except Exception as error:
    print("genl-family unknown", error)
"""

# POSIX sh, one "key value" line each; sent to `sh -s` (ssh) or `sh -c` (this host).
FACTS_SCRIPT = (
    'kernel=$(uname -r); echo "kernel $kernel"\n'
    "if [ -d /sys/module/openvswitch ]; then echo 'module-loaded yes';"
    " else echo 'module-loaded no'; fi\n"
    'if [ -n "$(find "/lib/modules/$kernel" -name "openvswitch.ko*" 2>/dev/null | head -n 1)" ];'
    " then echo 'module-file yes'; else echo 'module-file no'; fi\n"
    'if [ -e /proc/modules ] && [ "$(cat /proc/sys/kernel/modules_disabled 2>/dev/null)" != 1 ];'
    " then echo 'module-loading yes'; else echo 'module-loading no'; fi\n"
    "if command -v python3 >/dev/null; then python3 - <<'STACKLAB_GENL'\n"
    f"{GENL_FAMILY_PROBE.strip()}\n"
    "STACKLAB_GENL\n"
    "else echo 'genl-family unknown no python3'; fi\n"
)
FIX_USERSPACE = (
    "nothing needed: the userspace datapath works on any kernel, at the cost said; for the "
    "kernel datapath use a kernel with the openvswitch module loaded (`modprobe openvswitch`)"
)


@dataclass(frozen=True)
class KernelFacts:
    """What a kernel offers Open vSwitch."""

    kernel: str
    module_loaded: bool  # /sys/module/openvswitch
    module_file: bool  # openvswitch.ko* under /lib/modules/<kernel>
    module_loading: bool  # the kernel loads modules at all (/proc/modules, not disabled)
    genl_family: bool | None  # None: the kernel could not be asked
    genl_detail: str = ""  # why not, when it could not be asked


def parse_kernel_facts(lines: list[str]) -> KernelFacts | None:
    """FACTS_SCRIPT's output; None when it is incomplete."""
    values: dict[str, str] = {}
    for line in lines:
        key, _, value = line.strip().partition(" ")
        if key:
            values[key] = value.strip()
    wanted = ("kernel", "module-loaded", "module-file", "module-loading", "genl-family")
    if not all(key in values for key in wanted):
        return None
    family = values["genl-family"]
    return KernelFacts(
        kernel=values["kernel"],
        module_loaded=values["module-loaded"] == "yes",
        module_file=values["module-file"] == "yes",
        module_loading=values["module-loading"] == "yes",
        genl_family={"yes": True, "no": False}.get(family),
        genl_detail=family.removeprefix("unknown").strip() if family.startswith("unknown") else "",
    )


def decide_datapath(
    facts: KernelFacts | None, *, where: str, loads_module_at_start: bool
) -> DatapathChoice:
    """where: whose kernel it is, for the reason ("this host", "host db1").
    loads_module_at_start: Open vSwitch runs on that kernel itself and its start loads the
    module (an ssh host); not so for nspawn nodes, which cannot load modules."""
    if facts is None:
        return DatapathChoice.of(
            DatapathKind.USERSPACE,
            f"{where}'s kernel could not be asked (its probe's output was incomplete)",
        )
    kernel = f"{where}'s kernel {facts.kernel}"
    if facts.genl_family:
        return DatapathChoice.of(
            DatapathKind.KERNEL,
            f"{kernel} answers for the Generic Netlink family ovs_datapath: the openvswitch "
            "module is loaded, a kernel datapath can be made",
        )
    if facts.module_file and facts.module_loading and loads_module_at_start:
        return DatapathChoice.of(
            DatapathKind.KERNEL,
            f"{kernel} has the openvswitch module (not loaded yet): Open vSwitch loads it "
            "when it starts",
        )
    return DatapathChoice.of(DatapathKind.USERSPACE, f"{_why_not(kernel, facts)}")


def _why_not(kernel: str, facts: KernelFacts) -> str:
    if facts.genl_family is None:
        asked = f"{kernel} could not be asked for ovs_datapath ({facts.genl_detail})"
    else:
        asked = f"{kernel} has no Generic Netlink family ovs_datapath"
    if facts.module_loaded:
        module = "yet the openvswitch module is loaded (/sys/module/openvswitch)"
    elif facts.module_file and facts.module_loading:
        module = "the openvswitch module is there but not loaded (`modprobe openvswitch`)"
    elif facts.module_file:
        module = "the openvswitch module is there but this kernel loads no modules"
    elif not facts.module_loading:
        module = "no openvswitch module, and this kernel loads no modules"
    else:
        module = f"no openvswitch module in /lib/modules/{facts.kernel}"
    return f"{asked}: {module}; so ovs-vswitchd switches the packets itself (datapath_type=netdev)"


def read_kernel_facts(runner: Runner) -> KernelFacts | None:
    try:
        result = runner.run(["sh", "-c", FACTS_SCRIPT], check=False, timeout=30.0)
    except CommandError:
        return None
    return parse_kernel_facts(result.stdout.splitlines())


def probe_host_datapath(runner: Runner) -> DatapathChoice:
    """This host's datapath for the nodes of a local lab, loading the module first where
    the kernel has it but has not loaded it (as ovs-ctl would on a server); cached."""
    facts = read_kernel_facts(runner)
    if facts is not None and not facts.genl_family and facts.module_file and facts.module_loading:
        with contextlib.suppress(CommandError):  # no modprobe: the facts stay as they are
            runner.run(["modprobe", "openvswitch"], check=False, timeout=30.0)
        facts = read_kernel_facts(runner)
    choice = decide_datapath(facts, where="this host", loads_module_at_start=False)
    save_datapath(HOST_KEY, choice, facts.kernel if facts else platform.release())
    return choice


def datapath_check(choice: DatapathChoice) -> CheckResult:
    summary = f"{choice.kind.value}: {choice.reason}; cost: {choice.cost}"
    if choice.kind is DatapathKind.KERNEL:
        return CheckResult("ovs datapath", Status.PASS, summary)
    return CheckResult("ovs datapath", Status.WARN, summary, FIX_USERSPACE)


HOST_KEY = "this-host"


def ssh_host_key(address: str, port: int) -> str:
    """The cache key of an ssh host: where stacklab logs in to it."""
    return "ssh-" + re.sub(r"[^A-Za-z0-9.-]", "_", f"{address}-{port}")


def datapath_record_path(key: str) -> Path:
    return cache_dir() / "ovs-datapath" / f"{key}.json"


def save_datapath(key: str, choice: DatapathChoice, kernel: str) -> None:
    path = datapath_record_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        **asdict(choice),
        "kernel": kernel,
        "probed_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(record, indent=2) + "\n")
    partial.replace(path)


def load_datapath(key: str, *, kernel: str | None = None) -> DatapathChoice | None:
    """The last probe's choice, or None if there was none, it is unreadable, or (kernel
    given) the host has booted another kernel since."""
    try:
        raw = json.loads(datapath_record_path(key).read_text())
        if kernel is not None and raw["kernel"] != kernel:
            return None
        return DatapathChoice.of(DatapathKind(raw["kind"]), str(raw["reason"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_host_datapath() -> DatapathChoice | None:
    return load_datapath(HOST_KEY, kernel=platform.release())
