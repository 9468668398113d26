#!/usr/bin/env python3
# Load for request-key: request_key("user", DESC, CALLOUT) for every line of
# FILE, WORKERS processes at once (each in its own new session keyring, so every
# request is a real upcall), checking each payload is BYTES long; the key is
# unlinked afterwards. Prints "N ok"; exits 1 with the failures otherwise.
#   reqkey-load.py FILE CALLOUT WORKERS BYTES
import ctypes, ctypes.util, os, sys

lib = ctypes.CDLL(ctypes.util.find_library("keyutils") or "libkeyutils.so.1", use_errno=True)
lib.request_key.restype = ctypes.c_int32
lib.request_key.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int32]
lib.keyctl_join_session_keyring.argtypes = [ctypes.c_char_p]
lib.keyctl_read.restype = ctypes.c_long
lib.keyctl_read.argtypes = [ctypes.c_int32, ctypes.c_char_p, ctypes.c_size_t]
lib.keyctl_unlink.argtypes = [ctypes.c_int32, ctypes.c_int32]
SESSION = -3

path, callout, workers, want = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3]), int(sys.argv[4])
descs = [l.rstrip("\n").encode() for l in open(path) if l.strip()]

def run(part):
    if lib.keyctl_join_session_keyring(None) < 0:
        return [f"new session: {os.strerror(ctypes.get_errno())}"]
    bad, buf = [], ctypes.create_string_buffer(4096)
    for d in part:
        k = lib.request_key(b"user", d, callout, SESSION)
        if k < 0:
            bad.append(f"{d[:60]!r}: {os.strerror(ctypes.get_errno())}")
            continue
        n = lib.keyctl_read(k, buf, len(buf))
        if n != want:
            bad.append(f"{d[:60]!r}: payload of {n} bytes")
        ctypes.memset(buf, 0, len(buf))
        lib.keyctl_unlink(k, SESSION)
    return bad

parts = [descs[i::workers] for i in range(workers)]
pids = []
for i, part in enumerate(parts):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        out = "\n".join(run(part)).encode()
        os.write(w, out)
        os._exit(1 if out else 0)
    os.close(w)
    pids.append((pid, r))
failures = []
for pid, r in pids:
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.waitpid(pid, 0)
    if data:
        failures += data.decode(errors="replace").split("\n")
if failures:
    print(f"{len(failures)} failed, e.g.:", *failures[:5], sep="\n  ")
    sys.exit(1)
print(f"{len(descs)} ok")
