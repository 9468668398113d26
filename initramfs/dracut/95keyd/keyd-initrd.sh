#!/bin/bash
# keyd-initrd.service's program (95keyd with systemd in the initramfs). bash, whatever the
# image's /bin/sh: keyd-boot.sh starts the agent with "exec -a @keyd-handshaked" so that
# systemd's switch-root spares it, and dash has no "exec -a" (inst_script installs bash).
. /usr/lib/keyd/keyd-boot.sh
keyd_boot_run
