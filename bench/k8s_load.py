"""Open-loop load test of `aios k8s extender` in node-cache mode.

Starts the extender as a separate process over a generated N-node snapshot, then sends
filter and prioritize requests (alternating) at a fixed rate from this process: request i is due at
start + i / rate whatever happened to earlier ones, and its latency is measured from that due time
(so a stalled server shows up as latency, not as a slower send rate). Reports p50 / p99 / max and
errors as JSON.

    python bench/k8s_load.py --nodes 5000 --rate 200 --duration 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from k8s_objects import GPU_PRODUCTS, node, pod, snapshot  # noqa: E402


RV_MARK = b'"resourceVersion": "2000"'  # as tests/k8s_objects.pod writes it


def make_snapshot(n: int, seed: int) -> tuple[dict[str, Any], list[str]]:
    rnd = random.Random(seed)
    nodes = [node(f"gpu-{i:05d}", gpus=8, product=GPU_PRODUCTS[i % 2],
                  labels={"example.com/rack": f"r{i // 32}"}) for i in range(n)]
    # Running pods fill about half the GPUs, never more than a node has.
    free = [8] * n
    pods = []
    for i in range(n):
        k, g = rnd.randrange(n), rnd.choice([1, 2, 4, 8])
        if free[k] >= g:
            free[k] -= g
            pods.append(pod(f"run-{i}", gpus=g, node_name=f"gpu-{k:05d}", phase="Running"))
    return snapshot(*nodes, *pods), [nd["metadata"]["name"] for nd in nodes]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to see who is the bottleneck."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_extender(snap: Path, port_file: Path, log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "aios_core", "k8s", "extender", "--snapshot", str(snap), "--port", "0",
           "--port-file", str(port_file)]
    with log.open("wb") as out:  # a file, not a pipe: a full pipe would stall the server
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)


async def wait_ready(port_file: Path, proc: subprocess.Popen[bytes], timeout: float) -> int:
    import aiohttp

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"extender exited with {proc.returncode}")
        if port_file.exists() and port_file.read_text():
            port = int(port_file.read_text())
            try:
                async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}/readyz") as r:
                    if r.status == 200:
                        return port
            except aiohttp.ClientError:
                pass
        await asyncio.sleep(0.1)
    raise RuntimeError("extender not ready in time")


async def drive(port: int, bodies: list[tuple[str, bytes]], rate: float, duration: float, warmup: float) -> dict[str, Any]:
    import aiohttp

    url = f"http://127.0.0.1:{port}/aios/"
    total = int(rate * duration)
    latencies: list[float] = []
    errors: list[str] = []
    conn = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=conn, headers={"Content-Type": "application/json"}) as session:
        async def one(i: int, due: float, record: bool) -> None:
            verb, body = bodies[i % len(bodies)]
            # A new resourceVersion per filter/prioritize pair, as kube-scheduler would send for
            # pod after pod: filter parses the pod, prioritize finds it parsed.
            body = body.replace(RV_MARK, b'"resourceVersion": "%d"' % (i // 2))
            try:
                async with session.post(url + verb, data=body) as resp:
                    payload = await resp.read()
                    if resp.status != 200 or (verb == "filter" and b'"Error":""' not in payload):
                        errors.append(f"{verb}: HTTP {resp.status} {payload[:200]!r}")
            except Exception as exc:  # a refused or dropped connection is an error of the run
                errors.append(f"{verb}: {type(exc).__name__}: {exc}")
            if record:
                latencies.append(time.perf_counter() - due)

        loop_start = time.perf_counter()
        # Warm-up at the same rate, not recorded: connection pool and caches fill.
        tasks = []
        n_warm = int(rate * warmup)
        for i in range(n_warm + total):
            due = loop_start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(one(i, due, i >= n_warm)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - loop_start - warmup
    latencies.sort()

    def q(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else float("nan")

    return {"requests": total, "achieved_rate": round(total / elapsed, 1), "errors": len(errors),
            "first_errors": errors[:3], "p50_ms": round(q(0.50), 3), "p90_ms": round(q(0.90), 3),
            "p99_ms": round(q(0.99), 3), "max_ms": round(latencies[-1] * 1000, 3) if latencies else None}


def empty_round_trips(port: int, n: int = 1000) -> dict[str, float]:
    """The machine's floor: sequential GET /healthz (no work) on one keep-alive connection."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        times.append(time.perf_counter() - t)
    conn.close()
    times.sort()
    return {"p50_ms": round(times[n // 2] * 1000, 3), "p99_ms": round(times[int(n * 0.99)] * 1000, 3)}


def server_histogram(port: int) -> dict[str, Any]:
    """The extender's own histograms, per verb: the handler (from the start of the request to the
    reply, body read included, so queueing inside a saturated event loop shows) and the decision
    alone (parse, decide, encode): mean and share under 5 ms."""
    import urllib.request

    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    out: dict[str, Any] = {}
    for verb in ("filter", "prioritize"):
        def value(series: str) -> float:
            for line in text.splitlines():
                if line.startswith(series + " "):
                    return float(line.split()[-1])
            return float("nan")

        count = value(f'aios_extender_request_seconds_count{{verb="{verb}"}}')
        total = value(f'aios_extender_request_seconds_sum{{verb="{verb}"}}')
        under5 = value(f'aios_extender_request_seconds_bucket{{le="0.005",verb="{verb}"}}')
        decide = value(f'aios_extender_decision_seconds_sum{{verb="{verb}"}}')
        decide5 = value(f'aios_extender_decision_seconds_bucket{{le="0.005",verb="{verb}"}}')
        out[verb] = {"count": int(count), "handler_mean_ms": round(total / count * 1000, 3),
                     "handler_share_under_5ms": round(under5 / count, 4),
                     "decision_mean_ms": round(decide / count * 1000, 3), "decision_share_under_5ms": round(decide5 / count, 4)}
    return out


def run(nodes: int = 5000, rate: float = 200, duration: float = 60, names: int | None = None, seed: int = 0,
        warmup: float = 2.0) -> dict[str, Any]:
    snap, all_names = make_snapshot(nodes, seed)
    rnd = random.Random(seed + 1)
    with tempfile.TemporaryDirectory() as tmp:
        snap_path, port_file = Path(tmp) / "snapshot.json", Path(tmp) / "port"
        snap_path.write_text(json.dumps(snap))
        bodies = []
        for i in range(64):  # varied pods: GPU counts, some with a GPU-model selector
            sel = {"nvidia.com/gpu.product": GPU_PRODUCTS[i % 2]} if i % 3 == 0 else None
            p = pod(f"new-{i}", gpus=rnd.choice([1, 2, 4, 8]), node_selector=sel)
            chosen = all_names if names is None else rnd.sample(all_names, names)
            body = json.dumps({"Pod": p, "Nodes": None, "NodeNames": chosen}).encode()
            bodies += [("filter", body), ("prioritize", body)]
        proc = start_extender(snap_path, port_file, Path(tmp) / "extender.log")
        try:
            port = asyncio.run(wait_ready(port_file, proc, 120))
            server_cpu, client_cpu = cpu_seconds(proc.pid), time.process_time()
            result = asyncio.run(drive(port, bodies, rate, duration, warmup))
            n = result["requests"] + int(rate * warmup)
            result["server_cpu_ms_per_request"] = round((cpu_seconds(proc.pid) - server_cpu) / n * 1000, 3)
            result["client_cpu_ms_per_request"] = round((time.process_time() - client_cpu) / n * 1000, 3)
            result["server_handler"] = server_histogram(port)
            result["healthz_round_trip"] = empty_round_trips(port)
        finally:
            proc.terminate()
            proc.wait(10)
    result.update({"nodes": nodes, "node_names_per_request": names or nodes, "rate": rate, "duration_s": duration,
                   "cpus": os.cpu_count()})
    return result


def in_process(nodes: int = 5000, names: int | None = None, reps: int = 200, seed: int = 0) -> dict[str, Any]:
    """The decision alone, no HTTP: CPU ms per request of parse + decide + encode, per verb."""
    from aios_core.k8s.convert import items_of
    from aios_core.k8s.extender import ExtenderCore, _dumps, _loads
    from aios_core.k8s.state import ClusterState

    snap, all_names = make_snapshot(nodes, seed)
    core = ExtenderCore(ClusterState.from_objects(items_of(snap, "snapshot")))
    chosen = all_names if names is None else random.Random(seed + 1).sample(all_names, names)
    out: dict[str, Any] = {"nodes": nodes, "node_names_per_request": len(chosen)}
    for label, sel in (("any GPU", None), ("GPU-model selector", {"nvidia.com/gpu.product": GPU_PRODUCTS[0]})):
        body = json.dumps({"Pod": pod("new", gpus=4, node_selector=sel), "Nodes": None, "NodeNames": chosen}).encode()
        for verb, fn in (("filter", core.filter), ("prioritize", core.prioritize_json)):
            start = time.process_time()
            for _ in range(reps):
                reply = fn(_loads(body))
                if not isinstance(reply, bytes):
                    _dumps(reply)
            out[f"{verb}, {label}: cpu_ms"] = round((time.process_time() - start) / reps * 1000, 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--rate", type=float, default=200.0, help="requests per second (filter and prioritize alternate)")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of recorded load")
    ap.add_argument("--names", type=int, default=None, help="node names per request (default: all nodes)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--in-process", action="store_true", help="time the decisions without HTTP instead")
    args = ap.parse_args()
    if args.in_process:
        print(json.dumps(in_process(args.nodes, args.names, seed=args.seed), indent=2))
        return
    print(json.dumps(run(args.nodes, args.rate, args.duration, args.names, args.seed), indent=2))


if __name__ == "__main__":
    main()
