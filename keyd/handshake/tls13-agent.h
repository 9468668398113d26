/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PSK handshakes that keyd-handshaked runs on keyd's own TLS 1.3 core
 * (kernel-patches/tls13-psk: the in-kernel client's key schedule, record layer and state
 * machine, built in userspace on libcrypto by tls13-crypto.c) instead of GnuTLS: SHA-384
 * PSKs (TLS_AES_256_GCM_SHA384), whose binders GnuTLS 3.7 cannot compute. The client is
 * the core's state machine; the server is tls13-server.c. Both read the socket exactly to
 * the end of the handshake, then hand the traffic keys to kTLS as tls.c does.
 */
#pragma once

#include <stdint.h>

#include "tls.h"

/* Load what libcrypto reads lazily (configuration, algorithm tables) before mlockall(). */
int keyd_tls13_agent_preload(void);

/* Client: the handshake with the PSK in key (48 bytes: SHA-384) whose identity and serial
 * keyd_tls_handshake() already put in r. Same return and statuses as keyd_tls_handshake(). */
int keyd_tls13_agent_client(const struct keyd_tls_params *p, const struct keyd_secret *key,
			    struct keyd_tls_result *r);

/* Server: whether the ClientHello waiting on fd is for this core: peeks (reads nothing) until
 * the first record is complete or timeout_ms passes. 1: it offers a PSK with a 48-byte binder
 * (SHA-384); 0: anything else (GnuTLS takes it); -ETIMEDOUT, -ECONNRESET, -errno. */
int keyd_tls13_agent_peek(int fd, uint32_t timeout_ms);

/* Server: the handshake, the PSK found by the identity the client offers in p's keyrings. */
int keyd_tls13_agent_server(const struct keyd_tls_params *p, struct keyd_tls_result *r);
