#!/usr/bin/python3
"""An MQTT client of the printer written with Debian's python3-paho-mqtt, connecting the way
ha-bambulab (pybambu) does: MQTT 3.1.1, clean session, TLS without certificate verification (or, with
--cafile, verified against that CA with the host name check off), user bblp and the access code; on
connect it subscribes to device/<serial>/report and asks for get_version and pushall.

It shares no code with bambucam. Run with /usr/bin/python3 (Debian's paho).

Usage:
  mqtt_client.py HOST PORT SERIAL CODE [--cafile F] [--no-hello] [--client-id ID]
Prints one JSON object per line on stdout, as things happen:
  {"event": "connected", "rc": 0}         CONNACK (rc 5: not authorized; then the script exits)
  {"event": "message", "topic": T, "payload": P, "retain": bool, "qos": n, "at": ms}
  {"event": "disconnected", "rc": n}
Each line read on stdin is published to device/<serial>/request as it is.
"""
import argparse
import json
import ssl
import sys
import threading
import time

import paho.mqtt.client as mqtt


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("serial")
    ap.add_argument("code")
    ap.add_argument("--cafile")
    ap.add_argument("--no-hello", action="store_true", help="do not send get_version and pushall on connect")
    ap.add_argument("--client-id", default="")
    args = ap.parse_args()

    report = f"device/{args.serial}/report"
    request = f"device/{args.serial}/request"
    client = mqtt.Client(client_id=args.client_id, clean_session=True, protocol=mqtt.MQTTv311)
    if args.cafile:
        client.tls_set(ca_certs=args.cafile, cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    else:
        client.tls_set(cert_reqs=ssl.CERT_NONE, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    # ha-bambulab turns the host name check off: the printer's certificate names its serial, not its IP.
    client.tls_insecure_set(True)
    client.username_pw_set("bblp", password=args.code)
    done = threading.Event()

    def on_connect(c, userdata, flags, rc):
        emit({"event": "connected", "rc": rc})
        if rc != 0:
            done.set()
            return
        c.subscribe(report)
        if not args.no_hello:
            c.publish(request, json.dumps({"info": {"sequence_id": "20001", "command": "get_version"}}))
            c.publish(
                request,
                json.dumps({"pushing": {"sequence_id": "20002", "command": "pushall", "version": 1, "push_target": 1}}),
            )

    def on_message(c, userdata, msg):
        emit(
            {
                "event": "message",
                "topic": msg.topic,
                "payload": msg.payload.decode("utf-8", "replace"),
                "retain": bool(msg.retain),
                "qos": msg.qos,
                "at": time.time() * 1000,
            }
        )

    def on_disconnect(c, userdata, rc):
        emit({"event": "disconnected", "rc": rc})
        done.set()

    client.on_connect = on_connect
    client.on_message = on_message
    client.on_disconnect = on_disconnect
    client.connect(args.host, args.port, keepalive=5)
    client.loop_start()

    def read_stdin():
        for line in sys.stdin:
            line = line.strip()
            if line:
                client.publish(request, line)
        done.set()  # stdin closed: the test is finished with us

    threading.Thread(target=read_stdin, daemon=True).start()
    done.wait()
    client.disconnect()
    client.loop_stop()


if __name__ == "__main__":
    main()
