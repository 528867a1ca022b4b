"""List-then-watch over the official `kubernetes` client, as client-go's reflector does: list,
watch from the list's resourceVersion, resume after a timed-out watch, list again on 410 Gone.

Objects stay plain JSON dicts (`_preload_content=False`): no model conversion on the hot path,
and the same dicts the extender and `kubectl get -o json` give.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger("aios_core.k8s.informer")
Handler = Callable[[str, dict[str, Any]], None]  # (ADDED|MODIFIED|DELETED, object)


def read_json(response: Any) -> Any:
    """The JSON body of a `_preload_content=False` reply."""
    return json.loads(response.data)


def list_objects(list_fn: Callable[..., Any], **kwargs: Any) -> tuple[list[dict[str, Any]], str]:
    doc = read_json(list_fn(_preload_content=False, **kwargs))
    return list(doc.get("items") or []), str((doc.get("metadata") or {}).get("resourceVersion") or "")


class Informer:
    """Keeps a consumer in step with one resource. `on_list(items)` gets the full set after each
    (re)list; `on_event(type, obj)` every change after it. Handlers run on the informer's thread."""

    def __init__(self, name: str, list_fn: Callable[..., Any], on_list: Callable[[list[dict[str, Any]]], None],
                 on_event: Handler, watch_timeout: int = 60, retry_delay: float = 1.0,
                 list_kwargs: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.list_fn = list_fn
        self.on_list = on_list
        self.on_event = on_event
        self.watch_timeout = watch_timeout
        self.retry_delay = retry_delay
        self.kwargs = dict(list_kwargs or {})
        self.synced = threading.Event()
        self.relists = 0

    def run(self, stop: threading.Event) -> None:
        from kubernetes.client.exceptions import ApiException
        from kubernetes.watch import watch as kube_watch

        iter_resp_lines: Callable[[Any], Any] = kube_watch.iter_resp_lines  # untyped in the client

        while not stop.is_set():
            try:
                items, rv = list_objects(self.list_fn, **self.kwargs)
                self.relists += 1
                self.on_list(items)
                self.synced.set()
                while not stop.is_set():
                    resp = self.list_fn(watch=True, resource_version=rv, timeout_seconds=self.watch_timeout,
                                        allow_watch_bookmarks=True, _preload_content=False, **self.kwargs)
                    gone = False
                    try:
                        for line in iter_resp_lines(resp):
                            if stop.is_set():
                                break
                            if not line:
                                continue
                            event = json.loads(line)
                            kind, obj = event.get("type"), event.get("object") or {}
                            if kind == "ERROR":
                                gone = obj.get("code") == 410
                                if not gone:
                                    log.warning("%s watch error: %s", self.name, obj.get("message"))
                                break
                            rv = str((obj.get("metadata") or {}).get("resourceVersion") or rv)
                            if kind != "BOOKMARK":
                                self.on_event(str(kind), obj)
                    finally:
                        resp.close()
                        resp.release_conn()
                    if gone:
                        break  # list again from scratch
            except ApiException as exc:
                if exc.status == 404:  # the resource (a CRD) is not installed: nothing to watch
                    self.on_list([])
                    self.synced.set()
                    stop.wait(self.retry_delay * 30)
                    continue
                log.warning("%s: API error %s %s; retrying", self.name, exc.status, exc.reason)
                stop.wait(self.retry_delay)
            except Exception as exc:  # connection drops, bad lines: back off and list again
                log.warning("%s: %s: %s; retrying", self.name, type(exc).__name__, exc)
                stop.wait(self.retry_delay)
