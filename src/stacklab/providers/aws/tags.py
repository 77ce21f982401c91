"""Every AWS resource of a lab carries `stacklab:lab=<lab>`: how `status` and `down` find it
without local state. Finer tags say which node, network or part of the lab a resource is."""

from __future__ import annotations

from dataclasses import dataclass

from stacklab.providers.aws.records import Filters, Tags

LAB_TAG = "stacklab:lab"
NODE_TAG = "stacklab:node"
NETWORK_TAG = "stacklab:network"
PART_TAG = "stacklab:part"  # which piece of the lab's plumbing: vpc, internet-routes, ...
OWNER_TAG = "Owner"
NAME_TAG = "Name"


def resource_name(lab: str, *parts: str) -> str:
    return "-".join(("stacklab", lab, *parts))


def lab_filter(
    lab: str, *, node: str | None = None, network: str | None = None, part: str | None = None
) -> Filters:
    """EC2 filters matching the lab's resources, narrowed by node, network or part."""
    filters = {f"tag:{LAB_TAG}": (lab,)}
    for key, value in ((NODE_TAG, node), (NETWORK_TAG, network), (PART_TAG, part)):
        if value is not None:
            filters[f"tag:{key}"] = (value,)
    return filters


@dataclass(frozen=True)
class Tagger:
    lab: str
    owner: str

    def tags(
        self,
        *name_parts: str,
        node: str | None = None,
        network: str | None = None,
        part: str | None = None,
    ) -> Tags:
        tags = {
            LAB_TAG: self.lab,
            NAME_TAG: resource_name(self.lab, *name_parts),
            OWNER_TAG: self.owner,
        }
        for key, value in ((NODE_TAG, node), (NETWORK_TAG, network), (PART_TAG, part)):
            if value is not None:
                tags[key] = value
        return tags


def belongs_to(tags: Tags, lab: str) -> bool:
    return tags.get(LAB_TAG) == lab
