"""Word-level tokenizers for the toy models, built with `tokenizers` and saved beside each model.

English is split on white space; Chinese, which has no spaces, is split by longest match against
the grammar's Chinese words, so a Chinese sentence typed with or without spaces between words tokenizes alike.
Words outside the grammar become ``<unk>``.
"""

from __future__ import annotations

from typing import Literal

from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import WordLevel
from tokenizers.processors import TemplateProcessing
from transformers import PreTrainedTokenizerFast

from attnviz.toy.grammar import chinese_vocabulary, english_vocabulary

PAD, BOS, EOS, UNK = "<pad>", "<s>", "</s>", "<unk>"
SPECIAL_TOKENS = [PAD, BOS, EOS, UNK]

# "translator": encoder input "w1 w2 </s>" (T5/Marian style; the decoder starts from <s>).
# "lm": "<s> w1 w2" so the first word is itself predicted from <s>.
TokenizerKind = Literal["translator", "lm"]


def vocabulary() -> list[str]:
    return SPECIAL_TOKENS + english_vocabulary() + chinese_vocabulary()


def build_tokenizer(kind: TokenizerKind) -> PreTrainedTokenizerFast:
    words = vocabulary()
    ids = {w: i for i, w in enumerate(words)}
    tok = Tokenizer(WordLevel(vocab=ids, unk_token=UNK))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    chinese = sorted(chinese_vocabulary(), key=len, reverse=True)  # longest match first
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex("|".join(chinese)), behavior="isolated"), pre_tokenizers.Whitespace()]
    )
    if kind == "translator":
        tok.post_processor = TemplateProcessing(single=f"$A {EOS}", special_tokens=[(EOS, ids[EOS])])
    else:
        tok.post_processor = TemplateProcessing(single=f"{BOS} $A", special_tokens=[(BOS, ids[BOS])])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=EOS, unk_token=UNK, pad_token=PAD, model_max_length=64
    )
