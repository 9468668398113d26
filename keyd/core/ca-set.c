/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ca-set.h"
#include "macro.h"
#include "parse.h"

int keyd_ca_set_load(keyd_store *s, const char *set, struct keyd_cert_der **ret, size_t *ret_n,
		     char *reason, size_t reason_size)
{
	_cleanup_free_ char *text = NULL;
	char file[80];
	size_t len, index = 0;
	int r;

	if (!keyd_name_is_valid(set)) {
		snprintf(reason, reason_size, "'%s' is not a valid CA set name", set);
		return -EINVAL;
	}
	snprintf(file, sizeof(file), "%s.pem", set);
	r = keyd_store_read(s, "ca", file, &text, &len);
	if (r < 0) {
		if (r == -ENOENT)
			snprintf(reason, reason_size, "ca/%s: no such CA set", file);
		else
			snprintf(reason, reason_size, "%s", keyd_store_last_error(s));
		return r;
	}
	r = keyd_cert_bundle_from_pem(text, len, ret, ret_n, &index);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		if (r == -ENODATA)
			snprintf(reason, reason_size, "ca/%s holds no certificate", file);
		else if (r == -E2BIG)
			snprintf(reason, reason_size, "ca/%s holds more than %d certificates", file,
				 KEYD_CERT_BUNDLE_MAX);
		else
			snprintf(reason, reason_size, "ca/%s: certificate %zu is damaged", file,
				 index);
		return -EBADMSG;
	}
	return 0;
}
