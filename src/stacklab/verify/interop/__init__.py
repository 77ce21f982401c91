"""`stacklab verify --interop`: the public interop guideline's required tests, run with
Tempest in a virtual environment of its own against the lab."""
