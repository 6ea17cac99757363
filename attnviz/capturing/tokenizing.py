"""Text -> :class:`TokenSequence`: token ids, special flags, word ids and readable labels.

Labels come from the text itself through the tokenizer's character offsets, so byte-level BPE
(GPT-2, Qwen, Llama 3) shows Chinese, café and emoji as typed instead of ``çģ«è½¦``; SentencePiece ``▁``
and WordPiece ``##`` pieces read as the text they cover. Tokens without offsets (specials, slow
tokenizers, generated text) are decoded instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from transformers import PreTrainedTokenizerBase

from attnviz.errors import InputTextError
from attnviz.result import TokenSequence, Truncation, display_label

MAX_CHARS = 20_000  # longer text is cut before tokenizing: no model here reads that much


def clean_text(text: str | None, target: bool = False) -> tuple[str, int]:
    """Text ready for a tokenizer, and its length before cutting. Empty text (or target text) is an error."""
    if text is None or not str(text).strip():
        raise InputTextError(code="empty_target" if target else "empty_text")
    # NUL and lone surrogates cannot be encoded; the tokenizers would raise on them.
    text = str(text).replace("\x00", "").encode("utf-8", "replace").decode("utf-8").strip()
    if not text:
        raise InputTextError(code="empty_target" if target else "empty_text")
    return text[:MAX_CHARS], len(text)


def _decoded_label(tokenizer: PreTrainedTokenizerBase, token_id: int, token: str) -> str:
    if token_id in tokenizer.all_special_ids or token_id >= len(tokenizer):
        return token
    try:
        text = tokenizer.decode([token_id], clean_up_tokenization_spaces=False)
    except Exception:  # some slow tokenizers cannot decode a lone piece
        text = ""
    text = text.strip()
    if not text or "\ufffd" in text:  # part of a multi-byte character: its bytes, or the raw piece
        return _byte_label(token) or display_label(token)
    return text


def _byte_alphabet() -> dict[str, int]:
    """Byte-level BPE's printable stand-in for each byte (GPT-2's table): character -> byte."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            chars[chr(byte)] = byte
        else:
            chars[chr(256 + extra)] = byte
            extra += 1
    return chars


_BYTES = _byte_alphabet()


def _byte_label(token: str) -> str:
    """A byte-level piece that is only part of a character (the model wrote half of a Chinese character), as its bytes:
    ``<0xE7><0x81>``, as SentencePiece writes byte pieces, instead of the Latin-1 look-alike ``çģ``."""
    if not token or any(ch not in _BYTES for ch in token):
        return ""
    raw = bytes(_BYTES[ch] for ch in token)
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return "".join(f"<0x{b:02X}>" for b in raw)


def labels_from_offsets(
    tokenizer: PreTrainedTokenizerBase, text: str, ids: Sequence[int], tokens: Sequence[str],
    offsets: Sequence[tuple[int, int]] | None,
) -> tuple[str, ...]:
    """One readable label per token: the text it covers, else its decoded form."""
    labels = []
    for i, (token_id, token) in enumerate(zip(ids, tokens)):
        start, end = offsets[i] if offsets is not None else (0, 0)
        piece = text[start:end].strip() if end > start else ""
        labels.append(piece or _decoded_label(tokenizer, token_id, token) or "␣")
    return tuple(labels)


def tokenize(
    tokenizer: PreTrainedTokenizerBase, text: str, total_chars: int, limit: int, *, as_target: bool = False
) -> tuple[TokenSequence, Truncation]:
    key = "text_target" if as_target else "text"
    fast = getattr(tokenizer, "is_fast", False)
    # Fast tokenizers return what did not fit as extra rows, so one pass gives both the kept tokens
    # and the total count; slow ones need a second, untruncated pass (below) when the limit is hit.
    encoding = tokenizer(
        **{key: text}, truncation=True, max_length=limit, return_special_tokens_mask=True, add_special_tokens=True,
        return_overflowing_tokens=fast, return_offsets_mapping=fast,
    )
    rows = encoding["input_ids"] if fast else [encoding["input_ids"]]
    ids = list(rows[0])
    special = [bool(s) for s in (encoding["special_tokens_mask"][0] if fast else encoding["special_tokens_mask"])]
    if fast:
        word_ids = list(encoding.word_ids(0))
        offsets = [tuple(o) for o in encoding["offset_mapping"][0]]
    else:  # slow tokenizers know no words: each token is its own
        word_ids = [None if s else i for i, s in enumerate(special)]
        offsets = None
    if all(special):
        raise InputTextError(code="no_tokens")
    tokens = tuple(tokenizer.convert_ids_to_tokens(ids))
    sequence = TokenSequence(
        tokens=tokens, token_ids=tuple(ids), special=tuple(special), word_ids=tuple(word_ids),
        labels=labels_from_offsets(tokenizer, text, ids, tokens, offsets),
        offsets=tuple(offsets) if offsets is not None else (),
    )
    if fast:
        total = sum(len(row) for row in rows) - (len(rows) - 1) * tokenizer.num_special_tokens_to_add()
    elif len(ids) >= limit:  # only then can tokens have been cut: count them all
        total = len(tokenizer(**{key: text}, add_special_tokens=True)["input_ids"])
    else:
        total = len(ids)
    truncation = Truncation(len(ids), total, len(text), total_chars)
    return sequence, truncation


def _starts_word(token: str) -> bool:
    return token.startswith(("Ġ", "▁", " ")) or not token.startswith("##")


def token_labels(tokenizer: PreTrainedTokenizerBase | None, ids: Sequence[int]) -> tuple[str, ...]:
    """Readable labels of vocabulary ids, the one way attnviz writes them: each id decoded alone (byte-level BPE
    shows Chinese and café, not mojibake), a piece that is part of a character as its bytes (``<0xE7>``), an id
    the tokenizer cannot spell as ``<id N>``; without a tokenizer, the ids themselves."""
    ids = [int(i) for i in ids]
    if tokenizer is None:
        return tuple(str(i) for i in ids)
    return sequence_from_ids(tokenizer, ids).labels


def sequence_from_ids(tokenizer: PreTrainedTokenizerBase, ids: Sequence[int]) -> TokenSequence:
    """Tokens the model wrote itself (no text to cut labels from): words told apart by the pieces' markers."""
    special_ids = set(tokenizer.all_special_ids)
    # an id past the tokenizer's vocabulary (a padded embedding table) has no token: name it by its id
    tokens = tuple(t if t is not None else f"<id {i}>" for i, t in zip(ids, tokenizer.convert_ids_to_tokens(list(ids))))
    special = [i in special_ids for i in ids]
    word_ids: list[int | None] = []
    word = -1
    marker_scheme = any(t.startswith(("Ġ", "▁")) for t in tokens)  # byte-level BPE or SentencePiece
    for token, is_special in zip(tokens, special):
        if is_special:
            word_ids.append(None)
            continue
        new_word = word < 0 or (token.startswith(("Ġ", "▁")) if marker_scheme else _starts_word(token))
        word += new_word
        word_ids.append(word)
    labels = tuple(_decoded_label(tokenizer, i, t) for i, t in zip(ids, tokens))
    return TokenSequence(tokens, tuple(ids), tuple(special), tuple(word_ids), labels)
