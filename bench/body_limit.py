"""Benchmark: the web process's memory while it refuses 300 MB request bodies.

    .venv/bin/python bench/body_limit.py [--mb 300]

Starts `followup web` in its own process on a scratch SQLite database (the real face, real
uvicorn, the caps of the default settings), measures its resident memory idle, then sends
each attack of the issue without credentials, one after the other: a 300 MB JSON body to
/api/v1/enrollments (announced by Content-Length, and again streamed chunked), 300 form
fields of 1 MB each to the SMS webhook (announced, and chunked), and a 300 MB multipart
file to /import. For each it prints the status, how much of the body the client got to
send before the answer (the rest of what is in flight in socket buffers), and the
process's peak resident memory during that request (VmHWM, reset before each) next to the
idle process's. Prints figures; it is not a test. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
PIECE = 64 * 1024


@dataclass(frozen=True)
class Attack:
    name: str
    path: str
    content_type: str
    body: Iterator[bytes]
    size: int
    chunked: bool


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _reset_peak(pid: int) -> None:
    """Start the peak (VmHWM) again from the current resident size (Linux >= 4.0)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def _memory(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak so far) of `pid`, in kB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


def _start_server(root: Path, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "FOLLOWUP_DATA_DIR": str(root / "var"),
        "FOLLOWUP_DATABASE_URL": f"sqlite:///{root / 'bench.sqlite'}",
        "FOLLOWUP_SECRET_KEY": "bench-body-limit-" + "x" * 32,
        "FOLLOWUP_TWILIO_AUTH_TOKEN": "bench-auth-token",
        "FOLLOWUP_LOG_LEVEL": "WARNING",
    }
    followup = [sys.executable, "-m", "followup"]
    subprocess.run([*followup, "db", "upgrade"], env=env, check=True, capture_output=True)
    server = subprocess.Popen([*followup, "web", "--port", str(port)], env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            status, _sent = _request(port, "GET", "/healthz", "text/plain", iter(()), 0, False)
        except OSError:
            time.sleep(0.1)  # start-up
            continue
        if status == 200:
            return server
    server.kill()
    raise SystemExit("the web process did not start")


def _request(
    port: int,
    method: str,
    path: str,
    content_type: str,
    body: Iterator[bytes],
    size: int,
    chunked: bool,
) -> tuple[int, int]:
    """Send a request the way an attacker would, stopping as soon as the server answers
    (or closes); returns the status and how many body bytes went out before that."""
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Type: {content_type}"]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}")
    head.append("X-Twilio-Signature: not-a-real-signature")
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        for piece in body:
            if select.select([sock], [], [], 0)[0]:
                break  # the server has answered: stop sending
            frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
            try:
                sock.sendall(frame)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        else:
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        answer = b""
        while b"\r\n" not in answer:
            data = sock.recv(4096)
            if not data:
                break
            answer += data
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return status, sent


def _filler(size: int, opening: bytes = b"") -> Iterator[bytes]:
    if opening:  # an empty chunk would end a chunked body
        yield opening
    left = size - len(opening)
    piece = b"a" * PIECE
    while left > 0:
        yield piece[:left]
        left -= PIECE


def _form_fields(count: int, each: int) -> Iterator[bytes]:
    """`count` fields of `each` bytes: f0=aaa...&f1=aaa..."""
    for n in range(count):
        yield f"{'&' if n else ''}f{n}=".encode()
        yield from _filler(each)


def _attacks(mb: int) -> list[Attack]:
    size = mb * MB
    fields_size = sum(len(p) for p in _form_fields(mb, 0)) + mb * MB
    upload = (
        b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\n"
    )
    attacks = []
    for chunked in (False, True):
        how = "chunked" if chunked else "Content-Length"
        attacks += [
            Attack(
                f"{mb} MB JSON to /api/v1/enrollments ({how})",
                "/api/v1/enrollments",
                "application/json",
                _filler(size, b'{"first_name": "'),
                size,
                chunked,
            ),
            Attack(
                f"{mb} x 1 MB form fields to the SMS webhook ({how})",
                "/webhooks/twilio/sms",
                "application/x-www-form-urlencoded",
                _form_fields(mb, MB),
                fields_size,
                chunked,
            ),
            Attack(
                f"{mb} MB multipart file to /import ({how})",
                "/import",
                "multipart/form-data; boundary=x",
                _filler(size, upload),
                size,
                chunked,
            ),
        ]
    return attacks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=300, help="size of each body, in MB")
    args = parser.parse_args()
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="bench-body-limit-") as tmp:
        server = _start_server(Path(tmp), port)
        try:
            for _ in range(20):  # warm up every route family once, with small bodies
                for path in ("/login", "/api/v1/enrollments", "/webhooks/twilio/sms", "/import"):
                    _request(port, "POST", path, "application/json", iter([b"{}"]), 2, False)
            # Start-up and the warm-up peaked higher than idle (argon2 alone takes 64 MB
            # for a moment): measure each request's peak from here.
            _reset_peak(server.pid)
            idle = _memory(server.pid)["VmRSS"] / 1024
            print(f"idle web process: {idle:.0f} MB resident")
            print(f"{'request (no credentials)':<58} {'status':>6} {'sent':>10} {'peak RSS':>9}")
            highest = idle
            for attack in _attacks(args.mb):
                _reset_peak(server.pid)
                started = time.monotonic()
                status, sent = _request(
                    port,
                    "POST",
                    attack.path,
                    attack.content_type,
                    attack.body,
                    attack.size,
                    attack.chunked,
                )
                took = time.monotonic() - started
                peak = _memory(server.pid)["VmHWM"] / 1024
                highest = max(highest, peak)
                print(
                    f"{attack.name:<58} {status:>6} {sent / MB:>7.2f} MB {peak:>6.0f} MB"
                    f"  ({took * 1000:.0f} ms)"
                )
            print(
                f"highest peak while refusing: {highest:.0f} MB, idle {idle:.0f} MB "
                f"(+{highest - idle:.1f} MB)"
            )
        finally:
            server.terminate()
            server.wait(timeout=20)


if __name__ == "__main__":
    main()
