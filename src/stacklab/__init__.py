"""stacklab: a real OpenStack cloud for labs and proofs of concept, anywhere."""

__version__ = "0.1.0"
