#!/bin/sh
# dracut initqueue/settled hook (95keyd, without systemd): keyd's early-boot steps, once.
# A failure stops the boot with the reason and the recovery steps (die: no retry loop).
. /usr/lib/keyd/keyd-boot.sh
if ! keyd_boot_run; then
    die "keyd: $(cat /run/keyd/initrd.failed 2>/dev/null)"
fi
