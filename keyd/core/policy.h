/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The keyring policy language, keyd-policy(5).
 *
 * A policy is every "*.policy" file of a directory (default /etc/keyd/policy.d),
 * read in lexical (strcmp) order as if they were one text. It says which keyrings
 * exist, what they hold, where they are linked, their permissions, timeouts and
 * sealing; which descriptions keyd-request-key may answer for whom; and who may
 * sign with which TPM-resident key. man/keyd-policy.5 is the user's documentation;
 * this header is the programmer's.
 *
 * Parsing builds an immutable keyd_policy. Everything below is read through
 * accessors that return pointers into it: they stay valid until keyd_policy_free().
 * Reload by parsing a new policy and swapping it in; a failed parse leaves
 * nothing behind.
 *
 * Errors: parsing never stops at the first problem. Each is reported as one line
 * "FILE:LINE: reason" (or "FILE: reason" for a whole-file problem) in a
 * NULL-terminated string vector the caller frees with strv_free(); user text in
 * them is quoted '...' with control and non-ASCII bytes escaped as \xNN, so the
 * lines are safe to log. At most KEYD_POLICY_ERRORS_MAX lines are kept, the last
 * saying how many more there were.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEYD_POLICY_DEFAULT_DIR "/etc/keyd/policy.d"

/* Bounds. A file, a line or a count beyond them is an error, never truncated. */
#define KEYD_POLICY_LINE_MAX 1024          /* bytes in a line, without the newline */
#define KEYD_POLICY_FILE_MAX (256 * 1024)  /* bytes in one file */
#define KEYD_POLICY_FILES_MAX 64           /* *.policy files in the directory */
#define KEYD_POLICY_RINGS_MAX 64           /* [keyring] sections, all files */
#define KEYD_POLICY_ITEMS_MAX 256          /* psk/ca-set/cert/key lines in one keyring */
#define KEYD_POLICY_LINKS_MAX 8            /* link lines in one keyring */
#define KEYD_POLICY_RULES_MAX 256          /* allow/deny lines, all files */
#define KEYD_POLICY_GRANTS_MAX 256         /* grant lines, all files */
#define KEYD_POLICY_IDS_MAX 16             /* entries in one uid= or gid= list */
#define KEYD_POLICY_ERRORS_MAX 32          /* error lines returned */
#define KEYD_POLICY_DESC_MAX 4095          /* the kernel's limit on a key description */
#define KEYD_POLICY_TIMEOUT_MAX 315360000u /* 10 years, in seconds */
#define KEYD_POLICY_NEG_TIMEOUT_MAX 86400u /* a day */
#define KEYD_POLICY_DEFAULT_NEG_TIMEOUT 60u
#define KEYD_POLICY_DEFAULT_TRANSIENT_TIMEOUT 5u

/* Permission bits of a key, per class (shared/reference/keyrings.md). The mask is
 * possessor << 24 | user << 16 | group << 8 | other. */
#define KEYD_POLICY_PERM_VIEW 0x01u
#define KEYD_POLICY_PERM_READ 0x02u
#define KEYD_POLICY_PERM_WRITE 0x04u
#define KEYD_POLICY_PERM_SEARCH 0x08u
#define KEYD_POLICY_PERM_LINK 0x10u
#define KEYD_POLICY_PERM_SETATTR 0x20u
#define KEYD_POLICY_PERM_ALL 0x3fu
#define KEYD_POLICY_PERM_VALID_MASK 0x3f3f3f3fu
/* Created keyrings when the policy says nothing: the possessor (keyd) everything,
 * the owner (root) view, read and search, so tlshd running as root finds them. */
#define KEYD_POLICY_DEFAULT_RING_PERM 0x3f0b0000u
/* Keys keyd adds to a ring when the policy says nothing: possessor view, read,
 * search, setattr; owner view, read, search. No write, no link. */
#define KEYD_POLICY_DEFAULT_ITEM_PERM 0x2b0b0000u

typedef struct keyd_policy keyd_policy;

enum keyd_policy_item_kind {
	KEYD_POLICY_ITEM_PSK,    /* NVMe/TCP PSKs from the store, as "psk" keys */
	KEYD_POLICY_ITEM_CA_SET, /* a CA set from the store, one key per certificate */
	KEYD_POLICY_ITEM_CERT,   /* the certificate of a store key */
	KEYD_POLICY_ITEM_KEY,    /* a reference to a TPM-resident key (never key material) */
};

/* Which PSKs a "psk =" line selects. */
enum keyd_policy_psk_match {
	KEYD_POLICY_PSK_ALL,     /* psk = all */
	KEYD_POLICY_PSK_ID,      /* psk = id:GLOB       the store id */
	KEYD_POLICY_PSK_HOSTNQN, /* psk = hostnqn:GLOB */
	KEYD_POLICY_PSK_SUBNQN,  /* psk = subnqn:GLOB */
};

/* How an item goes into the ring ("as" on the line; a bit set). */
enum {
	KEYD_POLICY_AS_ASYMMETRIC = 1 << 0, /* kernel-parsed X.509 (ca-set, cert) */
	KEYD_POLICY_AS_USER = 1 << 1,       /* readable DER copy (ca-set, cert) */
	KEYD_POLICY_AS_REF = 1 << 2,        /* key: a user key naming it, for keyd's signer */
	KEYD_POLICY_AS_TPM2 = 1 << 3,       /* key: the kernel's TPM2 asymmetric subtype (patch) */
};

struct keyd_policy_item {
	enum keyd_policy_item_kind kind;
	enum keyd_policy_psk_match psk_match; /* KEYD_POLICY_ITEM_PSK only */
	const char *name;  /* ca-set/cert/key: the store name; psk: the glob, NULL for "all" */
	unsigned as;       /* KEYD_POLICY_AS_* bits; 0 for psk */
	unsigned line;
};

enum keyd_policy_link_kind {
	KEYD_POLICY_LINK_USER,       /* link = user:UID        that uid's user keyring */
	KEYD_POLICY_LINK_PERSISTENT, /* link = persistent:UID  that uid's persistent keyring */
	KEYD_POLICY_LINK_KEYRING,    /* link = keyring:NAME    another ring of this policy */
	KEYD_POLICY_LINK_SESSION,    /* link = session         keyd's session keyring (no initrd) */
};

struct keyd_policy_link {
	enum keyd_policy_link_kind kind;
	uint32_t uid;      /* USER, PERSISTENT */
	const char *ring;  /* KEYRING: the ring's policy name */
	size_t ring_index; /* KEYRING: index for keyd_policy_ring() */
	unsigned line;
};

enum keyd_policy_seal {
	KEYD_POLICY_SEAL_OPEN,   /* nothing restricted */
	KEYD_POLICY_SEAL_CLOSED, /* KEYCTL_RESTRICT_KEYRING with no type, write bits dropped */
	KEYD_POLICY_SEAL_CHAIN,  /* restricted to certificates signed by a CA in another ring */
};

/* What keyd does when a "kernel =" ring does not exist (module not loaded, old kernel). */
enum keyd_policy_absent {
	KEYD_POLICY_ABSENT_FAIL,   /* if-absent = fail (default): provisioning of this ring fails */
	KEYD_POLICY_ABSENT_CREATE, /* if-absent = create: keyd says so and creates "keyd:NAME"
				    * instead; PSKs then go in as "user" keys */
};

struct keyd_policy_ring {
	const char *name;        /* policy name, [A-Za-z0-9._-]{1,64} */
	const char *description; /* kernel description: "keyd:NAME", or the kernel's (".nvme") */
	bool kernel;             /* an existing kernel keyring, found by description, not created */
	enum keyd_policy_absent if_absent;
	const struct keyd_policy_item *items;
	size_t n_items;
	const struct keyd_policy_link *links;
	size_t n_links;
	bool perm_set;           /* false: created rings get the default, kernel rings untouched */
	uint32_t perm;           /* effective ring mask (the default when !perm_set) */
	uint32_t item_perm;      /* mask for the keys keyd adds */
	uint32_t timeout;        /* seconds, 0 = none: for the keys keyd adds and a created ring */
	enum keyd_policy_seal seal;
	const char *chain;       /* SEAL_CHAIN: the ring holding the CAs */
	size_t chain_index;
	const char *file;
	unsigned line;           /* of the [keyring NAME] header */
};

/* A set of principals: uid= and gid= of one line. A subject is in the set when its
 * uid is listed, or its gid or one of its supplementary groups is listed;
 * "uid=*" / "gid=*" list everybody. */
struct keyd_policy_principals {
	bool any;
	const uint32_t *uids;
	size_t n_uids;
	const uint32_t *gids;
	size_t n_gids;
};

/* [request-key] allow|deny TYPE "GLOB" uid=... gid=... [keyring=RING] */
struct keyd_policy_rule {
	bool allow;
	const char *type;          /* kernel key type, e.g. "psk", "user" */
	const char *description;   /* glob over the requested description */
	struct keyd_policy_principals who;
	const char *keyring;       /* destination kernel description, NULL = any */
	const char *file;
	unsigned line;
};

/* [signing] grant key GLOB to uid=... gid=... */
struct keyd_policy_grant {
	const char *key;           /* glob over store key names */
	struct keyd_policy_principals who;
	const char *file;
	unsigned line;
};

/* Maps user and group names to ids. NULL members or a NULL resolver use
 * getpwnam_r()/getgrnam_r(). Return 0 and the id, -ENOENT when unknown. Numeric
 * ids never go through the resolver. */
struct keyd_policy_resolver {
	int (*user)(const char *name, uint32_t *ret, void *userdata);
	int (*group)(const char *name, uint32_t *ret, void *userdata);
	void *userdata;
};

/* One policy text and the name used for it in messages. */
struct keyd_policy_source {
	const char *name;
	const char *text; /* need not be NUL-terminated */
	size_t len;
};

/* Parse texts as one policy, in the given order. 0 and *ret (owned by the caller:
 * keyd_policy_free()) on success;
 * -EBADMSG when any error was found (all of them in *ret_errors); -ENOMEM.
 * ret_errors may be NULL; on success it is set to NULL. */
int keyd_policy_parse(const struct keyd_policy_source *sources, size_t n,
		      const struct keyd_policy_resolver *resolver, keyd_policy **ret,
		      char ***ret_errors);

enum {
	/* Each file must be a regular file owned by root (or the caller's euid, for
	 * tests) and not writable by group or others: the policy decides who gets keys. */
	KEYD_POLICY_CHECK_OWNER = 1 << 0,
};

/* Read dir/ *.policy in strcmp order (other names, hidden files and
 * subdirectories are ignored; a *.policy that is not a regular file is an error)
 * and parse them. -ENOENT when dir does not exist (the caller decides whether
 * that is fine), -EBADMSG with *ret_errors for bad files (too big, too many,
 * unreadable, wrong owner or mode, or any parse error). An empty directory gives
 * an empty policy. */
int keyd_policy_load_dir(const char *dir, unsigned flags,
			 const struct keyd_policy_resolver *resolver, keyd_policy **ret,
			 char ***ret_errors);

keyd_policy *keyd_policy_free(keyd_policy *p); /* accepts NULL, returns NULL */

/* Rings in definition order. */
size_t keyd_policy_ring_count(const keyd_policy *p);
const struct keyd_policy_ring *keyd_policy_ring(const keyd_policy *p, size_t i); /* NULL past end */
const struct keyd_policy_ring *keyd_policy_ring_by_name(const keyd_policy *p, const char *name);
/* The i-th ring index in provisioning order: a ring comes after the ring its
 * chain: names and before every ring it is linked into, so a closed ring can be
 * sealed once everything it holds is in. */
size_t keyd_policy_ring_order(const keyd_policy *p, size_t i);

size_t keyd_policy_rule_count(const keyd_policy *p);
const struct keyd_policy_rule *keyd_policy_rule(const keyd_policy *p, size_t i);
size_t keyd_policy_grant_count(const keyd_policy *p);
const struct keyd_policy_grant *keyd_policy_grant(const keyd_policy *p, size_t i);

/* [request-key] negative-timeout: seconds a denied or unknown key stays negative.
 * transient-timeout: the same after a transient failure (daemon or TPM busy). */
uint32_t keyd_policy_negative_timeout(const keyd_policy *p);
uint32_t keyd_policy_transient_timeout(const keyd_policy *p);

/* Who asks: the requesting process's fsuid/fsgid (request-key's %u %g) or the
 * socket peer's credentials, and its supplementary groups if known. */
struct keyd_policy_subject {
	uint32_t uid;
	uint32_t gid;
	const uint32_t *groups;
	size_t n_groups;
};

/* May keyd-request-key answer a request for (type, description) from who, to be
 * put in the keyring whose kernel description is dest (NULL or "" if unknown:
 * then only rules without keyring= match)? The rules are tried in order, the
 * first that matches decides; none matching denies. Returns 1 allow, 0 deny, and
 * the deciding rule in *ret_rule (NULL when no rule matched; ret_rule may be
 * NULL). A description longer than KEYD_POLICY_DESC_MAX or holding a control
 * byte (< 0x20, 0x7f) is denied without looking at the rules; any other byte,
 * shell metacharacters and invalid UTF-8 included, is matched literally. */
int keyd_policy_check_request(const keyd_policy *p, const char *type, const char *description,
			      const struct keyd_policy_subject *who, const char *dest,
			      const struct keyd_policy_rule **ret_rule);

/* May who sign with the store key named key? 1 yes (*ret_grant the grant), 0 no. */
int keyd_policy_check_sign(const keyd_policy *p, const char *key,
			   const struct keyd_policy_subject *who,
			   const struct keyd_policy_grant **ret_grant);

/* Glob matching, byte by byte: '*' any run of bytes, '?' one byte, '[...]' one
 * byte of a set ("[!...]" or "[^...]" negates, "a-z" ranges, a ']' first is
 * literal). Every other byte is literal: no escapes, '/' and a leading '.' are
 * not special. An unterminated '[' matches itself. Linear memory, O(len(p) *
 * len(text)) time. */
bool keyd_policy_glob_match(const char *pattern, const char *text);
/* 0 when the policy parser accepts pattern, -EINVAL otherwise (unterminated
 * '[', empty set, reversed range). */
int keyd_policy_glob_validate(const char *pattern);

/* Names for messages and --test-config output. */
/* "open", "closed", "chain" */
const char *keyd_policy_seal_to_string(enum keyd_policy_seal s);
/* "psk", "ca-set", "cert", "key" */
const char *keyd_policy_item_kind_to_string(enum keyd_policy_item_kind k);
/* "user", "persistent", "keyring", "session" */
const char *keyd_policy_link_kind_to_string(enum keyd_policy_link_kind k);
