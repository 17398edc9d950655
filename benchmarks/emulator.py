"""Requests per second of the local emulator over loopback: get-one, list (100 items) and create.

    python benchmarks/emulator.py [--clients 4] [--seconds 5]

Each client is its own process with one keep-alive connection (http.client), so the client side does not share a
GIL with itself; the server is one emulator process started with rate limiting off.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import time
from urllib.parse import urlsplit

from rr_pulumi.emulator.process import EmulatorProcess


def worker(url: str, token: str, method: str, path: str, body: bytes | None, seconds: float, start_at: float,
           out: "mp.Queue") -> None:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port)
    headers = {"Authorization": token, "Content-Type": "application/json"}
    while time.time() < start_at:
        time.sleep(0.001)
    done, errors, deadline = 0, 0, time.time() + seconds
    while time.time() < deadline:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status >= 300:
            errors += 1
        done += 1
    conn.close()
    out.put((done, errors))


def measure(url: str, token: str, method: str, path: str, body: dict | None, clients: int, seconds: float):
    out: mp.Queue = mp.Queue()
    payload = json.dumps(body).encode() if body is not None else None
    start_at = time.time() + 0.5
    procs = [mp.Process(target=worker, args=(url, token, method, path, payload, seconds, start_at, out))
             for _ in range(clients)]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    done = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    return done / seconds, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()

    with EmulatorProcess(users=("bench:team",), rate_limit=0) as emu:
        import requests

        token = emu.token("bench")
        session = requests.Session()
        session.headers["Authorization"] = token

        def post(path: str, body: dict) -> dict:
            r = session.post(emu.url + path, json=body, timeout=30)
            r.raise_for_status()
            return r.json()

        cid = post("/api/clients", {"clientName": "bench"})["clients"][0]["clientId"]
        target = {"targetName": "t", "targetBaseURL": "https://api.example.com", "targetRegion": "us-east-1"}
        ids = [post(f"/api/clients/{cid}/targets", target)["targets"][0]["sKey"] for _ in range(100)]
        scenarios = [
            ("get-one", "GET", f"/api/clients/{cid}/targets/{ids[0]}", None),
            ("list (100 items)", "GET", f"/api/clients/{cid}/targets?limit=100", None),
            ("create", "POST", f"/api/clients/{cid}/targets", target),
        ]
        print(f"emulator at {emu.url}; {args.clients} concurrent clients, {args.seconds:g} s per scenario")
        for name, method, path, body in scenarios:
            rate, errors = measure(emu.url, token, method, path, body, args.clients, args.seconds)
            print(f"{name:<18} {rate:8.0f} requests/s" + (f"  ({errors} errors)" if errors else ""))
        stats = emu.stats()
        print(f"server counted {stats['total']} contract requests")


if __name__ == "__main__":
    main()
