/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Small language helpers used everywhere: scope-bound cleanup, ownership
 * transfer and secret wiping. libc only.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _warn_unused_result_ __attribute__((warn_unused_result))
#define _public_ __attribute__((visibility("default")))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Hand over ownership of a cleanup-managed pointer: returns it and leaves NULL
 * behind so the cleanup handler does nothing. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _p_ = (p);                                                           \
		(p) = NULL;                                                                        \
		_p_;                                                                               \
	})

#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _fd_ = (fd);                                                                   \
		(fd) = -1;                                                                         \
		_fd_;                                                                              \
	})

/* Define a cleanup helper for a destructor of the shape T *f(T *) or void f(T *). */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                    \
	static inline void func##p(type *p)                                                        \
	{                                                                                          \
		if (*p)                                                                            \
			func(*p);                                                                  \
	}

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return -1;
}

static inline void closep(int *fd)
{
	safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* Free a NULL-terminated array of strings. */
static inline char **strv_free(char **l)
{
	if (!l)
		return NULL;
	for (char **i = l; *i; i++)
		free(*i);
	free(l);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free)
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* Secret memory: erased before it is released. */
static inline void *erase_and_free(void *p, size_t n)
{
	if (p) {
		explicit_bzero(p, n);
		free(p);
	}
	return NULL;
}

/* A heap buffer that holds key material: wiped on free. */
struct keyd_secret {
	uint8_t *data;
	size_t len;
};

static inline void keyd_secret_wipe(struct keyd_secret *s)
{
	if (!s)
		return;
	s->data = erase_and_free(s->data, s->len);
	s->len = 0;
}
#define _cleanup_secret_ _cleanup_(keyd_secret_wipe)

/* Wipe a stack object when it goes out of scope. */
struct keyd_erase_ctx {
	void *p;
	size_t n;
};
static inline void keyd_erase_ctx_run(struct keyd_erase_ctx *c)
{
	explicit_bzero(c->p, c->n);
}
#define _cleanup_erase_(var)                                                                       \
	_cleanup_(keyd_erase_ctx_run) _unused_ struct keyd_erase_ctx _erase_##var = { &(var), sizeof(var) }

static inline bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return streq(a, b);
}

static inline bool startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

#define RET_NERRNO(expr)                                                                           \
	({                                                                                         \
		int _r_ = (expr);                                                                  \
		_r_ < 0 ? -errno : _r_;                                                            \
	})
