"""LayerGraph: a model as a chain of layers with per-layer FLOPs, parameters and activation bytes.

Transformer builders use the analytic formulas of Narayanan et al. (SC'21) and Korthikanti et al.
(MLSys'23): parameters 12h^2 + 13h per GPT layer, forward FLOPs per token 24h^2 + 4sh, activations
s b h (34 + 5 a s / h) bytes per layer and micro-batch (16-bit activations, 1-byte dropout masks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from aios_core.errors import ConfigError, NotFoundError


def _column(values: object, name: str, n: int | None, dtype: type) -> np.ndarray:
    a = np.asarray(values)
    if a.ndim != 1 or (n is not None and a.shape[0] != n):
        raise ConfigError(f"{name}: expected a 1-D array of {n if n is not None else 'n'} values, got shape {a.shape}")
    if a.dtype == np.bool_ or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise ConfigError(f"{name}: expected numbers, got dtype {a.dtype}")
    if np.issubdtype(a.dtype, np.floating):
        bad = ~np.isfinite(a) | (a < 0)
        if np.any(bad):
            i = int(np.argmax(bad))
            raise ConfigError(f"{name}[{i}]: must be finite and >= 0, got {a[i]}")
        if dtype is np.int64:
            if np.any(a != np.floor(a)) or np.any(a >= 2.0**63):
                i = int(np.argmax((a != np.floor(a)) | (a >= 2.0**63)))
                raise ConfigError(f"{name}[{i}]: must be a whole number of bytes/parameters below 2^63, got {a[i]}")
    elif np.any(a < 0):
        i = int(np.argmax(a < 0))
        raise ConfigError(f"{name}[{i}]: must be >= 0, got {a[i]}")
    out: np.ndarray = np.ascontiguousarray(a, dtype=dtype)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class LayerGraph:
    """A chain of layers, each described per micro-batch.

    flops: forward FLOPs (float64); params: parameter count; activation_bytes: bytes kept for the
    backward pass (without tensor parallelism); output_bytes: bytes of the layer's output, sent to
    the next pipeline stage; tp_comm_bytes: bytes all-reduced per micro-batch (forward + backward)
    when the layer is split tensor-parallel (Megatron: 4 all-reduces of s*b*h 16-bit values).
    """

    names: tuple[str, ...]
    flops: np.ndarray
    params: np.ndarray
    activation_bytes: np.ndarray
    output_bytes: np.ndarray
    tp_comm_bytes: np.ndarray
    micro_batch: int = 1

    def __post_init__(self) -> None:
        n = len(self.names)
        if n == 0:
            raise ConfigError("names: a LayerGraph needs at least one layer")
        object.__setattr__(self, "names", tuple(str(x) for x in self.names))
        object.__setattr__(self, "flops", _column(self.flops, "flops", n, np.float64))
        for f in ("params", "activation_bytes", "output_bytes", "tp_comm_bytes"):
            object.__setattr__(self, f, _column(getattr(self, f), f, n, np.int64))
        if isinstance(self.micro_batch, bool) or not isinstance(self.micro_batch, (int, np.integer)) or self.micro_batch < 1:
            raise ConfigError(f"micro_batch: must be an integer >= 1, got {self.micro_batch!r}")

    def __len__(self) -> int:
        return len(self.names)

    @property
    def total_params(self) -> int:
        return int(self.params.sum())

    @property
    def total_flops(self) -> float:
        return float(self.flops.sum())

    @classmethod
    def chain(cls, flops: Sequence[float] | np.ndarray, params: Sequence[int] | np.ndarray | None = None,
              activation_bytes: Sequence[int] | np.ndarray | None = None,
              output_bytes: Sequence[int] | np.ndarray | None = None,
              tp_comm_bytes: Sequence[int] | np.ndarray | None = None, names: Sequence[str] | None = None) -> LayerGraph:
        """A generic chain; missing columns are zero."""
        f = np.asarray(flops)
        n = f.shape[0] if f.ndim == 1 else 0
        z: np.ndarray = np.zeros(n, dtype=np.int64)

        def col(v: Sequence[int] | np.ndarray | None) -> np.ndarray:
            return z if v is None else np.asarray(v)

        return cls(tuple(names) if names is not None else tuple(f"layer{i}" for i in range(n)), f,
                   col(params), col(activation_bytes), col(output_bytes), col(tp_comm_bytes))


@dataclass(frozen=True)
class TransformerConfig:
    """A decoder-only transformer. ``kind`` is ``gpt`` (GELU MLP, LayerNorm, biases, learned positions,
    tied embeddings) or ``llama`` (SwiGLU, RMSNorm, no biases, GQA, untied output head)."""

    layers: int
    hidden: int
    heads: int
    seq: int
    vocab: int
    ffn: int | None = None
    kv_heads: int | None = None
    kind: str = "gpt"


PRESETS: dict[str, TransformerConfig] = {
    "gpt2": TransformerConfig(12, 768, 12, 1024, 50257),
    "gpt2-medium": TransformerConfig(24, 1024, 16, 1024, 50257),
    "gpt2-large": TransformerConfig(36, 1280, 20, 1024, 50257),
    "gpt2-xl": TransformerConfig(48, 1600, 25, 1024, 50257),
    "gpt3-175b": TransformerConfig(96, 12288, 96, 2048, 50257),
    "llama2-7b": TransformerConfig(32, 4096, 32, 4096, 32000, 11008, 32, "llama"),
    "llama2-13b": TransformerConfig(40, 5120, 40, 4096, 32000, 13824, 40, "llama"),
    "llama2-70b": TransformerConfig(80, 8192, 64, 4096, 32000, 28672, 8, "llama"),
}


def _positive(name: str, v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ConfigError(f"{name}: must be an integer >= 1, got {v!r}")
    return int(v)


def transformer(config: TransformerConfig | str, micro_batch: int = 1, *, bytes_per_activation: int = 2) -> LayerGraph:
    """The LayerGraph of a transformer: an embedding layer, ``layers`` blocks and the output head.

    Per block and micro-batch of b sequences (s tokens, hidden h, a heads, ffn f):
    GPT params 12h^2 + 13h, forward FLOPs b s (24 h^2 + 4 s h), activations s b h (34 + 5 a s / h);
    LLaMA params 2h^2 + 2h kv h/a + 3 h f + 2h, FLOPs b s (2 matmul params + 4 s h), activations
    s b (17 h + 8 f) + 5 a s^2 b (the GPT count with a SwiGLU MLP: four f-wide tensors, no dropout).
    The head computes logits over the vocabulary (2 s b h V FLOPs); GPT ties it to the embedding.
    """
    if isinstance(config, str):
        if config not in PRESETS:
            raise NotFoundError(f"config: unknown transformer preset {config!r}; known: {sorted(PRESETS)}")
        config = PRESETS[config]
    l, h, a, s, V = (_positive(n, getattr(config, n)) for n in ("layers", "hidden", "heads", "seq", "vocab"))
    b = _positive("micro_batch", micro_batch)
    e = _positive("bytes_per_activation", bytes_per_activation)
    f = _positive("ffn", config.ffn) if config.ffn is not None else 4 * h
    kv = _positive("kv_heads", config.kv_heads) if config.kv_heads is not None else a
    if config.kind not in ("gpt", "llama"):
        raise ConfigError(f"kind: must be 'gpt' or 'llama', got {config.kind!r}")
    if h % a or a % kv:
        raise ConfigError(f"heads: hidden {h} must divide by heads {a}, and heads by kv_heads {kv}")
    tokens = s * b
    if config.kind == "gpt":
        # QKV 3h^2+3h, projection h^2+h, MLP 2hf+f+h, two LayerNorms 4h (= 12h^2 + 13h for f = 4h).
        block_params = 4 * h * h + 2 * h * f + f + 9 * h
        block_flops = tokens * (8 * h * h + 4 * h * f + 4 * s * h)
        # attention 11sbh + 5as^2b, MLP 3sbh + 4sbf, LayerNorms 4sbh (= sbh(34 + 5as/h) for f = 4h).
        block_act = s * b * (18 * h + 4 * f) + 5 * a * s * s * b
        embed_params = V * h + s * h
        head_params = h * 2  # final LayerNorm; the output projection is tied to the embedding
    else:
        matmul = 2 * h * h + 2 * h * (kv * h // a) + 3 * h * f
        block_params = matmul + 2 * h
        block_flops = tokens * (2 * matmul + 4 * s * h)
        block_act = s * b * (17 * h + 8 * f) + 5 * a * s * s * b
        embed_params = V * h
        head_params = V * h + h
    out = tokens * h * e
    tp = 4 * tokens * h * e  # two all-reduces forward, two backward (Megatron)
    names = ("embedding", *(f"block{i}" for i in range(l)), "head")
    flops = [0.0] + [float(block_flops)] * l + [float(2 * tokens * h * V)]
    params = [embed_params] + [block_params] * l + [head_params]
    act = [tokens * h * e] + [block_act * e // 2] * l + [tokens * V * e + tokens * h * e]
    outb = [out] * (l + 1) + [tokens * V * e]
    tpc = [0] + [tp] * l + [0]
    return LayerGraph(names, np.array(flops), np.array(params, dtype=np.int64), np.array(act, dtype=np.int64),
                      np.array(outb, dtype=np.int64), np.array(tpc, dtype=np.int64), micro_batch=b)
