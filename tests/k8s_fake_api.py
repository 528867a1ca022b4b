"""A small in-memory Kubernetes API server for tests (aiohttp, in a background thread).

What it covers, on the real REST paths: list and watch (`?watch=1`, one JSON event per line,
`resourceVersion` to resume, `410 Gone` for a version older than the kept history, `timeoutSeconds`)
of nodes, pods (with `fieldSelector` on `spec.schedulerName`, `spec.nodeName`, `status.phase`),
PriorityClasses and scheduler-plugins PodGroups; get, create and delete pods; `pods/{name}/binding`
(201 with a Status; 409 when the pod is already bound or the uid differs); merge-patching
`pods/{name}/status`; creating Events. What it does not: authentication, admission, defaulting,
label selectors, strategic-merge semantics beyond a shallow merge of `status.conditions` by type,
garbage collection, kubelets (tests change pod phases through `update`).
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import uuid
from typing import Any, Iterator

import pytest
from aiohttp import web

KINDS = {  # (group path, plural) -> kind
    ("/api/v1", "nodes"): "Node",
    ("/api/v1", "pods"): "Pod",
    ("/api/v1", "events"): "Event",
    ("/apis/scheduling.k8s.io/v1", "priorityclasses"): "PriorityClass",
    ("/apis/scheduling.x-k8s.io/v1alpha1", "podgroups"): "PodGroup",
}
HISTORY = 1000  # watch events kept; older resourceVersions get 410 Gone


def _get(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    return "" if cur is None else str(cur)


def _selector_ok(obj: dict[str, Any], selector: str) -> bool:
    for term in filter(None, selector.split(",")):
        if "!=" in term:
            k, v = term.split("!=", 1)
            if _get(obj, k) == v:
                return False
        else:
            k, v = term.split("==", 1) if "==" in term else term.split("=", 1)
            if _get(obj, k) != v:
                return False
    return True


class FakeApiServer:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}  # (plural, ns, name) -> obj
        self.rv = 1
        self.log: list[tuple[int, str, str, dict[str, Any]]] = []  # (rv, plural, type, obj)
        self.bindings: list[tuple[str, str, str]] = []  # (ns, name, node), in order
        self.requests: list[tuple[str, str]] = []
        self.gone_sent = 0  # 410 Gone watch errors sent
        self._closing = False
        self._changed: asyncio.Condition | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ store

    def _emit(self, plural: str, kind: str, obj: dict[str, Any]) -> None:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self.log.append((self.rv, plural, kind, copy.deepcopy(obj)))
        del self.log[:-HISTORY]
        if self._loop is not None and self._changed is not None:
            cond = self._changed

            async def notify() -> None:
                async with cond:
                    cond.notify_all()

            asyncio.run_coroutine_threadsafe(notify(), self._loop)

    def create(self, plural: str, obj: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            obj = copy.deepcopy(obj)
            meta = obj.setdefault("metadata", {})
            meta.setdefault("uid", str(uuid.uuid4()))
            if plural not in ("nodes", "priorityclasses"):
                meta.setdefault("namespace", "default")
            meta.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
            key = (plural, meta.get("namespace", ""), meta["name"])
            if key in self.objects:
                raise web.HTTPConflict(text=json.dumps(self._status(409, "AlreadyExists", f"{plural} {meta['name']!r} already exists")),
                                       content_type="application/json")
            if plural == "pods":
                obj.setdefault("status", {}).setdefault("phase", "Pending")
            self.objects[key] = obj
            self._emit(plural, "ADDED", obj)
            return copy.deepcopy(obj)

    def update(self, plural: str, name: str, change: dict[str, Any], namespace: str = "") -> dict[str, Any]:
        """Merge `change` (nested dicts merged, other values replaced) into an object, as another
        client (a kubelet, kubectl cordon) would."""
        with self._lock:
            if plural == "pods" and not namespace:
                namespace = "default"
            obj = self.objects[(plural, namespace, name)]

            def merge(dst: dict[str, Any], src: dict[str, Any]) -> None:
                for k, v in src.items():
                    if isinstance(v, dict) and isinstance(dst.get(k), dict):
                        merge(dst[k], v)
                    else:
                        dst[k] = copy.deepcopy(v)

            merge(obj, change)
            self._emit(plural, "MODIFIED", obj)
            return copy.deepcopy(obj)

    def delete(self, plural: str, name: str, namespace: str = "") -> None:
        with self._lock:
            if plural == "pods" and not namespace:
                namespace = "default"
            obj = self.objects.pop((plural, namespace, name))
            self._emit(plural, "DELETED", obj)

    def get(self, plural: str, name: str, namespace: str = "default") -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self.objects[(plural, "" if plural in ("nodes", "priorityclasses") else namespace, name)])

    def list(self, plural: str) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(o) for (p, _, _), o in sorted(self.objects.items()) if p == plural]

    @staticmethod
    def _status(code: int, reason: str, message: str) -> dict[str, Any]:
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure" if code >= 400 else "Success",
                "message": message, "reason": reason, "code": code}

    # ------------------------------------------------------------------ HTTP

    def _app(self) -> web.Application:
        app = web.Application()
        for (group, plural), kind in KINDS.items():
            app.router.add_get(f"{group}/{plural}", self._collection(plural, kind))
            app.router.add_get(f"{group}/namespaces/{{ns}}/{plural}", self._collection(plural, kind))
            app.router.add_post(f"{group}/namespaces/{{ns}}/{plural}", self._create(plural))
            app.router.add_get(f"{group}/namespaces/{{ns}}/{plural}/{{name}}", self._read(plural))
            app.router.add_delete(f"{group}/namespaces/{{ns}}/{plural}/{{name}}", self._delete(plural))
        app.router.add_get("/api/v1/nodes/{name}", self._read("nodes"))
        app.router.add_post("/api/v1/namespaces/{ns}/pods/{name}/binding", self._bind)
        app.router.add_patch("/api/v1/namespaces/{ns}/pods/{name}/status", self._patch_status)
        return app

    def _collection(self, plural: str, kind: str) -> Any:
        async def handle(request: web.Request) -> web.StreamResponse:
            self.requests.append(("GET", request.path_qs))
            ns = request.match_info.get("ns")
            selector = request.query.get("fieldSelector", "")

            def visible(o: dict[str, Any]) -> bool:
                return (ns is None or o["metadata"].get("namespace") == ns) and _selector_ok(o, selector)

            if request.query.get("watch") not in ("1", "true"):
                with self._lock:
                    items = [o for o in self.list(plural) if visible(o)]
                    body = {"kind": f"{kind}List", "apiVersion": "v1", "metadata": {"resourceVersion": str(self.rv)},
                            "items": items}
                return web.json_response(body)
            return await self._watch(request, plural, visible)

        return handle

    async def _watch(self, request: web.Request, plural: str, visible: Any) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        since = int(request.query.get("resourceVersion") or 0) or self.rv
        timeout = float(request.query.get("timeoutSeconds") or 30)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        assert self._changed is not None
        with self._lock:
            oldest = self.log[0][0] if self.log else self.rv + 1
            if since < oldest - 1 and len(self.log) >= HISTORY:
                self.gone_sent += 1
                line = {"type": "ERROR", "object": self._status(410, "Expired", f"too old resource version: {since}")}
                await resp.write((json.dumps(line) + "\n").encode())
                return resp
        while loop.time() < deadline and not self._closing:
            with self._lock:
                events = [(rv, t, o) for rv, p, t, o in self.log if rv > since and p == plural]
            for rv, kind, obj in events:
                since = rv
                # A selector change turns MODIFIED into ADDED/DELETED for the watcher, as the API does.
                if visible(obj):
                    await resp.write((json.dumps({"type": kind, "object": obj}) + "\n").encode())
                elif kind == "MODIFIED":
                    await resp.write((json.dumps({"type": "DELETED", "object": obj}) + "\n").encode())
            async with self._changed:
                try:
                    await asyncio.wait_for(self._changed.wait(), max(0.0, min(0.5, deadline - loop.time())))
                except asyncio.TimeoutError:
                    pass
        return resp

    def _create(self, plural: str) -> Any:
        async def handle(request: web.Request) -> web.Response:
            self.requests.append(("POST", request.path))
            body = await request.json()
            body.setdefault("metadata", {}).setdefault("namespace", request.match_info["ns"])
            if plural == "events" and "name" not in body["metadata"]:
                body["metadata"]["name"] = body["metadata"].get("generateName", "event.") + uuid.uuid4().hex[:8]
            return web.json_response(self.create(plural, body), status=201)

        return handle

    def _read(self, plural: str) -> Any:
        async def handle(request: web.Request) -> web.Response:
            try:
                return web.json_response(self.get(plural, request.match_info["name"], request.match_info.get("ns", "")))
            except KeyError:
                return web.json_response(self._status(404, "NotFound", f"{plural} {request.match_info['name']!r} not found"), status=404)

        return handle

    def _delete(self, plural: str) -> Any:
        async def handle(request: web.Request) -> web.Response:
            self.requests.append(("DELETE", request.path))
            try:
                self.delete(plural, request.match_info["name"], request.match_info["ns"])
            except KeyError:
                return web.json_response(self._status(404, "NotFound", "not found"), status=404)
            return web.json_response(self._status(200, "", "deleted"))

        return handle

    async def _bind(self, request: web.Request) -> web.Response:
        ns, name = request.match_info["ns"], request.match_info["name"]
        body = await request.json()
        self.requests.append(("POST", request.path))
        with self._lock:
            pod = self.objects.get(("pods", ns, name))
            if pod is None:
                return web.json_response(self._status(404, "NotFound", f'pods "{name}" not found'), status=404)
            uid = (body.get("metadata") or {}).get("uid")
            if uid and uid != pod["metadata"]["uid"]:
                return web.json_response(self._status(409, "Conflict", f"Precondition failed: UID in precondition: {uid}, UID in object meta: {pod['metadata']['uid']}"), status=409)
            if pod["spec"].get("nodeName"):
                msg = f'Operation cannot be fulfilled on pods/binding "{name}": pod {name} is already assigned to node "{pod["spec"]["nodeName"]}"'
                return web.json_response(self._status(409, "Conflict", msg), status=409)
            node = (body.get("target") or {}).get("name")
            if not node:
                return web.json_response(self._status(400, "BadRequest", "target.name: Required value"), status=400)
            self.bindings.append((ns, name, node))
            self.update("pods", name, {"spec": {"nodeName": node}, "status": {"conditions": [{"type": "PodScheduled", "status": "True"}]}}, ns)
        return web.json_response(self._status(201, "", ""), status=201)

    async def _patch_status(self, request: web.Request) -> web.Response:
        ns, name = request.match_info["ns"], request.match_info["name"]
        patch = await request.json()
        self.requests.append(("PATCH", request.path))
        with self._lock:
            if ("pods", ns, name) not in self.objects:
                return web.json_response(self._status(404, "NotFound", "not found"), status=404)
            pod = self.objects[("pods", ns, name)]
            conds = {c["type"]: c for c in pod.get("status", {}).get("conditions", [])}
            for c in (patch.get("status") or {}).get("conditions", []):
                conds[c["type"]] = {**conds.get(c["type"], {}), **c}
            return web.json_response(self.update("pods", name, {"status": {"conditions": list(conds.values())}}, ns))

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> str:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            self._changed = asyncio.Condition()
            runner = web.AppRunner(self._app(), access_log=None)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            self.port = runner.addresses[0][1]
            self._runner = runner
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._closing = True  # open watches end within their 0.5 s poll
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)


@pytest.fixture
def api() -> Iterator[FakeApiServer]:
    server = FakeApiServer()
    server.start()
    yield server
    server.stop()
