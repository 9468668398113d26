/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Public NVMe/TCP TLS PSK test vectors. Source: libnvme's own test, tests/psk.c in
 * linux-nvme/libnvme (interchange strings and v1 identities, with RFC 8446 and
 * with libnvme's "compat" HkdfLabel encoding), as collected in
 * shared/reference/nvme-psk.md. These keys are public test data, never real keys;
 * this file is named vectors* so the commit check lets the NVMeTLSkey strings in.
 */
#pragma once

#include <stdint.h>

/* K32, and K48 = K32 || its second half. */
static const uint8_t vector_psk_k32[32] = {
	0x55, 0x12, 0xdb, 0xb6, 0x73, 0x7d, 0x01, 0x06, 0xf6, 0x59, 0x75, 0xb7, 0x73, 0xdf, 0xb0, 0x11,
	0xff, 0xc3, 0x44, 0xbc, 0xf4, 0x42, 0xe2, 0xdd, 0x6d, 0x8b, 0xc4, 0x87, 0x0b, 0x5d, 0x5b, 0x03,
};
static const uint8_t vector_psk_k48[48] = {
	0x55, 0x12, 0xdb, 0xb6, 0x73, 0x7d, 0x01, 0x06, 0xf6, 0x59, 0x75, 0xb7, 0x73, 0xdf, 0xb0, 0x11,
	0xff, 0xc3, 0x44, 0xbc, 0xf4, 0x42, 0xe2, 0xdd, 0x6d, 0x8b, 0xc4, 0x87, 0x0b, 0x5d, 0x5b, 0x03,
	0xff, 0xc3, 0x44, 0xbc, 0xf4, 0x42, 0xe2, 0xdd, 0x6d, 0x8b, 0xc4, 0x87, 0x0b, 0x5d, 0x5b, 0x03,
};

#define VECTOR_PSK_HOSTNQN "nqn.psk-test-host"
#define VECTOR_PSK_SUBNQN "nqn.psk-test-subsys"

/* Interchange strings. */
#define VECTOR_PSK_K32_HH00 "NVMeTLSkey-1:00:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:"
#define VECTOR_PSK_K32_HH01 "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:"
#define VECTOR_PSK_K48_HH02                                                                        \
	"NVMeTLSkey-1:02:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwP/w0S89ELi3W2LxIcLXVsDn8kXZQ==:"

/* v1 identities, RFC 8446 HkdfLabel. */
#define VECTOR_PSK_ID_K32_HH01                                                                     \
	"NVMe1R01 nqn.psk-test-host nqn.psk-test-subsys iSbjiStwJ/1TrTvDlt2fjFmzvsytOJelidNnA+X5lEU="
#define VECTOR_PSK_ID_K48_HH02                                                                     \
	"NVMe1R02 nqn.psk-test-host nqn.psk-test-subsys "                                          \
	"QhW2+Rp6RzHlNtCslyRxMnwJ11tKKhz8JCAQpQ+XUD8f9td1VeH5h53yz2wKJG1a"

/* v1 identities, libnvme compat HkdfLabel. */
#define VECTOR_PSK_ID_COMPAT_K32_HH01                                                              \
	"NVMe1R01 nqn.psk-test-host nqn.psk-test-subsys 66GuqV08TsAGII39teWUfwQwizjv06Jy8jOcX3NAAzM="
#define VECTOR_PSK_ID_COMPAT_K48_HH02                                                              \
	"NVMe1R02 nqn.psk-test-host nqn.psk-test-subsys "                                          \
	"RsKmYJ3nAn1ApjjMloJFbAkLPivONDAX/xW327YBUsn2eGShXSjCZvBaOxscLqmz"

/* The interchange prefix, for tests that build malformed strings at run time. */
#define VECTOR_PSK_PREFIX "NVMeTLSkey-"
