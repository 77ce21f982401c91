"""What the presets expand to."""

from __future__ import annotations

from stacklab.config.models import NodeSpec, Preset, Role, Spec

# Seed 001's lab: a controller, a network node, two computes and a storage node.
PRESET_NODES: dict[Preset, tuple[NodeSpec, ...]] = {
    Preset.AIO: (NodeSpec(name="aio", roles=[Role.CONTROLLER, Role.NETWORK, Role.COMPUTE]),),
    Preset.MULTINODE: (
        NodeSpec(name="controller", roles=[Role.CONTROLLER]),
        NodeSpec(name="network", roles=[Role.NETWORK]),
        NodeSpec(name="compute1", roles=[Role.COMPUTE]),
        NodeSpec(name="compute2", roles=[Role.COMPUTE]),
        NodeSpec(name="storage", roles=[Role.STORAGE]),
    ),
}


def node_specs(spec: Spec) -> tuple[NodeSpec, ...]:
    """The nodes the spec asks for: its explicit list, or its preset's (AIO by default).

    An AIO lab with Cinder switched on also carries the storage role.
    """
    if spec.topology.nodes is not None:
        return tuple(spec.topology.nodes)
    preset = spec.topology.preset or Preset.AIO
    nodes = PRESET_NODES[preset]
    if preset is Preset.AIO and spec.services.cinder:
        aio = nodes[0]
        return (aio.model_copy(update={"roles": [*aio.roles, Role.STORAGE]}),)
    return nodes
