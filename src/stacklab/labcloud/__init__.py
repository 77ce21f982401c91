"""The lab's cloud as this host reaches it: its clouds.yaml entries and its users'
credentials, written once by the installer and read by every layer above it."""
