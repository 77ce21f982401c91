"""Guest images built offline from Debian packages: the KVM probe guest, the test image."""
