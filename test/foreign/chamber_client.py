#!/usr/bin/env python3
"""A chamber-image client written from PROTOCOLS.md alone (sections 2 and 3), in Python.

It shares no code with bambucam, so a misunderstanding of the protocol shared by bambucam's server
and its own client cannot hide. TLS runs over memory BIOs and the socket is read one TLS record at a
time, so each record's plaintext is seen exactly as the server cut it.

Usage:
  chamber_client.py HOST PORT CODE [--user bblp] [--frames N] [--tls12] [--cafile F --servername S]
Prints one JSON object: {"frames": [{"sha256", "length", "records"}], "refused": bool, "bytes": n}.
Exit status 0 when the stream follows the printer's framing (or the server refused cleanly), 1 when not.
"""
import argparse
import hashlib
import json
import socket
import ssl
import struct
import sys


class Violation(Exception):
    pass


class RecordReader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.eof = False

    def _fill(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                self.eof = True
                return False
            self.buf += chunk
        return True

    def next_record(self):
        """One whole TLS record (header included), or None at end of stream."""
        if not self._fill(5):
            return None
        (length,) = struct.unpack(">H", self.buf[3:5])
        if not self._fill(5 + length):
            return None
        record, self.buf = self.buf[: 5 + length], self.buf[5 + length :]
        return record


def auth_packet(user, code):
    # u32 LE 0x40, 0x3000, 0, 0; then user and code, each NUL-padded to 32 bytes.
    return struct.pack("<IIII", 0x40, 0x3000, 0, 0) + user.encode().ljust(32, b"\0") + code.encode().ljust(32, b"\0")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("code")
    ap.add_argument("--user", default="bblp")
    ap.add_argument("--frames", type=int, default=3)
    ap.add_argument("--tls12", action="store_true")
    ap.add_argument("--cafile")
    ap.add_argument("--servername")
    ap.add_argument("--timeout", type=float, default=20)
    args = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if args.tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if args.cafile:
        ctx.load_verify_locations(args.cafile)
        ctx.check_hostname = bool(args.servername)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE

    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_side=False, server_hostname=args.servername)
    sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
    reader = RecordReader(sock)

    def flush():
        data = outgoing.read()
        if data:
            sock.sendall(data)

    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            flush()
            record = reader.next_record()
            if record is None:
                raise Violation("server closed during the TLS handshake")
            incoming.write(record)
    flush()
    tls.write(auth_packet(args.user, args.code))
    flush()

    frames, received, pending, parts, refused = [], 0, None, [], False
    try:
        while len(frames) < args.frames:
            record = reader.next_record()
            if record is None:
                refused = True
                break
            incoming.write(record)
            plain = b""
            try:
                while True:
                    data = tls.read(65536)
                    if not data:  # close_notify: the server closed the stream
                        refused = True
                        break
                    plain += data
            except ssl.SSLWantReadError:
                pass
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                refused = True
            flush()
            if refused:
                break
            if not plain:
                continue  # a TLS 1.3 session ticket or other record without application data
            received += len(plain)
            if pending is None:
                if len(plain) != 16:
                    raise Violation("expected the 16-byte header as its own record, got %d bytes" % len(plain))
                length, itrack, flags, zero = struct.unpack("<IIII", plain)
                if (itrack, flags, zero) != (0, 1, 0) or not 0 < length <= 10 * 1024 * 1024:
                    raise Violation("header words %r are not (length, 0, 1, 0)" % ((length, itrack, flags, zero),))
                pending, parts, sizes = length, [], [16]
                continue
            if len(plain) > 4096:
                raise Violation("body record of %d bytes exceeds 4096" % len(plain))
            if len(plain) > pending:
                raise Violation("record crosses the end of the frame")
            parts.append(plain)
            sizes.append(len(plain))
            pending -= len(plain)
            if pending == 0:
                if sizes[-1] == 16:
                    raise Violation("last body record is exactly 16 bytes")
                jpeg = b"".join(parts)
                if jpeg[:4] != b"\xff\xd8\xff\xe0" or jpeg[-2:] != b"\xff\xd9":
                    raise Violation("frame is not a JFIF JPEG")
                frames.append(
                    {"sha256": hashlib.sha256(jpeg).hexdigest(), "length": len(jpeg), "records": sizes}
                )
                pending = None
    except socket.timeout:
        raise Violation("no frame and no close within %g s (after %d frames)" % (args.timeout, len(frames)))
    except ConnectionResetError as err:
        if frames:
            raise Violation("connection reset after %d frames: %s" % (len(frames), err))
        refused = True
    finally:
        sock.close()

    print(json.dumps({"frames": frames, "refused": refused, "bytes": received, "version": tls.version(),
                      "cipher": tls.cipher()[0]}))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Violation as v:
        print(json.dumps({"violation": str(v)}))
        sys.exit(1)
