/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for keyd/core/proto.c: decode arbitrary bytes; whatever decodes
 * must re-encode to the very same bytes (the encoding is canonical: fields in
 * ascending tag order, exact lengths) and decode again to the same message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyd_proto_msg m, again;
	struct keyd_proto_error e;
	uint8_t *buf = NULL;
	size_t len = 0, frame = 0;
	char text[160];
	int r;

	r = keyd_proto_frame_size(data, size, &frame, &e);
	if (r == 0 && frame > KEYD_PROTO_MESSAGE_MAX)
		abort();

	r = keyd_proto_decode(data, size, KEYD_PROTO_EXPECT_ANY, &m, &e);
	if (r < 0) {
		keyd_proto_error_format(&e, text, sizeof(text));
		if (e.reason == KEYD_PROTO_OK)
			abort(); /* every rejection names its class */
		return 0;
	}
	if (frame != size)
		abort();

	if (keyd_proto_encode(&m, &buf, &len, &e) < 0)
		abort();
	if (len != size || memcmp(buf, data, size) != 0)
		abort();
	if (keyd_proto_decode(buf, len, KEYD_PROTO_EXPECT_ANY, &again, &e) < 0)
		abort();
	if (again.type != m.type || again.id != m.id || again.n_fields != m.n_fields)
		abort();
	for (size_t i = 0; i < m.n_fields; i++)
		if (again.fields[i].tag != m.fields[i].tag ||
		    again.fields[i].len != m.fields[i].len ||
		    memcmp(again.fields[i].value, m.fields[i].value, m.fields[i].len) != 0)
			abort();
	keyd_proto_buffer_free(buf, len);
	return 0;
}
