#!/bin/bash
# A boot after the PCR the root's PSK is sealed to has changed, with systemd in the dracut
# initramfs (root-dracut.sh with KEYD_VM_ROOT_CASE=systemd-pcr-changed; root-pcr-mismatch.sh is
# the same without systemd). keyd-initrd.service must fail once with a message naming the PCR
# mismatch and the recovery steps; its OnFailure= emergency.target (rd.emergency=poweroff) ends
# the boot; the root is never mounted.
KEYD_VM_ROOT_CASE=systemd-pcr-changed exec bash "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/root-dracut.sh"
