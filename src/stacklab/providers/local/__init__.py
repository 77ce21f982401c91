"""The local provider: lab nodes as systemd-nspawn machines on this host (`LocalProvider`)."""
