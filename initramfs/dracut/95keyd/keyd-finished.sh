#!/bin/sh
# dracut initqueue/finished hook (95keyd): the main loop waits until keyd is done (or off).
[ -e /run/keyd/initrd.done ] || [ -e /run/keyd/initrd.failed ] || {
    . /usr/lib/keyd/keyd-boot.sh
    [ "$(keyd_boot_arg rd.keyd)" = 0 ]
}
