/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pinned storage root key of a store, tpm/srk.meta ("handle = 0x81000001",
 * "name = <hex TPM name>"): every object of the store was made under that SRK,
 * so a TPM whose SRK has another name is refused (keyd_tpm_srk_pin()).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "tpm.h"

/* Read the pinned name. -ENOENT nothing pinned yet (nothing sealed either);
 * -EBADMSG damaged, with reason. */
int keyd_srk_pin_load(keyd_store *s, uint8_t name[KEYD_TPM_NAME_MAX], size_t *ret_len,
		      char *reason, size_t reason_size);
/* Record name in a store transaction of its own. */
int keyd_srk_pin_save(keyd_store *s, const uint8_t *name, size_t name_len);
