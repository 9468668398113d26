# Public NVMe/TCP TLS PSK vectors for integration tests (source this file).
# Source: libnvme's own test, tests/psk.c in linux-nvme/libnvme, as collected in
# shared/reference/nvme-psk.md; the same values as tests/unit/vectors-psk.h.
# Public test data, never real keys; named vectors* so the commit check lets the
# NVMeTLSkey strings in.
# shellcheck disable=SC2034
VEC_K32=5512dbb6737d0106f65975b773dfb011ffc344bcf442e2dd6d8bc4870b5d5b03
VEC_K48=${VEC_K32}ffc344bcf442e2dd6d8bc4870b5d5b03
VEC_HOSTNQN=nqn.psk-test-host
VEC_SUBNQN=nqn.psk-test-subsys

VEC_K32_HH00='NVMeTLSkey-1:00:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:'
VEC_K32_HH01='NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:'
VEC_K48_HH02='NVMeTLSkey-1:02:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwP/w0S89ELi3W2LxIcLXVsDn8kXZQ==:'

# v1 identities, RFC 8446 HkdfLabel
VEC_ID_K32_HH01='NVMe1R01 nqn.psk-test-host nqn.psk-test-subsys iSbjiStwJ/1TrTvDlt2fjFmzvsytOJelidNnA+X5lEU='
VEC_ID_K48_HH02='NVMe1R02 nqn.psk-test-host nqn.psk-test-subsys QhW2+Rp6RzHlNtCslyRxMnwJ11tKKhz8JCAQpQ+XUD8f9td1VeH5h53yz2wKJG1a'
# v1 identities, libnvme compat HkdfLabel
VEC_ID_COMPAT_K32_HH01='NVMe1R01 nqn.psk-test-host nqn.psk-test-subsys 66GuqV08TsAGII39teWUfwQwizjv06Jy8jOcX3NAAzM='
VEC_ID_COMPAT_K48_HH02='NVMe1R02 nqn.psk-test-host nqn.psk-test-subsys RsKmYJ3nAn1ApjjMloJFbAkLPivONDAX/xW327YBUsn2eGShXSjCZvBaOxscLqmz'
