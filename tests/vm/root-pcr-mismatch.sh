#!/bin/bash
# A boot after the PCR the root's PSK is sealed to has changed (root-dracut.sh with
# KEYD_VM_ROOT_CASE=pcr-changed): PCR 23 is extended on the host's swtpm before the PSK is
# sealed, so the sealed policy expects a value the guest's boot (PCR 23 reset to zeros) does
# not have. The dracut initramfs must stop with a message naming the PCR mismatch and the
# recovery steps, run the provisioning pass once, and never reach the root.
KEYD_VM_ROOT_CASE=pcr-changed exec bash "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/root-dracut.sh"
