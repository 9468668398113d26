#!/bin/sh
# keyd-initrd.service's program (95keyd with systemd in the initramfs).
. /usr/lib/keyd/keyd-boot.sh
keyd_boot_run
