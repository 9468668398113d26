#!/bin/bash
# root-kernel-handshake.sh with the initramfs-tools hook (KEYD_HANDSHAKE=kernel): mkinitramfs
# builds the host's initramfs without agent or TLS library and with the patched nvme-keyring
# and nvme-tcp; the same refusal, image check, two-guest boot, checks in the new root, and the
# size against the agent-based mkinitramfs image.
KEYD_VM_ROOT_BUILDER=initramfs-tools exec bash "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/root-kernel-handshake.sh"
