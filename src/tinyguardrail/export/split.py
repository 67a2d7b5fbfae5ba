"""Split the fast graph's character CNN into a graph of its own, so the runtime can cache its output per token.

The exported fast graph runs the character CNN once per distinct token of a call (``CharCNN.dedup_eval``):

    char_ids [B,T,C] -> Unique -> rows [U,C] -> CNN + projection -> [U,D] -> Gather(inverse) -> [B,T,D] -> embedding

Cut at the two ends of the per-token part, the graph becomes

    char.onnx   input  char_ids int64 [U,C]     (distinct tokens' character ids)
                output char_vecs float32 [U,D]
    fast.onnx   inputs input_ids, attention_mask, char_vecs float32 [B,T,D], detector_feats  (outputs unchanged)

with exactly the same arithmetic. A token's character vector depends only on its characters, so the runtime keeps
the vectors of the tokens it has seen (``runtime.guard.CharVectors``) and runs ``char.onnx`` on new ones only.
Works on fp32 and quantized graphs alike (the cut follows the node structure, not operator types of the CNN).
"""

from __future__ import annotations

from pathlib import Path

from tinyguardrail.artifact import CHAR_INPUT, CHAR_OUTPUT


def char_boundary(model) -> tuple[str, str, str]:
    """Names of (distinct rows [U,C], their vectors [U,D], the gathered vectors [B,T,D]) in a fast graph.

    Raises ``ValueError`` when the graph has no per-distinct-token character CNN (e.g. a model without one, or
    one exported with ``CharCNN.dedup_eval`` off).
    """
    nodes = list(model.graph.node)
    consumers: dict[str, list] = {}
    for n in nodes:
        for name in n.input:
            consumers.setdefault(name, []).append(n)
    uniques = [n for n in nodes if n.op_type == "Unique"]
    if len(uniques) != 1 or len(uniques[0].output) < 3:
        raise ValueError(f"expected one Unique node (the character CNN's) in the fast graph, found {len(uniques)}")
    rows, inverse = uniques[0].output[0], uniques[0].output[2]

    def only(name: str, op: str, role: str):
        found = [n for n in consumers.get(name, []) if n.op_type == op]
        if len(found) != 1:
            raise ValueError(f"fast graph: expected one {op} consuming {role} ({name}), found {len(found)}")
        return found[0]

    flat_inverse = only(inverse, "Reshape", "the inverse indices")
    gather = only(flat_inverse.output[0], "Gather", "the flattened inverse indices")
    gathered = only(gather.output[0], "Reshape", "the gathered vectors")
    return rows, gather.input[0], gathered.output[0]


def _check_closed(model, role: str) -> None:
    """Every tensor a node reads is a graph input, an initializer or another node's output (else the cut is wrong)."""
    g = model.graph
    have = {v.name for v in g.input} | {t.name for t in g.initializer} | {o for n in g.node for o in n.output}
    missing = sorted({i for n in g.node for i in n.input if i and i not in have})
    if missing:
        raise ValueError(f"the {role} graph cut from the fast graph reads tensors it does not have: {missing[:5]}")


def _rename(model, old: str, new: str) -> None:
    g = model.graph
    for n in g.node:
        for i, name in enumerate(n.input):
            if name == old:
                n.input[i] = new
        for i, name in enumerate(n.output):
            if name == old:
                n.output[i] = new
    for v in list(g.input) + list(g.output) + list(g.value_info):
        if v.name == old:
            v.name = new


def _load_typed(path: str | Path, d_model: int, max_chars: int):
    """The graph at ``path``, its boundary names, and an ``Extractor`` (the cut tensors declared with their types)."""
    import onnx
    from onnx.utils import Extractor

    model = onnx.load(str(path))
    rows, row_vecs, vecs = char_boundary(model)
    elem = onnx.TensorProto
    known = {v.name for v in model.graph.value_info}
    for name, el, shape in ((rows, elem.INT64, ["U", max_chars]), (row_vecs, elem.FLOAT, ["U", d_model]),
                            (vecs, elem.FLOAT, ["B", "T", d_model])):  # fmt: skip
        if name not in known:
            model.graph.value_info.append(onnx.helper.make_tensor_value_info(name, el, shape))
    return model, (rows, row_vecs, vecs), Extractor(model)


def split_fast_graph(src: str | Path, char_dst: str | Path, fast_dst: str | Path, fast_inputs, fast_outputs,
                     d_model: int, max_chars: int, char_src: str | Path | None = None) -> None:  # fmt: skip
    """Write ``char_dst`` and ``fast_dst`` cut from the fast graph ``src`` (see the module docstring).

    ``char_src``: take the character graph from this fast graph instead (the shipped model cuts it from the fp32
    graph: each token's vector is then exact and independent of the other tokens of a call, which the INT8-dynamic
    graph's per-call activation scales are not; it runs only on tokens the cache has not seen).
    """
    import onnx

    def cut(path, inputs_of, outputs_of, role: str, renames):
        model, names, ex = _load_typed(path, d_model, max_chars)
        part = ex.extract_model(inputs_of(names), outputs_of(names))
        _check_closed(part, role)
        for index, new in renames:
            _rename(part, names[index], new)
        del part.opset_import[:]
        part.opset_import.extend(model.opset_import)
        part.ir_version = model.ir_version
        return part

    # names = (distinct rows, their vectors, the gathered vectors)
    char = cut(char_src or src, lambda n: [n[0]], lambda n: [n[1]], "char", [(0, CHAR_INPUT), (1, CHAR_OUTPUT)])
    char.graph.name = "tinyguardrail_char"
    fast = cut(src, lambda n: [x if x != "char_ids" else n[2] for x in fast_inputs], lambda n: list(fast_outputs),
               "fast", [(2, CHAR_OUTPUT)])  # fmt: skip
    onnx.save(char, str(char_dst))
    onnx.save(fast, str(fast_dst))
