#!/usr/bin/env python3
"""Traffic for the demo, so that every panel of the dashboard has something to show: REST reads (some answered from
the cache), unknown routes (404), unknown actors (the node's errors), forged tokens (401), a token over its rate limit
(429), an oversized body (413), JSON-RPC over HTTP, live streams and JSON-RPC WebSockets held open for a while.

Usage: traffic.py BASE_URL READ_TOKEN SECONDS    (standard library only)
"""
import base64
import json
import os
import random
import socket
import sys
import threading
import time
import urllib.error
import urllib.request

base, token, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
end = time.time() + seconds
forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")


def call(path, token=None, body=None, method=None):
    req = urllib.request.Request(base + path, data=body, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, res.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError:
        return 0, b""


def rpc(method, params):
    body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1}).encode()
    return call("/rpc/v1", body=body, method="POST")


def reader():
    """REST and JSON-RPC reads, a few errors among them."""
    blocks = []
    while time.time() < end:
        status, body = call("/v1/chain/head")
        if status == 200:
            head = json.loads(body)
            blocks = [c["/"] for c in head["Cids"]] + blocks[:20]
            height = head["Height"]
            call(f"/v1/tipsets/{max(height - random.randint(1, 50), 1)}")
        for cid in random.sample(blocks, min(3, len(blocks))):
            call(f"/v1/blocks/{cid}")
        call(f"/v1/actors/t0{random.choice([1000, 1001, 1002, 999999])}")
        rpc("Filecoin.ChainHead", [])
        rpc("Filecoin.StateNetworkName", [])
        if random.random() < 0.3:
            call("/v1/no-such-route")
        if random.random() < 0.2:
            call("/v1/node/version", token=forged)
        time.sleep(random.uniform(0.05, 0.2))


def greedy():
    """A token well over its rate limit, in bursts."""
    while time.time() < end:
        for _ in range(random.randint(5, 15)):
            call("/v1/chain/head", token=token)
        if random.random() < 0.2:
            call("/rpc/v1", body=b"[" + b" " * (2 << 20) + b"]", method="POST")
        time.sleep(random.uniform(1, 4))


def stream():
    """A live stream held open for a while, then closed."""
    while time.time() < end:
        req = urllib.request.Request(base + "/v1/streams/heads")
        try:
            with urllib.request.urlopen(req, timeout=60) as res:
                until = min(end, time.time() + random.uniform(20, 90))
                while time.time() < until and res.readline():
                    pass
        except OSError:
            time.sleep(1)


def websocket():
    """A JSON-RPC WebSocket that calls ChainHead now and then, for a while."""
    host, port = base.split("//", 1)[1].split(":")
    while time.time() < end:
        try:
            s = socket.create_connection((host, int(port)), timeout=10)
            key = base64.b64encode(os.urandom(16)).decode()
            s.sendall((f"GET /rpc/v1 HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                       f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
            if b" 101 " not in s.recv(4096).split(b"\r\n", 1)[0]:
                s.close()
                time.sleep(1)
                continue
            until = min(end, time.time() + random.uniform(30, 120))
            n = 0
            while time.time() < until:
                n += 1
                payload = json.dumps({"jsonrpc": "2.0", "method": "Filecoin.ChainHead", "params": [], "id": n}).encode()
                mask = os.urandom(4)
                header = bytes([0x81, 0x80 | 126]) + len(payload).to_bytes(2, "big") if len(payload) > 125 \
                    else bytes([0x81, 0x80 | len(payload)])
                s.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
                s.recv(65536)
                time.sleep(random.uniform(0.5, 2))
            s.close()
        except OSError:
            time.sleep(1)


threads = [threading.Thread(target=f, daemon=True)
           for f in [reader, reader, greedy, stream, stream, stream, websocket, websocket]]
for t in threads:
    t.start()
for t in threads:
    t.join()
