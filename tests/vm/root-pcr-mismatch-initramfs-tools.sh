#!/bin/bash
# A boot after the PCR the root's PSK is sealed to has changed, with an initramfs built by
# mkinitramfs and keyd's initramfs-tools hook (root-initramfs-tools.sh with
# KEYD_VM_ROOT_CASE=pcr-changed; root-pcr-mismatch.sh is the same with dracut). PCR 23 is
# extended on the host's swtpm before the PSK is sealed, so the guest's boot (PCR 23 reset to
# zeros) does not satisfy the policy. The initramfs must stop (panic) with a message naming the
# PCR mismatch and the recovery steps, run the provisioning pass once, and never reach the root.
KEYD_VM_ROOT_CASE=pcr-changed exec bash "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/root-initramfs-tools.sh"
