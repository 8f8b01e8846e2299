#!/usr/bin/python3
"""Start each benchmark peer on 127.0.0.1, check one add_sub inference, stop it.

Run from the repository root after scripts/install-bench-deps.sh:
    ORT_DISABLE_TELEMETRY=1 /usr/bin/python3 bench/peers/smoke.py [--requests 200]
It also sends --requests sequential requests over one keep-alive connection
and prints their median latency: a sanity check, not a benchmark.
Exits 0 when every peer returned the right sums and differences.
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
READY_TIMEOUT_S = 60


def free_port() -> int:
    # The port is released before the peer binds it, so another process could
    # take it in between; on a quiet machine that does not happen.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peers(port: int):
    env = dict(os.environ, NODE_PATH=os.path.join(ROOT, ".deps", "node_modules"))
    yield "node", ["node", os.path.join(ROOT, "bench", "peers", "node_server.js"), "--port", str(port)], env
    yield "fastapi", ["/usr/bin/python3", os.path.join(ROOT, "bench", "peers", "fastapi_server.py"),
                      "--port", str(port)], dict(os.environ)


def wait_ready(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"peer exited with status {process.returncode} before it was ready")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/v2/health/ready")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"peer on port {port} was not ready after {READY_TIMEOUT_S} s")


def check_peer(name: str, port: int, requests: int) -> bool:
    a = [float(i) for i in range(32)]
    b = [0.5] * 32
    body = json.dumps({"inputs": [
        {"name": "INPUT0", "shape": [2, 16], "datatype": "FP32", "data": a},
        {"name": "INPUT1", "shape": [2, 16], "datatype": "FP32", "data": b},
    ]})
    headers = {"Content-Type": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    conn.request("GET", "/v2/models/add_sub")
    metadata = json.loads(conn.getresponse().read())
    print(f"{name}: metadata inputs {metadata['inputs']}")

    conn.request("POST", "/v2/models/add_sub/infer", body, headers)
    response = conn.getresponse()
    result = json.loads(response.read())
    outputs = {o["name"]: o for o in result.get("outputs", [])}
    ok = (response.status == 200
          and outputs.get("OUTPUT0", {}).get("data") == [x + y for x, y in zip(a, b)]
          and outputs.get("OUTPUT1", {}).get("data") == [x - y for x, y in zip(a, b)]
          and outputs["OUTPUT0"]["shape"] == [2, 16])
    print(f"{name}: status {response.status}, sums and differences {'correct' if ok else 'WRONG: ' + str(result)}")

    latencies = []
    for _ in range(requests):
        start = time.perf_counter()
        conn.request("POST", "/v2/models/add_sub/infer", body, headers)
        conn.getresponse().read()
        latencies.append(time.perf_counter() - start)
    conn.close()
    if latencies:
        print(f"{name}: {requests} sequential keep-alive requests, median "
              f"{statistics.median(latencies) * 1e3:.3f} ms (Python http.client; not a benchmark)")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description="Smoke-check the benchmark peers.")
    parser.add_argument("--requests", type=int, default=200, help="sequential requests for the latency line")
    args = parser.parse_args()
    if os.environ.get("ORT_DISABLE_TELEMETRY") != "1":
        print("smoke: set ORT_DISABLE_TELEMETRY=1 first; the Node.js peer loads ONNX Runtime", file=sys.stderr)
        return 2

    all_ok = True
    port = free_port()
    for name, command, env in peers(port):
        process = subprocess.Popen(command, env=env, cwd=ROOT)
        try:
            wait_ready(port, process)
            all_ok = check_peer(name, port, args.requests) and all_ok
        except (RuntimeError, OSError, ValueError, KeyError) as err:
            print(f"{name}: FAILED: {err}", file=sys.stderr)
            all_ok = False
        finally:
            process.terminate()
            process.wait(timeout=30)
    print("smoke: all peers correct" if all_ok else "smoke: a peer FAILED")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
