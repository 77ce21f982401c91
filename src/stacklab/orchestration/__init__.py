"""What `up` and the lab commands do, step by step, over the lower layers. `stacklab.api`
is the thin public facade over this package."""
