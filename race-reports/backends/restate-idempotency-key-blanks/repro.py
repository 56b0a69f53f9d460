"""Blanks around an Idempotency-Key are dropped: "b1 " and "b1" are one key.

Run from the repository root: ``.venv/bin/python race-reports/backends/restate-idempotency-key-blanks/repro.py
[--write]``. A throwaway restate-server 1.7.12 on loopback; the requests are written byte for byte on a
socket (no client library normalises the header), to the service ``IdemSvc0`` of
``backends/restate/service.py``.
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from backends.restate.backend import DAY_TICKS, RestateBackend
from model.profiles import make_profile


def send(port: int, key: bytes) -> str:
    body = b'{"workflow": "order", "request": 1}'
    request = (
        b"POST /IdemSvc0/run/send HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"content-type: application/json\r\nidempotency-key: " + key + b"\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
    )
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.split(b"\r\n\r\n", 1)[1].decode()


def main() -> None:
    b = RestateBackend()
    steps: list[str] = []
    try:
        b.configure(make_profile("restate", api="idempotency-key", retention=DAY_TICKS))
        b.reset()
        port = int(b.ingress.rsplit(":", 1)[1])
        for key in (b"order:1", b"order:1 ", b" order:1", b"order:1\t", b"ORDER:1"):
            steps.append(f"idempotency-key: {key!r} -> {send(port, key)}")
    finally:
        b.close()
    for line in steps:
        print(line)
    if "--write" in sys.argv:
        (Path(__file__).parent / "trace.json").write_text(json.dumps(steps, indent=1) + "\n")


if __name__ == "__main__":
    main()
