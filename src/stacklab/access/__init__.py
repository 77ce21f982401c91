"""How the user and stacklab reach a lab: SSH, and (later) clouds.yaml, tunnels, proxy."""
