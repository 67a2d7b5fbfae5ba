"""The last step of the front end, shared by training, export, evaluation and the runtime.

text -> (normalized text) -> tokenizer ids + per-token character ids + pattern-detector features.
``preprocess.py`` puts the steps in order (sanitize, normalize, detector scores); this module turns
already-normalized texts into fixed-shape NumPy arrays, the exact inputs of the model and of its ONNX graphs:

    input_ids       int64   [B, T]     token ids (T <= max_len), padded with pad_id
    attention_mask  int64   [B, T]     1 for real tokens
    char_ids        int64   [B, T, C]  character ids of each token's surface text (C = max_chars), 0 = pad
    detector_feats  float32 [B, F]     pattern-detector scores in [0, 1] (F = len(DETECTOR_NAMES))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

#: Size of the character vocabulary: 0 pad, 1..255 Latin-1 code points + 1, the rest hashed.
CHAR_VOCAB = 1024


def sanitize(text: str) -> str:
    """Lone surrogates (which no UTF-8 encoder or tokenizer accepts) -> U+FFFD, valid pairs kept, length preserved:
    the first step of the front end, for training, export, evaluation, the runtime and the explainer alike. A text
    that needs no change is returned as the same object (``sanitize(t) is not t`` tells that one was replaced)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def text_char_ids(text: str) -> np.ndarray:
    """Character id of every character of ``text`` in [1, CHAR_VOCAB): Latin-1 keeps exact ids (code point + 1), other
    code points share hashed buckets (lone surrogates included). Shape [len(text)]."""
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64)
    return np.where(cps < 255, cps + 1, 256 + (cps * 2654435761) % (CHAR_VOCAB - 256))


def token_char_ids(text: str, offsets: Sequence[tuple[int, int]], max_chars: int) -> np.ndarray:
    """Character ids of each token's span in ``text``, truncated / zero-padded to ``max_chars``. Shape [T, C]."""
    if len(offsets) == 0:
        return np.zeros((0, max_chars), dtype=np.int64)
    ids = np.concatenate([text_char_ids(text), np.zeros(1, dtype=np.int64)])  # index len(text): the pad id 0
    spans = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    pos = spans[:, :1] + np.arange(max_chars, dtype=np.int64)  # (T, C) character positions
    inside = pos < np.minimum(spans[:, 1:], len(text))
    return ids[np.where(inside, pos, len(text))]


def tokenize(tokenizer, texts: Sequence[str], max_len: int) -> list:
    """The tokenizer's encodings of ``texts`` as :func:`encode_batch` makes them: special tokens added, truncated to
    ``max_len``, unpadded."""
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_len)
    return tokenizer.encode_batch(list(texts))


def encode_batch(
    tokenizer,
    texts: Sequence[str],
    max_len: int,
    max_chars: int,
    detector_fn: Callable[[str], np.ndarray] | None,
    pad_id: int = 0,
    detector_feats: np.ndarray | None = None,
    encodings: Sequence | None = None,
    with_chars: bool = True,
) -> dict[str, np.ndarray]:
    """Encode normalized ``texts`` for the model.

    Args:
        tokenizer: a ``tokenizers.Tokenizer`` whose post-processor adds the special tokens (CLS/SEP or <s>/</s>).
        texts: normalized texts (one window each; windowing happens in the runtime before this call).
        max_len: maximum tokens per text, special tokens included; longer texts are truncated.
        max_chars: characters kept per token for the character CNN.
        detector_fn: text -> float32 vector of pattern-detector scores (``text.detectors.feature_vector``),
            applied to ``texts``; ignored when ``detector_feats`` is given.
        pad_id: id used to pad ``input_ids``.
        detector_feats: precomputed detector scores [B, F]. Training and the runtime compute them on the RAW text
            (before normalization), because normalizing removes the evidence of invisible characters, homoglyphs
            and hidden markup that those detectors look for.
        encodings: the tokenizer's encodings of ``texts``, when the caller already has them (made by
            :func:`tokenize` or with the same truncation); ``tokenizer`` is not called then.
        with_chars: build ``char_ids`` (False: leave the key out, for a runtime that feeds cached character vectors).

    Returns:
        dict with ``input_ids``, ``attention_mask``, ``char_ids``, ``detector_feats`` (see module docstring);
        T is the longest encoded text of the batch (dynamic padding), at most ``max_len``.
    """
    if len(texts) == 0:
        raise ValueError("encode_batch needs at least one text")
    if encodings is None:
        encodings = tokenize(tokenizer, texts, max_len)
    elif len(encodings) != len(texts):
        raise ValueError(f"{len(encodings)} encodings for {len(texts)} texts")
    width = max(1, max(len(e.ids) for e in encodings))
    batch = len(texts)
    input_ids = np.full((batch, width), pad_id, dtype=np.int64)
    attention_mask = np.zeros((batch, width), dtype=np.int64)
    char_ids = np.zeros((batch, width, max_chars), dtype=np.int64) if with_chars else None
    for i, (text, enc) in enumerate(zip(texts, encodings, strict=True)):
        n = len(enc.ids)
        input_ids[i, :n] = enc.ids
        attention_mask[i, :n] = 1
        if char_ids is not None:
            char_ids[i, :n] = token_char_ids(text, enc.offsets, max_chars)
    if detector_feats is None:
        if detector_fn is None:
            raise ValueError("encode_batch needs detector_fn or detector_feats")
        detector_feats = np.stack([np.asarray(detector_fn(t), dtype=np.float32) for t in texts])
    detector_feats = np.asarray(detector_feats, dtype=np.float32)
    if detector_feats.shape[0] != batch:
        raise ValueError(f"detector_feats has {detector_feats.shape[0]} rows for {batch} texts")
    out = {"input_ids": input_ids, "attention_mask": attention_mask}
    if char_ids is not None:
        out["char_ids"] = char_ids
    out["detector_feats"] = detector_feats
    return out
