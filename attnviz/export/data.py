"""Attention results and single maps as bytes: NPZ, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence

import numpy as np

from attnviz.result import AttentionResult, TokenSequence


def file_stem(*parts: object) -> str:
    """A file name without extension made of ``parts`` that is safe on every OS: ``minilm_L2_H5``."""
    joined = "_".join(str(p) for p in parts if p is not None and str(p) != "")
    cleaned = re.sub(r"[^A-Za-z0-9._-]+|\.{2,}", "-", joined)
    return (re.sub(r"-{2,}", "-", cleaned).strip("-._") or "attention")[:120]


def safe_filename(*parts: object, extension: str) -> str:
    """:func:`file_stem` with an extension: ``minilm_L2_H5.png``."""
    return f"{file_stem(*parts)}.{extension.lstrip('.')}"


# What each token list holds: written into every export so the file explains itself.
TOKEN_FIELDS = {
    "labels": "each token as it reads: the text it covers as typed (Chinese, café), else its decoded form",
    "tokens": "the tokenizer's raw pieces (byte-level BPE shows 'Ġleft', 'çģ«' ...)",
    "token_ids": "the tokenizer's ids",
    "special": "true for tokens the tokenizer added ([CLS], </s> ...)",
    "word_ids": "index of the word each token belongs to; null for special tokens",
    "offsets": "[start, end) characters of the typed text each token covers; [0, 0] if none",
}


def _tokens_dict(seq: TokenSequence) -> dict:
    return {
        "labels": list(seq.labels),
        "tokens": list(seq.tokens),
        "token_ids": list(seq.token_ids),
        "special": list(seq.special),
        "word_ids": list(seq.word_ids),
        "offsets": [list(span) for span in seq.offsets],
    }


def result_metadata(result: AttentionResult) -> dict:
    shape = result.shape
    return {
        "model": result.model_name,
        "family": shape.family,
        "shape": {
            "n_layers": dict(shape.n_layers), "n_heads": shape.n_heads, "n_kv_heads": shape.n_kv_heads,
            "head_dim": shape.head_dim, "d_model": shape.d_model, "max_tokens": shape.max_tokens,
            "heads_per_layer": {kind: list(layout.heads) for kind, layout in shape.layout.items()},
        },
        "capture_path": shape.capture_path,
        "source": _tokens_dict(result.source),  # what the encoder (or a decoder-only model) reads
        # what an encoder-decoder's decoder reads (the target shifted right behind the start token)
        "target": _tokens_dict(result.decoder_input) if result.decoder_input else None,
        # row i's token written: an encoder-decoder's target, a decoder's greedy guess of the next token
        "output_tokens": _tokens_dict(result.output_tokens) if result.output_tokens else None,
        "fields": TOKEN_FIELDS,
        "layers": {kind: list(ls) for kind, ls in result.layers.items()},
        "axes": ["layer", "head", "query", "key"],
        "truncated": result.truncated,
        "target_generated": result.target_generated,
        "notes": list(result.notes),
    }


def arrays_to_npz(arrays: dict[str, np.ndarray]) -> bytes:
    """Named arrays as one compressed NPZ file (a derivation's every matrix, for example)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def result_to_npz(result: AttentionResult) -> bytes:
    """Arrays ``encoder``/``decoder``/``cross`` as float32 plus a ``metadata`` JSON string."""
    buffer = io.BytesIO()
    arrays = {kind: array.astype(np.float32) for kind, array in result.arrays.items()}
    np.savez_compressed(buffer, metadata=np.array(json.dumps(result_metadata(result), ensure_ascii=False)), **arrays)
    return buffer.getvalue()


def result_to_json(result: AttentionResult, decimals: int = 6) -> bytes:
    payload = result_metadata(result)
    payload["attention"] = {kind: np.round(array, decimals).tolist() for kind, array in result.arrays.items()}
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def matrix_to_csv(matrix: np.ndarray, query_labels: Sequence[str], key_labels: Sequence[str]) -> bytes:
    """One attention map as CSV: a header of key tokens, one row per query token.

    Cells that start like a formula are prefixed with ' so spreadsheets show them as text.
    """
    def cell(text: str) -> str:
        return "'" + text if text[:1] in ("=", "+", "-", "@") else text

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["query \\ key", *(cell(k) for k in key_labels)])
    for label, row in zip(query_labels, matrix):
        writer.writerow([cell(label), *(f"{v:.6f}" for v in row)])
    return buffer.getvalue().encode("utf-8-sig")  # BOM: Excel then reads Chinese correctly


def matrix_to_json(matrix: np.ndarray, query_labels: Sequence[str], key_labels: Sequence[str], **context) -> bytes:
    payload = {**context, "query_tokens": list(query_labels), "key_tokens": list(key_labels),
               "weights": np.round(matrix, 6).tolist()}
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def load_npz(data: bytes | str) -> tuple[dict, dict[str, np.ndarray]]:
    """Read back what :func:`result_to_npz` wrote: (metadata, arrays)."""
    with np.load(io.BytesIO(data) if isinstance(data, bytes) else data, allow_pickle=False) as npz:
        metadata = json.loads(str(npz["metadata"]))
        return metadata, {k: npz[k] for k in npz.files if k != "metadata"}
