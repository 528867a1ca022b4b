"""`aios k8s extender` and `aios k8s scheduler` as processes, against the in-memory API server."""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("kubernetes", reason="the k8s extra is not installed")
pytest.importorskip("aiohttp", reason="the k8s extra is not installed")
pytest.importorskip("typer", reason="the cli extra is not installed")

from k8s_fake_api import FakeApiServer, api  # noqa: E402,F401 (api: the fixture)
from k8s_objects import extender_args, node, pod  # noqa: E402


def until(cond: object, timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_extender_process_watches_the_api(api: FakeApiServer, tmp_path: Path) -> None:
    api.create("nodes", node("n1", gpus=8))
    api.create("pods", pod("busy", gpus=8, node_name="n1", phase="Running"))
    port_file = tmp_path / "port"
    proc = subprocess.Popen([sys.executable, "-m", "aios_core", "k8s", "extender", "--server", f"http://127.0.0.1:{api.port}",
                             "--port", "0", "--port-file", str(port_file)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert until(lambda: port_file.exists() and port_file.read_text())
        port = int(port_file.read_text())

        def call(method: str, path: str, body: object = None) -> tuple[int, str]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request(method, path, body=None if body is None else json.dumps(body))
            resp = conn.getresponse()
            out = resp.status, resp.read().decode()
            conn.close()
            return out

        assert until(lambda: call("GET", "/readyz")[0] == 200)
        p = pod("new", gpus=4)
        status, text = call("POST", "/aios/bind", {"PodName": "new", "PodNamespace": "default", "PodUID": p["metadata"]["uid"], "Node": "n1"})
        assert status == 422 and "not seen by filter" in text
        status, text = call("POST", "/aios/filter", extender_args(p, [node("n1")]))
        assert status == 200 and json.loads(text)["FailedNodes"] == {"n1": "Insufficient nvidia.com/gpu"}
        api.update("pods", "busy", {"status": {"phase": "Succeeded"}})  # the watch frees the GPUs
        assert until(lambda: json.loads(call("POST", "/aios/filter", extender_args(p, [node("n1")]))[1])["NodeNames"] == ["n1"])
        bind = {"PodName": "new", "PodNamespace": "default", "PodUID": p["metadata"]["uid"], "Node": "n1"}
        status, text = call("POST", "/aios/bind", bind)  # the pod is not in the API: refused, said why
        assert status == 200 and json.loads(text)["Error"].endswith('HTTP 404 Not Found: pods "new" not found')
        api.create("pods", p)
        status, text = call("POST", "/aios/bind", bind)
        assert status == 200 and json.loads(text) == {"Error": ""}
    finally:
        proc.terminate()
        proc.wait(10)
    assert api.bindings == [("default", "new", "n1")]


def test_scheduler_process_binds_and_stops_on_sigterm(api: FakeApiServer) -> None:
    api.create("nodes", node("n1", gpus=8))
    api.create("pods", pod("job", gpus=2, scheduler="aios"))
    proc = subprocess.Popen([sys.executable, "-m", "aios_core", "k8s", "scheduler", "--name", "aios",
                             "--server", f"http://127.0.0.1:{api.port}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert until(lambda: api.get("pods", "job")["spec"].get("nodeName") == "n1")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    assert api.bindings == [("default", "job", "n1")]
