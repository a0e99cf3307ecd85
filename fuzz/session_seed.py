#!/usr/bin/env python3
"""Writes one seed for fuzz/session_protocol_fuzzer.cpp (its header describes
the format): a transcript of server messages for one protocol, by name.

  fuzz/session_seed.py OUT PROTOCOL START SESSION MESSAGE...

START is the start byte (bit 0 idle, bits 1-2 subprotocol, bit 3 subscribe,
bits 4-6 URL path, bit 7 1 s heartbeat interval), SESSION the index of the
fuzzer's session variant; each MESSAGE is
STEP:KIND:PAYLOAD with STEP the time step (100 ms units, 255 = 61 s), KIND t
(text) or b (binary), and PAYLOAD with Python escapes (\\x1e, \\x00, ...).
"""
import codecs
import struct
import sys


def main() -> None:
    out, protocol, start, session, *messages = sys.argv[1:]
    data = b"\xff" + protocol.encode() + b"\x00" + bytes([int(start, 0), int(session, 0)])
    for message in messages:
        step, kind, payload = message.split(":", 2)
        body = codecs.decode(payload, "unicode_escape").encode("latin-1")
        data += bytes([int(step), 1 if kind == "b" else 0]) + struct.pack("<H", len(body)) + body
    with open(out, "wb") as file:
        file.write(data)


if __name__ == "__main__":
    main()
