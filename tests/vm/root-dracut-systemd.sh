#!/bin/bash
# Root over NVMe/TCP with TLS with systemd in the initramfs (root-dracut.sh with
# KEYD_VM_ROOT_CASE=systemd): dracut builds the host's image with its systemd, systemd-initrd,
# systemd-udevd, systemd-journald and dracut-systemd modules, so 95keyd installs and enables
# keyd-initrd.service rather than initqueue hooks. The same two-guest boot and checks as
# root-dracut.sh, plus: the console shows keyd-initrd.service start, provision, start the agent
# and connect, and finish before initrd-root-device.target and the root's mount.
KEYD_VM_ROOT_CASE=systemd exec bash "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/root-dracut.sh"
