"""LayerGraph builders: transformer formulas against published sizes, ONNX and PyTorch importers."""

import numpy as np
import pytest

from aios_core import partition as P
from aios_core.errors import ConfigError, NotFoundError


@pytest.mark.parametrize(
    "name,published,tol",
    [
        ("gpt3-175b", 175e9, 0.01),  # GPT-3 paper: 175.0 B
        ("llama2-7b", 6.74e9, 0.01),  # LLaMA-2 model card: 6.7 B (6,738,415,616)
        ("llama2-13b", 13.0e9, 0.01),
        ("llama2-70b", 68.98e9, 0.01),  # 68,976,648,192
        ("gpt2", 124e6, 0.01),  # tied embeddings, 1024 positions
        ("gpt2-xl", 1.56e9, 0.01),
    ],
)
def test_transformer_parameter_counts_match_published(name, published, tol):
    assert P.transformer(name).total_params == pytest.approx(published, rel=tol)


def test_gpt_layer_formulas_from_the_papers():
    h, s, a, b = 1024, 512, 16, 3
    cfg = P.TransformerConfig(layers=2, hidden=h, heads=a, seq=s, vocab=1000)
    g = P.transformer(cfg, micro_batch=b)
    assert g.names[1] == "block0" and len(g) == 4
    assert g.params[1] == 12 * h * h + 13 * h
    assert g.flops[1] == b * s * (24 * h * h + 4 * s * h)
    assert g.activation_bytes[1] == s * b * h * (34 + 5 * a * s // h)  # Korthikanti et al., eq. (2)
    # 6 x params FLOPs per token rule of thumb for training (forward = 2 x params): close for s << 6h.
    assert 3 * g.flops[1] / (b * s) == pytest.approx(6 * g.params[1], rel=0.1)


def test_transformer_rejects_bad_configs():
    with pytest.raises(NotFoundError, match="gpt5"):
        P.transformer("gpt5")
    with pytest.raises(ConfigError, match="hidden"):
        P.transformer(P.TransformerConfig(2, 100, 3, 8, 10))
    with pytest.raises(ConfigError, match="micro_batch"):
        P.transformer("gpt2", micro_batch=0)
    with pytest.raises(ConfigError, match="kind"):
        P.transformer(P.TransformerConfig(2, 64, 4, 8, 10, kind="bert"))


def _mlp_onnx(b=4, i=8, h=16, o=2, symbolic=False):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    batch = "batch" if symbolic else b
    w1 = numpy_helper.from_array(np.zeros((i, h), np.float32), "w1")
    w2 = numpy_helper.from_array(np.zeros((h, o), np.float32), "w2")
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["y1"], name="fc1"),
             helper.make_node("Relu", ["y1"], ["y2"], name="relu"),
             helper.make_node("MatMul", ["y2", "w2"], ["y3"], name="fc2"),
             helper.make_node("Add", ["y3", "y1_skip"], ["z"], name="add")]
    # y1_skip: a second graph input read only by the last node, so it crosses every cut.
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, i]),
                                             helper.make_tensor_value_info("y1_skip", TensorProto.FLOAT, [batch, o])],
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, [batch, o])], [w1, w2])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_onnx_builder_counts_flops_params_and_cut_bytes(tmp_path):
    b, i, h, o = 4, 8, 16, 2
    m = _mlp_onnx(b, i, h, o)
    path = tmp_path / "mlp.onnx"
    import onnx

    onnx.save(m, path)
    g = P.from_onnx(str(path))
    assert g.names == ("fc1", "relu", "fc2", "add")
    assert g.flops.tolist() == [2 * b * i * h, b * h, 2 * b * h * o, b * o]
    assert g.params.tolist() == [i * h, 0, h * o, 0]
    skip = b * o * 4
    # After fc1: y1 (for relu) and the skip input; after relu: y2 + skip; after fc2: y3 + skip; after add: nothing.
    assert g.output_bytes.tolist() == [b * h * 4 + skip, b * h * 4 + skip, b * o * 4 + skip, 0]
    assert g.tp_comm_bytes.tolist() == [2 * b * h * 4, 0, 2 * b * o * 4, 0]


def test_onnx_symbolic_dims():
    m = _mlp_onnx(symbolic=True)
    with pytest.raises(ConfigError, match="unknown"):
        P.from_onnx(m)
    g = P.from_onnx(m, dims={"batch": 4})
    assert g.flops[0] == 2 * 4 * 8 * 16
    with pytest.raises(ConfigError, match="dims"):
        P.from_onnx(m, dims={"batch": 0})


def test_onnx_bad_file(tmp_path):
    pytest.importorskip("onnx")
    bad = tmp_path / "x.onnx"
    bad.write_bytes(b"not an onnx file at all")
    with pytest.raises(ConfigError, match="model"):
        P.from_onnx(str(bad))


def test_torch_builder():
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    g = P.from_torch(net, torch.zeros(4, 8))
    assert g.names == ("0", "1", "2")
    assert g.params.tolist() == [8 * 16 + 16, 0, 16 * 2 + 2]
    assert g.flops.tolist() == [2 * 4 * 16 * 8, 4 * 16, 2 * 4 * 2 * 16]
    assert g.output_bytes.tolist() == [4 * 16 * 4, 4 * 16 * 4, 4 * 2 * 4]
    with pytest.raises(ConfigError, match="forward pass failed"):
        P.from_torch(net, torch.zeros(4, 3))
    with pytest.raises(ConfigError, match="module"):
        P.from_torch("not a module", 1)


def test_torch_model_plans_end_to_end():
    torch = pytest.importorskip("torch")
    from aios_core import topology as T

    net = torch.nn.Sequential(*[torch.nn.Linear(64, 64) for _ in range(6)])
    pl = P.plan(P.from_torch(net, torch.zeros(32, 64)), T.preset("pcie-4gpu"), 4)
    assert pl.pipeline * pl.tensor * pl.data == 4
