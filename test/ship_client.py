#!/usr/bin/python3
"""Tiny State-History (SHIP) client: connect, read the ABI, ask get_status, decode get_status_result_v0.
Usage: ship_client.py [ws://127.0.0.1:8080/] [--count N]"""
import argparse
import asyncio
import os
import struct
import sys
import time

import websockets


def decode_status(msg):
    if len(msg) < 89 or msg[0] != 0:
        raise ValueError("not a get_status_result_v0 (%d bytes)" % len(msg))
    head, = struct.unpack_from("<I", msg, 1)
    lib, = struct.unpack_from("<I", msg, 37)
    tb, te, cb, ce = struct.unpack_from("<IIII", msg, 73)
    d = {"head": head, "head_id": msg[5:37].hex(), "last_irreversible": lib, "last_irreversible_id": msg[41:73].hex(),
         "trace_begin_block": tb, "trace_end_block": te, "chain_state_begin_block": cb, "chain_state_end_block": ce}
    if len(msg) >= 121:
        d["chain_id"] = msg[89:121].hex()
    return d


async def main(uri, count, timeout):
    t0 = time.time()
    async with websockets.connect(uri, max_size=None, compression=None, ping_interval=None,
                                  open_timeout=timeout) as ws:
        abi = await asyncio.wait_for(ws.recv(), timeout)
        kind = "text" if isinstance(abi, str) else "binary"
        print("ABI: %d bytes (%s message) after %.1f ms" % (len(abi), kind, (time.time() - t0) * 1000))
        for i in range(count):
            await ws.send(b"\x00")
            msg = await asyncio.wait_for(ws.recv(), timeout)
            if isinstance(msg, str):
                raise SystemExit("unexpected text reply: %r" % msg[:200])
            d = decode_status(msg)
            print("get_status_result_v0 (%d bytes):" % len(msg))
            for k, v in d.items():
                print("  %-24s %s" % (k, v))
            ok = all(e in (0, d["head"] + 1) for e in (d["trace_end_block"], d["chain_state_end_block"]))
            print("  history logs %s" % ("up to date (end == head + 1)" if ok else "BEHIND head"))
            if i + 1 < count:
                await asyncio.sleep(0.5)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("uri", nargs="?", default="ws://127.0.0.1:8080/")
    ap.add_argument("--count", type=int, default=1, help="get_status requests, 0.5 s apart")
    ap.add_argument("--timeout", type=float, default=5.0)
    a = ap.parse_args()
    try:
        asyncio.run(main(a.uri, max(1, a.count), a.timeout))
    except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException) as e:
        print("ship_client: %s: %s" % (a.uri, e or type(e).__name__), file=sys.stderr)
        sys.exit(1)
