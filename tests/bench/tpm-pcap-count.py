#!/usr/bin/env python3
# Count the TPM commands in a pcapng file written by libtss2-tcti-pcap
# (TCTI "pcap:<child TCTI>", file in $TCTI_PCAP_FILE). Each Enhanced Packet
# Block carries one command or one response after its link/IP/TCP headers; a
# command is the TPM 2.0 header tag 0x8001/0x8002 whose size field matches the
# rest of the packet and whose code is a command code (TPM 2.0 Part 2, 6.5:
# 0x0000011f..0x000001ff). Prints "<commands> <command code histogram>".
import collections, struct, sys

def tpm_payloads(data):
    pos = 0
    while pos + 12 <= len(data):
        btype, blen = struct.unpack_from("<II", data, pos)
        if blen < 12 or pos + blen > len(data):
            break
        if btype == 6:  # Enhanced Packet Block
            caplen = struct.unpack_from("<I", data, pos + 20)[0]
            yield data[pos + 28:pos + 28 + caplen]
        pos += blen

def main():
    data = open(sys.argv[1], "rb").read()
    codes = collections.Counter()
    for pkt in tpm_payloads(data):
        for off in range(0, max(0, len(pkt) - 9)):
            tag, size, code = struct.unpack_from(">HII", pkt, off)
            if tag in (0x8001, 0x8002) and size == len(pkt) - off and 0x11f <= code <= 0x1ff:
                codes[code] += 1
                break
    print(sum(codes.values()), " ".join("0x%x:%d" % kv for kv in sorted(codes.items())))

main()
