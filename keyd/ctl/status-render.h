/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd-ctl status: the daemon's detailed report (a JSON document, see keyd(8))
 * as an indented tree for people: "key: value" lines, nested objects indented,
 * array elements marked "-". The JSON is checked strictly while rendering
 * (RFC 8259 grammar, nesting at most STATUS_RENDER_DEPTH_MAX, text at most
 * KEYD_CLIENT_REPORT_MAX): a document that does not parse renders nothing.
 * Control characters in strings are shown as '?', so a report cannot drive the
 * terminal.
 */
#pragma once

#include <stddef.h>
#include <stdio.h>

#define STATUS_RENDER_DEPTH_MAX 32

/* Render text[0..len) to out (NULL: only validate). -EBADMSG when it is not one
 * JSON value (with surrounding whitespace) within the bounds. */
int status_render(const char *text, size_t len, FILE *out);
