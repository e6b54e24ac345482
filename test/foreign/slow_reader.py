#!/usr/bin/env python3
"""A slow viewer: reads an MJPEG stream or a native chamber-image stream at a fixed byte rate.

It models a viewer behind a slow link: a small receive buffer (SO_RCVBUF, which Node cannot set)
so that bytes wait on the sender's side as they would in front of a slow network path, and a token
bucket on recv(). For every complete picture it notes when it arrived and the simulator's send time
from the picture's JPEG comment ("bambucam-sim seq=N t=MS"), so the test can compute each picture's
age when the viewer had it.

Usage:
  slow_reader.py mjpeg HOST PORT PATH --rate BYTES_PER_S --seconds S [--rcvbuf N]
  slow_reader.py chamber HOST PORT CODE --rate BYTES_PER_S --seconds S [--rcvbuf N]
Prints one JSON object: {"started_at": ms, "bytes": n, "pictures": [{"seq", "sent_at", "received_at",
"bytes", "width"}], "error": null or text}.
"""
import argparse
import json
import re
import socket
import ssl
import struct
import sys
import time

TAG = re.compile(rb"bambucam-sim seq=(\d+) t=([\d.]+)")


def now_ms():
    return time.time() * 1000.0


def jpeg_width(jpeg):
    """Width from the first SOFn segment, or None."""
    i = 2
    while i + 9 <= len(jpeg) and jpeg[i] == 0xFF:
        marker = jpeg[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", jpeg[i + 2 : i + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return struct.unpack(">H", jpeg[i + 7 : i + 9])[0]
        if marker == 0xDA:
            return None
        i += 2 + length
    return None


class Throttled:
    """recv() from a socket at most `rate` bytes per second."""

    def __init__(self, sock, rate):
        self.sock = sock
        self.rate = rate
        self.burst = max(1024, rate // 20)
        self.tokens = 0.0
        self.last = time.monotonic()
        self.total = 0

    def recv(self):
        while True:
            t = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (t - self.last) * self.rate)
            self.last = t
            if self.tokens >= 512:
                break
            time.sleep((512 - self.tokens) / self.rate)
        data = self.sock.recv(int(self.tokens))
        self.tokens -= len(data)
        self.total += len(data)
        return data


class Pictures:
    def __init__(self):
        self.list = []

    def add(self, jpeg):
        m = TAG.search(jpeg[:512])
        self.list.append(
            {
                "seq": int(m.group(1)) if m else None,
                "sent_at": float(m.group(2)) if m else None,
                "received_at": now_ms(),
                "bytes": len(jpeg),
                "width": jpeg_width(jpeg),
            }
        )


def read_mjpeg(reader, path, host, deadline, pictures):
    reader.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    buf = b""
    headers_done = False
    while time.monotonic() < deadline:
        chunk = reader.recv()
        if not chunk:
            raise EOFError("the server closed the stream")
        buf += chunk
        if not headers_done:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                continue
            status = buf[: buf.find(b"\r\n")]
            if b" 200 " not in status:
                raise ValueError(f"answer: {status!r}")
            buf = buf[end + 4 :]
            headers_done = True
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            m = re.search(rb"Content-Length: (\d+)", buf[:end], re.I)
            if not m:
                raise ValueError("a part without Content-Length")
            length = int(m.group(1))
            if len(buf) < end + 4 + length:
                break
            pictures.add(buf[end + 4 : end + 4 + length])
            buf = buf[end + 4 + length :]


def read_chamber(reader, code, deadline, pictures):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_side=False)

    def flush():
        data = outgoing.read()
        if data:
            reader.sock.sendall(data)

    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            flush()
            chunk = reader.recv()
            if not chunk:
                raise EOFError("closed during the TLS handshake")
            incoming.write(chunk)
    flush()
    tls.write(struct.pack("<IIII", 0x40, 0x3000, 0, 0) + b"bblp".ljust(32, b"\0") + code.encode().ljust(32, b"\0"))
    flush()
    plain = b""
    while time.monotonic() < deadline:
        chunk = reader.recv()
        if not chunk:
            raise EOFError("the server closed the stream")
        incoming.write(chunk)
        while True:
            try:
                plain += tls.read(1 << 20)
            except ssl.SSLWantReadError:
                break
        while len(plain) >= 16:
            (length,) = struct.unpack("<I", plain[:4])
            if len(plain) < 16 + length:
                break
            pictures.add(plain[16 : 16 + length])
            plain = plain[16 + length :]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["mjpeg", "chamber"])
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("target", help="MJPEG path, or the chamber access code")
    ap.add_argument("--rate", type=int, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--rcvbuf", type=int, default=8192)
    args = ap.parse_args()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if args.rcvbuf:
        # Before connect, so the window offered in the handshake is already small.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)
    sock.settimeout(10)
    sock.connect((args.host, args.port))
    started = now_ms()
    deadline = time.monotonic() + args.seconds
    reader = Throttled(sock, args.rate)
    pictures = Pictures()
    error = None
    try:
        if args.mode == "mjpeg":
            read_mjpeg(reader, args.target, args.host, deadline, pictures)
        else:
            read_chamber(reader, args.target, deadline, pictures)
    except Exception as e:  # reported to the test, which fails on it
        error = f"{type(e).__name__}: {e}"
    sock.close()
    print(json.dumps({"started_at": started, "bytes": reader.total, "pictures": pictures.list, "error": error}))


if __name__ == "__main__":
    sys.exit(main())
