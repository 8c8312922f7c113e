#!/usr/bin/env python3
"""envelope_seeds.py DIR: write the seed frames of fuzz_envelope.

One valid Envelope of each common kind, encoded by hand in protobuf's wire
format (no protobuf module needed), each in DIR/NAME.bin.
"""
import struct
import sys


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def num(field, n):
    return varint(field << 3) + varint(n)


def msg(field, body):
    if isinstance(body, str):
        body = body.encode()
    return varint(field << 3 | 2) + varint(len(body)) + body


def f32(field, x):
    return varint(field << 3 | 5) + struct.pack("<f", x)


def env(field, body):
    return num(1, 1) + msg(field, body)


def key(pid, step, role):
    return msg(1, num(1, pid) + num(2, step) + num(3, role))


SEEDS = {
    "ready": env(2, num(1, 1) + num(2, 8) + msg(3, "w1") + msg(4, "0.1.0") +
                 msg(5, "sim:weak")),
    "heartbeat": env(3, b""),
    "disconnect": env(4, msg(1, "bye") + num(2, 1)),
    "generate": env(5, msg(1, key(7, 1, 1) + msg(2, "What is 1+1?") +
                           msg(3, "Add.") + num(4, 256) + num(5, 42) +
                           f32(6, 0.7) + f32(7, 0.95))),
    "step_results": env(6, msg(1, key(7, 1, 1) + msg(2, "So 2.") +
                               num(3, 30) + num(4, 5) + num(5, 1))),
    "score": env(7, msg(1, key(7, 1, 3) + msg(2, "What is 1+1?") +
                        msg(3, "Add.") + msg(3, "So 2."))),
    "step_scores": env(8, msg(1, key(7, 1, 3) + f32(2, 0.9) + f32(2, 0.8) +
                              num(3, 50))),
    "route": env(9, msg(1, key(7, 1, 4) + msg(2, "thr:0.5") + f32(3, 0.4) +
                        f32(4, 0.9) + f32(5, 0.9) + num(6, 12) +
                        f32(7, 0.5))),
    "decisions": env(10, msg(1, key(7, 1, 4) + num(2, 1) + f32(3, 0.6) +
                             msg(5, "score 0.4 < 0.5")) + num(2, 3)),
    "submit": env(11, num(1, 5) + msg(3, "thr:0.5") + num(4, 1) +
                  msg(6, msg(1, "What is 1+1?") + msg(2, "2") + num(3, 1) +
                      msg(4, "x.jsonl:1"))),
    "submit_ack": env(12, num(1, 5) + num(2, 1) + msg(3, varint(9))),
    "status_request": env(13, num(1, 3)),
    "wait_request": env(15, num(1, 4) + num(2, 0)),
    "wait_reply": env(16, num(1, 4) + msg(2, num(1, 1) + num(4, 2))),
}

for name, frame in SEEDS.items():
    with open(f"{sys.argv[1]}/{name}.bin", "wb") as f:
        f.write(frame)
