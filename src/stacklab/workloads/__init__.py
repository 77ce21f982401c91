"""Workloads: demo VMs with floating IPs (`stacklab launch`) and their Ansible inventory."""
