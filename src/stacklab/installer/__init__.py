"""The installer: OpenStack from Debian's packages on a lab's nodes, through Ansible roles
shipped as package data and run with ansible-runner over SSH, one phase per step of `up`.

Import the submodules themselves (`installer.installer`, `installer.health`): this package
stays light, because Ansible loads its filter plugins, which use it, in every run.
"""
