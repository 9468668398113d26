#!/usr/bin/env python3
# Upcall latency: request_key() N times for DESCRIPTION (type user) with CALLOUT
# into the session keyring, unlinking the key after each, so each call is a real
# upcall (an invalidated key would still be found, as EKEYREVOKED, until the
# kernel's garbage collector runs). Prints the mean
# milliseconds per upcall; exits 1 on the first failure.
#   reqkey-bench.py N DESCRIPTION CALLOUT
import ctypes, ctypes.util, os, sys, time

lib = ctypes.CDLL(ctypes.util.find_library("keyutils") or "libkeyutils.so.1", use_errno=True)
lib.request_key.restype = ctypes.c_int32
lib.request_key.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int32]
lib.keyctl_unlink.argtypes = [ctypes.c_int32, ctypes.c_int32]
KEY_SPEC_SESSION_KEYRING = -3

n, desc, callout = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3].encode()
start = time.perf_counter()
for i in range(n):
    k = lib.request_key(b"user", desc, callout, KEY_SPEC_SESSION_KEYRING)
    if k < 0:
        e = ctypes.get_errno()
        sys.exit(f"request_key #{i}: {os.strerror(e)}")
    if lib.keyctl_unlink(k, KEY_SPEC_SESSION_KEYRING) < 0:
        sys.exit(f"unlink #{i}: {os.strerror(ctypes.get_errno())}")
print(f"{(time.perf_counter() - start) * 1000.0 / n:.3f}")
