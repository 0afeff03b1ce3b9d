"""The files an operator installs (example configuration, systemd unit, monitoring kit),
shipped in the wheel as notifier.deploy; `notifier deploy-files` prints or writes them."""
