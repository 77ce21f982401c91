"""How a lab's GCP resources are found again without local state.

Instances, disks and images carry labels (`stacklab-lab=<lab>`, and which node or snapshot).
Networks, subnetworks, firewall rules and routes have no labels in the Compute API: they are
named `stacklab-<lab>-...` and their description starts with the same `stacklab-lab=<lab>`
marker, which is what decides (a name prefix alone would mix lab `a` with lab `a-b`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stacklab.providers.gcp.records import Labels

LAB_LABEL = "stacklab-lab"
NODE_LABEL = "stacklab-node"
OWNER_LABEL = "stacklab-owner"
GOLDEN_LABEL = "stacklab-golden"  # on golden images instead of the lab label: `down` keeps them
SNAPSHOT_LABEL = "stacklab-snapshot"
_LABEL_VALUE = re.compile(r"[^a-z0-9_-]")


def resource_name(lab: str, *parts: str) -> str:
    return "-".join(("stacklab", lab, *parts))


def marker(lab: str) -> str:
    return f"{LAB_LABEL}={lab}"


def described(lab: str, what: str) -> str:
    return f"{marker(lab)} {what}"


def belongs_to(description: str, lab: str) -> bool:
    return description.split(" ", 1)[0] == marker(lab)


def label_value(text: str) -> str:
    """GCP label values: at most 63 of lowercase letters, digits, `_` and `-`."""
    return _LABEL_VALUE.sub("_", text.lower())[:63]


def label_filter(key: str, value: str) -> str:
    return f'labels.{key} = "{value}"'


@dataclass(frozen=True)
class Labeller:
    lab: str
    owner: str

    def labels(self, node: str | None = None) -> Labels:
        labels = {LAB_LABEL: self.lab, OWNER_LABEL: label_value(self.owner)}
        if node is not None:
            labels[NODE_LABEL] = node
        return labels

    def lab_filter(self) -> str:
        return label_filter(LAB_LABEL, self.lab)

    def node_filter(self, node: str) -> str:
        return f"({self.lab_filter()}) AND ({label_filter(NODE_LABEL, node)})"
