/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * In-kernel TLS 1.3 PSK client handshake for NVMe/TCP: a drop-in for
 * tls_client_hello_psk() (include/net/handshake.h) that needs no user-space
 * agent.
 */
#ifndef TLS13_HANDSHAKE_H
#define TLS13_HANDSHAKE_H

#include <net/handshake.h>

/*
 * Same arguments and completion as tls_client_hello_psk(): the handshake runs
 * asynchronously on args->ta_sock with the PSK of args->ta_my_peerids[0]
 * (a "psk" key: description = TLS identity, payload = the PSK) and calls
 * args->ta_done(ta_data, status, peerid) exactly once unless cancelled:
 * status 0 with kTLS installed (TX and RX), or a negative errno.
 */
int tls13_psk_client_hello(const struct tls_handshake_args *args, gfp_t flags);

/*
 * Cancel the handshake running on sk, as tls_handshake_cancel() does, and wait
 * until it no longer uses the socket (may sleep; never from ta_done). Returns true when the
 * handshake was stopped before its completion was called (the completion will
 * then never be called), false when it had already completed or was unknown.
 */
bool tls13_psk_handshake_cancel(struct sock *sk);

#endif /* TLS13_HANDSHAKE_H */
