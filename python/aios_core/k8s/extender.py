"""kube-scheduler extender: filter, prioritize, preempt and bind verbs over HTTP(S), backed by a
ClusterState (filled from a snapshot file or a watch of the API).

The wire format is kube-scheduler's extender v1 types: JSON keys are the Go field names
(`Pod`, `NodeNames`, `FailedNodes`, ...); scores are 0..10. `ExtenderCore` holds the decisions
and knows nothing of HTTP; `make_app` wraps it in an aiohttp application with health, readiness
and Prometheus metrics.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import ssl
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

from aios_core.errors import ConfigError
from aios_core.k8s.convert import KubePod, pod_from_k8s
from aios_core.k8s.state import NO_FIT, ClusterState

try:
    import orjson

    def _loads(body: bytes) -> Any:
        return orjson.loads(body)

    def _dumps(obj: Any) -> bytes:
        return orjson.dumps(obj)

    _DECODE_ERRORS: tuple[type[Exception], ...] = (orjson.JSONDecodeError,)
except ImportError:  # orjson is optional; the standard library gives the same bytes, slower
    import json

    def _loads(body: bytes) -> Any:
        return json.loads(body)

    def _dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()

    _DECODE_ERRORS = (json.JSONDecodeError, UnicodeDecodeError)

log = logging.getLogger("aios_core.k8s.extender")
MAX_EXTENDER_PRIORITY = 10
_SCORE_TAIL = [b"%d}" % k for k in range(MAX_EXTENDER_PRIORITY + 1)]
DEFAULT_BODY_LIMIT = 16 << 20  # a 5,000-node NodeList is a few MiB; NodeNames alone far less
Binder = Callable[[str, str, str, str], None]  # (namespace, name, uid, node); raises on failure


class BadRequest(Exception):
    """A request the extender refuses: HTTP `status` with `reason`."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def _field(args: Any, key: str, kind: type | tuple[type, ...], nullable: bool = False) -> Any:
    if not isinstance(args, dict):
        raise BadRequest(f"body: expected a JSON object, got {type(args).__name__}")
    if key not in args:
        raise BadRequest(f"{key}: missing field")
    value = args[key]
    if value is None and nullable:
        return None
    if not isinstance(value, kind):
        raise BadRequest(f"{key}: expected {getattr(kind, '__name__', kind)}, got {type(value).__name__}")
    return value


class ExtenderCore:
    """The extender's decisions. `node_cache` = kube-scheduler's nodeCacheCapable: requests name
    nodes only, and the state must know them; otherwise request Node objects update the state."""

    def __init__(self, state: ClusterState, node_cache: bool = True, binder: Binder | None = None,
                 pod_cache_size: int = 10_000) -> None:
        self.state = state
        self.node_cache = node_cache
        self.binder = binder
        self._seen: OrderedDict[str, KubePod] = OrderedDict()  # uid -> pod from filter, for bind
        self._pod_cache_size = pod_cache_size
        self._index_cache: list[tuple[int, list[str], np.ndarray]] = []
        self._versions: dict[str, str] = {}  # uid -> resourceVersion of the cached pod
        self._prefix_cache: dict[int, tuple[list[str], list[bytes]]] = {}

    # ------------------------------------------------------------------ parsing

    def _pod(self, args: Any) -> KubePod:
        raw = _field(args, "Pod", dict)
        meta = raw.get("metadata")
        uid = meta.get("uid") if isinstance(meta, dict) else None
        version = meta.get("resourceVersion") if isinstance(meta, dict) else None
        if isinstance(uid, str) and version:
            cached = self._seen.get(uid)
            if cached is not None and self._versions.get(uid) == version:
                return cached  # filter then prioritize: the same pod object twice
        try:
            pod = pod_from_k8s(raw, self.state.opts)
        except ConfigError as exc:
            raise BadRequest(f"Pod: {exc}") from None
        if version:
            self._versions[pod.uid] = str(version)
        self._seen[pod.uid] = pod
        self._seen.move_to_end(pod.uid)
        if len(self._seen) > self._pod_cache_size:
            gone, _ = self._seen.popitem(last=False)
            self._versions.pop(gone, None)
        return pod

    def _names(self, args: Any) -> list[str]:
        names: list[str] | None = _field(args, "NodeNames", list, nullable=True) if "NodeNames" in args else None
        nodes = args.get("Nodes")
        if nodes is not None:
            if not isinstance(nodes, dict) or not isinstance(nodes.get("items"), list):
                raise BadRequest("Nodes: expected a NodeList with 'items'")
            for i, obj in enumerate(nodes["items"]):
                if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict) \
                        or not isinstance(obj["metadata"].get("name"), str):
                    raise BadRequest(f"Nodes.items[{i}]: expected a Node with metadata.name")
            if not self.node_cache:
                for i, obj in enumerate(nodes["items"]):
                    try:
                        self.state.upsert_node(obj)
                    except ConfigError as exc:
                        raise BadRequest(f"Nodes.items[{i}]: {exc}") from None
            if names is None:
                names = [o["metadata"]["name"] for o in nodes["items"]]
        if names is None:
            raise BadRequest("NodeNames, Nodes: both null; send the candidate nodes")
        return names

    def _indices(self, names: list[str]) -> tuple[list[str], np.ndarray]:
        """Placer indices of the names; the last few lists are cached (kube-scheduler sends the
        same candidate list for pod after pod)."""
        version = self.state.version
        for cached_version, cached_names, cached_idx in self._index_cache:
            if cached_version == version and cached_names == names:
                return cached_names, cached_idx  # the cached list: later caches match it by identity
        get = self.state.index.get
        try:
            idx = np.array([get(n, -1) for n in names], dtype=np.int64)
        except TypeError:  # an unhashable entry (a list, an object)
            raise BadRequest("NodeNames: expected a list of strings") from None
        if len(idx) and idx.min() < 0:
            unknown = [n for n in names if n not in self.state.index]
            more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            raise BadRequest(f"NodeNames: unknown node(s) {', '.join(map(repr, unknown[:5]))}{more}", 422)
        self._index_cache = [(version, names, idx)] + self._index_cache[:3]
        return names, idx

    # ------------------------------------------------------------------ verbs

    def filter(self, args: Any) -> dict[str, Any]:
        with self.state.lock:
            pod = self._pod(args)
            names = self._names(args)
            names, idx = self._indices(names)
            ok = self.state.scores(pod)[idx] != NO_FIT
            passed = [n for n, good in zip(names, ok.tolist()) if good]
            failed: dict[str, str] = {}
            unresolvable: dict[str, str] = {}
            if len(passed) < len(names):
                bad = np.flatnonzero(~ok)
                reasons, resolvable = self.state.verdicts(pod, idx[bad])
                for j, reason, res in zip(bad.tolist(), reasons, resolvable.tolist()):
                    (failed if res else unresolvable)[names[j]] = reason
        out: dict[str, Any] = {"NodeNames": passed, "FailedNodes": failed,
                               "FailedAndUnresolvableNodes": unresolvable, "Error": ""}
        nodes = args.get("Nodes")
        if nodes is not None:
            keep = set(passed)
            out["Nodes"] = {**{k: v for k, v in nodes.items() if k != "items"},
                            "items": [o for o in nodes["items"] if o["metadata"]["name"] in keep]}
        else:
            out["Nodes"] = None
        return out

    def _priorities(self, args: Any) -> tuple[list[str], list[int]]:
        with self.state.lock:
            pod = self._pod(args)
            names = self._names(args)
            names, idx = self._indices(names)
            raw = self.state.scores(pod)[idx]
        fits = raw != NO_FIT
        out = np.zeros(len(names), dtype=np.int64)
        if fits.any():
            lo, hi = int(raw[fits].min()), int(raw[fits].max())
            if hi == lo:
                out[fits] = MAX_EXTENDER_PRIORITY
            elif hi - lo < 1 << 58:  # exact integer scaling, no int64 overflow
                out[fits] = (raw[fits] - lo) * MAX_EXTENDER_PRIORITY // (hi - lo)
            else:  # very wide policy scores: Python integers
                out[fits] = [(int(s) - lo) * MAX_EXTENDER_PRIORITY // (hi - lo) for s in raw[fits].tolist()]
        return names, out.tolist()

    def prioritize(self, args: Any) -> list[dict[str, Any]]:
        """Scores 0..10: the policy's scores of the fitting nodes, spread linearly from the worst
        (0) to the best (10); nodes the pod cannot use get 0."""
        names, scores = self._priorities(args)
        return [{"Host": n, "Score": s} for n, s in zip(names, scores)]

    def prioritize_json(self, args: Any) -> bytes:
        """`prioritize`'s reply already encoded: per-host JSON prefixes are cached with the name
        list, so a 5,000-node reply is one join instead of 5,000 dicts to build and encode."""
        names, scores = self._priorities(args)
        prefixes = self._prefix_cache.get(id(names))
        if prefixes is None or prefixes[0] is not names:
            prefixes = (names, [b'{"Host":' + _dumps(n) + b',"Score":' for n in names])
            self._prefix_cache = {id(names): prefixes}
        return b"[" + b",".join([p + _SCORE_TAIL[s] for p, s in zip(prefixes[1], scores)]) + b"]"

    def preempt(self, args: Any) -> dict[str, Any]:
        """Keeps the candidate nodes where the pod fits once the proposed victims are gone;
        replies in the Meta form (victim UIDs) as kube-scheduler expects."""
        pod = self._pod(args)
        meta = args.get("NodeNameToMetaVictims")
        full = args.get("NodeNameToVictims")
        if meta is None and full is None:
            raise BadRequest("NodeNameToVictims, NodeNameToMetaVictims: both missing")
        proposals: dict[str, tuple[list[str], int]] = {}
        for key, table in (("NodeNameToMetaVictims", meta), ("NodeNameToVictims", full)):
            if table is None:
                continue
            if not isinstance(table, dict):
                raise BadRequest(f"{key}: expected an object of node -> victims")
            for node, victims in table.items():
                if not isinstance(victims, dict) or not isinstance(victims.get("Pods") or [], list):
                    raise BadRequest(f"{key}[{node!r}]: expected {{'Pods': [...], 'NumPDBViolations': n}}")
                uids = []
                for p in victims.get("Pods") or []:
                    if not isinstance(p, dict):
                        raise BadRequest(f"{key}[{node!r}].Pods: expected objects, got {type(p).__name__}")
                    meta = p.get("metadata")
                    uid = p.get("UID") if key == "NodeNameToMetaVictims" else (
                        meta.get("uid") if isinstance(meta, dict) else None)
                    if not isinstance(uid, str):
                        raise BadRequest(f"{key}[{node!r}].Pods: every victim needs a UID")
                    uids.append(uid)
                pdb = victims.get("NumPDBViolations", 0)
                if not isinstance(pdb, int):
                    raise BadRequest(f"{key}[{node!r}].NumPDBViolations: expected an integer, got {pdb!r}")
                proposals[node] = (uids, pdb)
        result: dict[str, Any] = {}
        with self.state.lock:
            unknown = [n for n in proposals if n not in self.state.index]
            if unknown:
                raise BadRequest(f"NodeNameToVictims: unknown node(s) {unknown[:5]}", 422)
            free = self.state.placer.free
            req = self.state.request_vector(pod)
            for node, (uids, pdb) in proposals.items():
                i = self.state.index[node]
                gain = np.zeros_like(req)
                for uid in uids:
                    victim = self.state.pods.get(uid)
                    if victim is not None and victim.node_name == node and victim.priority < pod.priority:
                        gain += self.state.request_vector(victim)
                verdict_static = self._static_ok(pod, node)
                if verdict_static and bool((req <= free[i] + gain).all()):
                    result[node] = {"Pods": [{"UID": u} for u in uids], "NumPDBViolations": pdb}
        return {"NodeNameToMetaVictims": result}

    def _static_ok(self, pod: KubePod, node: str) -> bool:
        kn = self.state.nodes[node]
        if pod.unknown_resources or kn.unschedulable:
            return False
        v = self.state.verdict(pod, node, np.full_like(self.state.placer.capacity, 1 << 62))
        return v.resolvable or v.reason.startswith(("Insufficient", "Too many"))

    def bind(self, args: Any) -> dict[str, Any]:
        """Binds through `binder` only when the model says the node can hold the pod now."""
        name = _field(args, "PodName", str)
        namespace = _field(args, "PodNamespace", str)
        uid = _field(args, "PodUID", str)
        node = _field(args, "Node", str)
        with self.state.lock:
            pod = self._seen.get(uid)
            if pod is None or pod.name != name or pod.namespace != namespace:
                raise BadRequest(f"PodUID: pod {namespace}/{name} (uid {uid!r}) was not seen by filter", 422)
            if node not in self.state.index:
                raise BadRequest(f"Node: unknown node {node!r}", 422)
            if uid in self.state.pods:
                return {"Error": f"pod {namespace}/{name} is already bound to {self.state.pods[uid].node_name}"}
            if self.state.scores(pod)[self.state.index[node]] == NO_FIT:
                return {"Error": f"node {node}: {self.state.verdict(pod, node).reason}"}
            if self.binder is None:
                return {"Error": "this extender has no API access to bind (started from a snapshot)"}
            try:
                self.binder(namespace, name, uid, node)
            except Exception as exc:  # the API's refusal goes back to kube-scheduler, which retries
                return {"Error": f"binding {namespace}/{name} to {node}: {_api_error(exc)}"}
            self.state.record_binding(pod, node)
        return {"Error": ""}


def _api_error(exc: Exception) -> str:
    """An API refusal in one line: status and the Status message when there is one."""
    status = getattr(exc, "status", None)
    if status is None:
        return f"{type(exc).__name__}: {exc}"
    try:
        message = _loads(getattr(exc, "body", b"") or b"{}").get("message", "")
    except Exception:
        message = ""
    return f"HTTP {status} {getattr(exc, 'reason', '')}".rstrip() + (f": {message}" if message else "")


# ---------------------------------------------------------------------- HTTP


class Metrics:
    """Prometheus series of one extender: request latency per verb and decisions per outcome."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "aios_extender_request_seconds", "Extender request latency by verb", ["verb"], registry=self.registry,
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
        self.compute = Histogram(
            "aios_extender_decision_seconds", "Time to decide, from the received body to the encoded reply",
            ["verb"], registry=self.registry,
            buckets=(0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1),
        )
        self.decisions = Counter(
            "aios_extender_decisions_total", "Per-node decisions and request outcomes by verb", ["verb", "outcome"],
            registry=self.registry,
        )


def make_app(core: ExtenderCore, prefix: str = "/aios", body_limit: int = DEFAULT_BODY_LIMIT,
             read_timeout: float = 5.0, ready: Callable[[], bool] | None = None) -> Any:
    """The aiohttp application: POST {prefix}/{filter,prioritize,preempt,bind}, GET /healthz,
    /readyz, /metrics."""
    from aiohttp import web
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    metrics = Metrics()
    prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""

    def count(verb: str, reply: Any) -> None:
        if verb == "filter":
            metrics.decisions.labels(verb, "pass").inc(len(reply["NodeNames"]))
            metrics.decisions.labels(verb, "fail").inc(len(reply["FailedNodes"]) + len(reply["FailedAndUnresolvableNodes"]))
        elif verb == "bind":
            metrics.decisions.labels(verb, "error" if reply["Error"] else "bound").inc()
        elif verb == "preempt":
            metrics.decisions.labels(verb, "nodes").inc(len(reply["NodeNameToMetaVictims"]))

    def handler(verb: str, work: Callable[[Any], Any]) -> Callable[[Any], Awaitable[Any]]:
        async def handle(request: web.Request) -> web.Response:
            start = time.perf_counter()
            status = 200
            try:
                if request.content_length is not None and request.content_length > body_limit:
                    raise BadRequest(f"body: {request.content_length} bytes is over the limit of {body_limit}", 413)
                try:
                    body = await asyncio.wait_for(request.read(), read_timeout)
                except asyncio.TimeoutError:
                    raise BadRequest(f"body: not received within {read_timeout} s", 408) from None
                except web.HTTPRequestEntityTooLarge:
                    raise BadRequest(f"body: over the limit of {body_limit} bytes", 413) from None
                decide_start = time.perf_counter()
                try:
                    args = _loads(body)
                except _DECODE_ERRORS as exc:
                    raise BadRequest(f"body: malformed JSON ({exc})") from None
                reply = work(args)
                if not isinstance(reply, bytes):
                    count(verb, reply)
                    reply = _dumps(reply)
                metrics.compute.labels(verb).observe(time.perf_counter() - decide_start)
            except BadRequest as exc:
                status, reply = exc.status, {"Error": exc.reason}
                metrics.decisions.labels(verb, "bad_request").inc()
            except Exception as exc:  # never a crash: the scheduler gets a 500 and retries
                log.exception("extender %s failed", verb)
                status, reply = 500, {"Error": f"internal error: {type(exc).__name__}: {exc}"}
                metrics.decisions.labels(verb, "error").inc()
            metrics.latency.labels(verb).observe(time.perf_counter() - start)
            body = reply if isinstance(reply, bytes) else _dumps(reply)
            return web.Response(body=body, status=status, content_type="application/json")

        return handle

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(_: web.Request) -> web.Response:
        ok = ready() if ready is not None else True
        return web.Response(text="ready" if ok else "not ready: node cache not synced", status=200 if ok else 503)

    async def prom(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application(client_max_size=body_limit)
    for verb, work in (("filter", core.filter), ("prioritize", core.prioritize_json),
                       ("preempt", core.preempt), ("bind", core.bind)):
        app.router.add_post(f"{prefix}/{verb}", handler(verb, work))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", prom)
    return app


def tls_context(certfile: str | None, keyfile: str | None) -> ssl.SSLContext | None:
    if not certfile and not keyfile:
        return None
    if not certfile or not keyfile:
        raise ConfigError("tls: give both --tls-cert and --tls-key")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"tls: cannot load {certfile!r} / {keyfile!r}: {exc}") from None
    return ctx


def serve(core: ExtenderCore, host: str = "127.0.0.1", port: int = 8888, prefix: str = "/aios",
          body_limit: int = DEFAULT_BODY_LIMIT, read_timeout: float = 5.0, ssl_context: ssl.SSLContext | None = None,
          ready: Callable[[], bool] | None = None, on_start: Callable[[int], None] | None = None) -> None:
    """Run the extender until interrupted (loopback unless `host` says otherwise)."""
    from aiohttp import web

    app = make_app(core, prefix, body_limit, read_timeout, ready)
    # The cluster model and snapshot are long-lived: move them out of the collector's generations so
    # a full collection does not rescan thousands of node objects in the middle of a request.
    gc.collect()
    gc.freeze()

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None, keepalive_timeout=75)
        await runner.setup()
        site = web.TCPSite(runner, host, port, ssl_context=ssl_context, backlog=1024)
        await site.start()
        bound = runner.addresses[0][1] if runner.addresses else port
        log.info("extender listening on %s:%s%s", host, bound, prefix)
        if on_start is not None:
            on_start(int(bound))
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    asyncio.run(main())
