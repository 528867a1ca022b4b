"""LayerGraph from real models: an ONNX file (``onnx`` package, shape inference) or a PyTorch module.

Both walk the operators in execution order and make one layer per operator (ONNX node, PyTorch leaf
module). The chain cut after operator i carries every tensor produced at or before i and read after
it, so ``output_bytes`` is exact for the DAG's topological order. FLOPs: 2 x multiply-adds for
MatMul/Gemm/Linear and convolutions, one per output element for everything else. Parameters are
counted at their first use. Operators with a weight (MatMul/Gemm/Conv, Linear/Conv) can be split
tensor-parallel: their ``tp_comm_bytes`` is twice the output (one all-reduce forward, one backward).
TensorFlow/Keras models reach this through ONNX (tf2onnx).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from aios_core._partition_layers import LayerGraph
from aios_core.errors import ConfigError

_ONNX_BYTES = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2}
_MATMUL_OPS = {"MatMul", "Gemm", "MatMulInteger", "QLinearMatMul"}
_CONV_OPS = {"Conv", "ConvTranspose", "QLinearConv"}


def from_onnx(model: Any, dims: Mapping[str, int] | None = None) -> LayerGraph:
    """LayerGraph of an ONNX model (a path or an ``onnx.ModelProto``); ``dims`` fixes symbolic
    dimensions such as ``{"batch": 8, "seq": 2048}`` before shape inference."""
    try:
        import onnx
        from onnx import shape_inference
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ConfigError("model: the onnx package is missing (pip install aios-core[onnx])") from e
    if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
        try:
            model = onnx.load(model)
        except Exception as e:
            raise ConfigError(f"model: cannot read ONNX file {model!r} ({e})") from e
    if not isinstance(model, onnx.ModelProto):
        raise ConfigError(f"model: expected an ONNX path or ModelProto, got {type(model).__name__}")
    model = onnx.ModelProto.FromString(model.SerializeToString())  # never change the caller's model
    dims = dict(dims or {})
    for name, v in dims.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"dims[{name!r}]: must be an integer >= 1, got {v!r}")
    for vi in list(model.graph.input) + list(model.graph.output):
        for d in vi.type.tensor_type.shape.dim:
            if d.dim_param and d.dim_param in dims:
                d.dim_value = dims[d.dim_param]
    try:
        model = shape_inference.infer_shapes(model, strict_mode=False)
    except Exception as e:
        raise ConfigError(f"model: ONNX shape inference failed ({e})") from e
    g = model.graph
    init = {t.name: (int(np.prod(t.dims, dtype=np.int64)) if len(t.dims) else 1, _ONNX_BYTES.get(t.data_type, 4))
            for t in g.initializer}
    shapes: dict[str, tuple[list[int], int]] = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        tt = vi.type.tensor_type
        if not tt.HasField("shape"):
            continue
        dims_ = [d.dim_value if d.HasField("dim_value") else -1 for d in tt.shape.dim]
        shapes[vi.name] = (dims_, _ONNX_BYTES.get(tt.elem_type, 4))
    nodes = list(g.node)
    if not nodes:
        raise ConfigError("model: the ONNX graph has no nodes")

    def numel(name: str, node: Any) -> tuple[int, int]:
        if name in init:
            return init[name]
        if name not in shapes or any(d < 0 for d in shapes[name][0]):
            raise ConfigError(f"model: shape of tensor {name!r} (node {node.name or node.op_type!r}) is unknown after "
                              "shape inference; fix symbolic dimensions with dims={'name': size}")
        d, b = shapes[name]
        return int(math.prod(d)), b

    last_use: dict[str, int] = {}
    for i, n in enumerate(nodes):
        for x in n.input:
            if x:
                last_use[x] = i
    names, flops, params, act, out, tp = [], [], [], [], [], []
    seen_init: set[str] = set()
    live: dict[str, int] = {}  # produced (or graph input) and still to be read -> bytes
    for x in g.input:
        if x.name not in init and x.name in last_use:
            elems, width = numel(x.name, nodes[last_use[x.name]])
            live[x.name] = elems * width
    for i, n in enumerate(nodes):
        p = 0
        for x in n.input:
            if x in init and x not in seen_init:
                seen_init.add(x)
                p += init[x][0]
        outs = [numel(y, n) for y in n.output if y]
        out_elems = sum(e for e, _ in outs)
        out_bytes = sum(e * b for e, b in outs)
        f = float(out_elems)
        if n.op_type in _MATMUL_OPS and n.input:
            a_shape = shapes.get(n.input[0], ([], 4))[0] if n.input[0] not in init else None
            k = (a_shape[-1] if a_shape and a_shape[-1] > 0 else None) if a_shape is not None else None
            if k is None:
                w = n.input[1] if len(n.input) > 1 else ""
                k = _first_dim(model, w) or 1
            if n.op_type == "Gemm" and any(a.name == "transA" and a.i for a in n.attribute):
                k = a_shape[-2] if a_shape and len(a_shape) >= 2 else k
            f = 2.0 * out_elems * k
        elif n.op_type in _CONV_OPS and len(n.input) > 1:
            w = n.input[1]
            wshape = _init_dims(model, w) or shapes.get(w, ([], 4))[0]
            per_out = int(math.prod(wshape[1:])) if len(wshape) > 1 else 1
            f = 2.0 * out_elems * per_out
        for y, (elems, width) in zip([y for y in n.output if y], outs):
            if last_use.get(y, -1) > i:
                live[y] = elems * width
        for x in list(live):
            if last_use.get(x, -1) <= i:
                del live[x]
        names.append(n.name or f"{n.op_type}_{i}")
        flops.append(f)
        params.append(p)
        act.append(out_bytes)
        out.append(sum(live.values()))
        tp.append(2 * out_bytes if (n.op_type in _MATMUL_OPS or n.op_type in _CONV_OPS) and p > 0 else 0)
    return LayerGraph(tuple(names), np.array(flops), np.array(params, dtype=np.int64), np.array(act, dtype=np.int64),
                      np.array(out, dtype=np.int64), np.array(tp, dtype=np.int64))


def _init_dims(model: Any, name: str) -> list[int] | None:
    for t in model.graph.initializer:
        if t.name == name:
            return list(t.dims)
    return None


def _first_dim(model: Any, name: str) -> int | None:
    d = _init_dims(model, name)
    return int(d[0]) if d else None


def from_torch(module: Any, *example_inputs: Any) -> LayerGraph:
    """LayerGraph of a ``torch.nn.Module``: runs ``module(*example_inputs)`` once under no_grad with
    hooks on the leaf modules and records each call (``pip install torch``; not a hard dependency)."""
    try:
        import torch
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ConfigError("module: PyTorch is not installed") from e
    if not isinstance(module, torch.nn.Module):
        raise ConfigError(f"module: expected a torch.nn.Module, got {type(module).__name__}")
    if not example_inputs:
        raise ConfigError("example_inputs: pass at least one example input for the forward pass")
    records: list[tuple[str, float, int, int, int]] = []
    counted: set[int] = set()
    alive: list[Any] = []

    def tensors(x: Any) -> list[Any]:
        if isinstance(x, torch.Tensor):
            return [x]
        if isinstance(x, (list, tuple)):
            return [t for y in x for t in tensors(y)]
        if isinstance(x, dict):
            return [t for y in x.values() for t in tensors(y)]
        return []

    def hook(name: str) -> Any:
        def fn(mod: Any, inputs: Any, output: Any) -> None:
            outs = tensors(output)
            out_elems = sum(t.numel() for t in outs)
            out_bytes = sum(t.numel() * t.element_size() for t in outs)
            p = 0
            for prm in mod.parameters(recurse=False):
                if id(prm) not in counted:
                    counted.add(id(prm))
                    p += prm.numel()
            f = float(out_elems)
            if isinstance(mod, torch.nn.Linear):
                f = 2.0 * out_elems * mod.in_features
            elif isinstance(mod, torch.nn.modules.conv._ConvNd):
                f = 2.0 * out_elems * (mod.in_channels // mod.groups) * int(math.prod(mod.kernel_size))
            tp = 2 * out_bytes if isinstance(mod, (torch.nn.Linear, torch.nn.modules.conv._ConvNd)) else 0
            records.append((name, f, p, out_bytes, tp))
        return fn

    handles = []
    for name, mod in module.named_modules():
        if next(mod.children(), None) is None:
            handles.append(mod.register_forward_hook(hook(name or type(mod).__name__)))
    try:
        with torch.no_grad():
            alive.append(module(*example_inputs))
    except Exception as e:
        raise ConfigError(f"example_inputs: the forward pass failed ({type(e).__name__}: {e})") from e
    finally:
        for h in handles:
            h.remove()
    if not records:
        raise ConfigError("module: the forward pass called no leaf module")
    names = tuple(r[0] for r in records)
    return LayerGraph(names, np.array([r[1] for r in records]), np.array([r[2] for r in records], dtype=np.int64),
                      np.array([r[3] for r in records], dtype=np.int64), np.array([r[3] for r in records], dtype=np.int64),
                      np.array([r[4] for r in records], dtype=np.int64))
