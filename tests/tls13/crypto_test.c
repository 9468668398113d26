/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libcrypto backend of the TLS 1.3 PSK core for unit tests, fuzz targets and test
 * tools: keyd/handshake/tls13-crypto.c with fixed private keys and caches compiled in. A
 * file of its own so its object never collides with keyd-handshaked's object of the same
 * source, which takes no fixed keys.
 */
#define TLS13_CRYPTO_TEST_KEYS 1
#include "../../keyd/handshake/tls13-crypto.c"
