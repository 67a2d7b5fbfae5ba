"""Tokenizers for randomly initialised models (pretrained ones bring their own, see ``model.pretrained``).

A model's tokenizer is always a ``tokenizers.Tokenizer`` saved as ``tokenizer.json`` next to the weights; its
post-processor adds the special tokens, which is what ``tinyguardrail.features.encode_batch`` expects.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")  # [PAD] gets id 0
_PAD_CANDIDATES = ("[PAD]", "<pad>")


def train_tokenizer(texts: Iterable[str], vocab_size: int = 8000, lowercase: bool = True) -> Tokenizer:
    """Train a subword tokenizer on ``texts``: BERT normalizer and pre-tokenizer, BPE model.

    BPE without a continuing-subword prefix is used because it trains deterministically (ties broken by piece
    order); the library's WordPiece trainer (BPE with a ``##`` prefix) picks a different vocabulary from run to run,
    which would make identical configs give different models.

    Args:
        texts: training texts (already normalized).
        vocab_size: target vocabulary size, special tokens included.
        lowercase: lowercase and strip accents before splitting (the character CNN still sees the original case,
            since character ids come from the token offsets in the original text).

    Returns:
        a tokenizer with ``[PAD]`` = 0 whose post-processor wraps every text as ``[CLS] ... [SEP]``.
    """
    from tokenizers import models, normalizers, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=lowercase, lowercase=lowercase
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=2, special_tokens=list(SPECIAL_TOKENS), show_progress=False
    )
    tok.train_from_iterator(texts, trainer=trainer)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return tok


def load_tokenizer(path: str | Path) -> Tokenizer:
    """Load ``tokenizer.json`` (a file, or a directory holding one); fails loudly if missing."""
    path = Path(path)
    if path.is_dir():
        path = path / "tokenizer.json"
    if not path.is_file():
        raise FileNotFoundError(f"tokenizer not found: {path}")
    return Tokenizer.from_file(str(path))


def pad_id(tokenizer: Tokenizer) -> int:
    """Id of the tokenizer's padding token ([PAD] or <pad>); raises if it has none."""
    for tok in _PAD_CANDIDATES:
        i = tokenizer.token_to_id(tok)
        if i is not None:
            return int(i)
    raise ValueError(f"tokenizer has no padding token (looked for {_PAD_CANDIDATES})")
