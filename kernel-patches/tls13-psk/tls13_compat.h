/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The few definitions the TLS 1.3 PSK client core needs from its host, so the
 * same sources build as a kernel module and, for unit tests and fuzzing, in
 * userspace. Nothing here may pull in more than types, mem* and errno values:
 * the core has no other dependency on its environment.
 */
#ifndef TLS13_COMPAT_H
#define TLS13_COMPAT_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <crypto/algapi.h>

static inline void tls13_wipe(void *p, size_t n)
{
	memzero_explicit(p, n);
}

/* Constant-time compare: 0 when equal. */
static inline int tls13_memneq(const void *a, const void *b, size_t n)
{
	return crypto_memneq(a, b, n) ? 1 : 0;
}

#else /* userspace build: unit tests and fuzzing only */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#define ARRAY_SIZE(x) (sizeof(x) / sizeof((x)[0]))

static inline void tls13_wipe(void *p, size_t n)
{
	explicit_bzero(p, n);
}

/* No early exit: the time does not depend on where the buffers differ. */
static inline int tls13_memneq(const void *a, const void *b, size_t n)
{
	const u8 *x = a, *y = b;
	u8 d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d != 0;
}
#endif

/*
 * The core's only allocation is the client context (about 45 KiB with its
 * record, message and transcript buffers, hence kvzalloc in the kernel);
 * refuse anything larger so a bad size computation cannot turn into a huge
 * allocation.
 */
#define TLS13_ALLOC_MAX (128 * 1024)

static inline void *tls13_zalloc(size_t n)
{
	if (n == 0 || n > TLS13_ALLOC_MAX)
		return NULL;
#ifdef __KERNEL__
	return kvzalloc(n, GFP_KERNEL);
#else
	return calloc(1, n);
#endif
}

/* Wipes before freeing: every allocation of the core may hold key material. */
static inline void tls13_free(void *p, size_t n)
{
	if (!p)
		return;
	tls13_wipe(p, n);
#ifdef __KERNEL__
	kvfree(p);
#else
	free(p);
#endif
}

static inline u16 tls13_get_u16(const u8 *p)
{
	return (u16)((p[0] << 8) | p[1]);
}

static inline u32 tls13_get_u24(const u8 *p)
{
	return ((u32)p[0] << 16) | ((u32)p[1] << 8) | p[2];
}

static inline void tls13_put_u16(u8 *p, u16 v)
{
	p[0] = (u8)(v >> 8);
	p[1] = (u8)v;
}

static inline void tls13_put_u24(u8 *p, u32 v)
{
	p[0] = (u8)(v >> 16);
	p[1] = (u8)(v >> 8);
	p[2] = (u8)v;
}

#endif /* TLS13_COMPAT_H */
