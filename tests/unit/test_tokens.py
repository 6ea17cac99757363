"""Readable labels for every tokenizer kind, and word ids on both sides of an encoder-decoder.

Tokenizers are trained here on mixed English/Chinese text, so the tests need no download.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import transformers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

from attnviz import capture, load_model
from attnviz.analysis.tokens import group_label, word_groups
from attnviz.analysis.view import ViewOptions, build_view
from attnviz.capturing.tokenizing import tokenize

CORPUS = ["the train left the station on time", "火车 准时 驶出 车站", "a café by the station",
          "the teacher saw a book 老师 看见 书", "emoji 🚆 and 火车 go together", "unbelievable tokenization"] * 20
TEXT = "火车 left the café 🚆 unbelievable"


def _byte_level_bpe() -> transformers.PreTrainedTokenizerFast:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=True)
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(CORPUS, trainer)
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|endoftext|>",
                                                bos_token="<|endoftext|>", pad_token="<|endoftext|>")


def _sentencepiece_style() -> transformers.PreTrainedTokenizerFast:
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=120, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>")
    tokenizer.train_from_iterator(CORPUS, trainer)
    tokenizer.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[
        ("</s>", tokenizer.token_to_id("</s>"))])
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="</s>", pad_token="<pad>",
                                                unk_token="<unk>")


def _wordpiece() -> transformers.PreTrainedTokenizerFast:
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=False)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=200, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]"])
    tokenizer.train_from_iterator(CORPUS, trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", tokenizer.token_to_id("[CLS]")),
                                                  ("[SEP]", tokenizer.token_to_id("[SEP]"))])
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]",
                                                cls_token="[CLS]", sep_token="[SEP]")


TOKENIZERS = {"byte-level-bpe": _byte_level_bpe, "sentencepiece": _sentencepiece_style, "wordpiece": _wordpiece}


@pytest.mark.parametrize("kind", list(TOKENIZERS))
def test_labels_read_as_typed(kind):
    tokenizer = TOKENIZERS[kind]()
    seq, _ = tokenize(tokenizer, TEXT, len(TEXT), 64)
    words = [group_label(seq, group) for group in word_groups(seq, [i for i, s in enumerate(seq.special) if not s])]
    chinese = ["火", "车"] if kind == "wordpiece" else ["火车"]  # BERT's pre-tokenizer makes each CJK character a word
    assert all(word in words for word in [*chinese, "café", "unbelievable", "🚆"]), words
    for label in seq.labels:
        assert not any(mark in label for mark in ("Ġ", "▁", "##", "Ã", "ç")), seq.labels


def test_byte_level_pieces_of_one_character_both_show_it():
    tokenizer = _byte_level_bpe()
    seq, _ = tokenize(tokenizer, "🚆", 1, 64)
    assert len(seq) >= 2  # four bytes, a rare emoji: several tokens
    assert set(seq.labels) == {"🚆"}
    assert group_label(seq, list(range(len(seq)))) == "🚆"


@pytest.fixture(scope="module")
def byte_level_gpt2_dir(tmp_path_factory):
    tokenizer = _byte_level_bpe()
    config = transformers.GPT2Config(n_embd=32, n_layer=2, n_head=4, n_positions=64, vocab_size=len(tokenizer),
                                     bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("bpe-gpt2")
    transformers.GPT2LMHeadModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def byte_level_gpt2(byte_level_gpt2_dir):
    return load_model(str(byte_level_gpt2_dir))


def test_a_byte_level_model_shows_chinese_in_its_heatmap(byte_level_gpt2):
    result = capture(byte_level_gpt2, TEXT)
    view = build_view(result, "decoder", 0, [0], options=ViewOptions(hide_special=False, merge_subwords=True))
    assert "火车" in view.row_labels and "café" in view.row_labels
    np.testing.assert_allclose(view.matrix.sum(-1), 1.0, atol=1e-5)


def test_decoder_side_keeps_word_ids_for_merging(tiny_models):
    """Teacher-forced targets keep their words, so merging works on decoder and cross rows too."""
    loaded = tiny_models["bart"]
    result = capture(loaded, "the teacher saw a book", target="老师 看见 书")
    assert result.decoder_input.special[0] and result.decoder_input.word_ids[0] is None  # the start token
    assert [w for w in result.decoder_input.word_ids if w is not None] == [0, 1, 2]
    assert [w for w in result.output_tokens.word_ids if w is not None] == [0, 1, 2]
    view = build_view(result, "cross", 0, [0], options=ViewOptions(merge_subwords=True))
    assert view.row_labels == ("老师", "看见", "书")


def test_generated_targets_get_word_ids_from_the_pieces(tiny_models):
    result = capture(tiny_models["bart"], "the teacher saw a book", max_new_tokens=4)
    assert result.target_generated
    words = [w for w in result.decoder_input.word_ids if w is not None]
    reads = result.decoder_input
    assert words == sorted(words) and all(w is not None for w, s in zip(reads.word_ids, reads.special)
                                          if not s)


MIXED = "火车 left café 🚂"


def _readable(labels) -> bool:
    """No byte-level BPE mojibake (Ġ for a space, Ã©/çģ« for UTF-8 bytes shown as Latin-1)."""
    return all(not any(mark in label for mark in ("Ġ", "Ã", "ç", "ð", "Á")) for label in labels)


def _exported(path):
    from attnviz.export import load_npz

    return json.loads(path.read_text("utf-8")) if path.suffix == ".json" else load_npz(path.read_bytes())[0]


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_exports_carry_the_labels_as_typed_beside_raw_pieces_and_ids(byte_level_gpt2_dir, byte_level_gpt2, tmp_path,
                                                                     suffix):
    """``attnviz capture --out`` and the app's "All layers" downloads (the same result_to_json / result_to_npz)."""
    from attnviz.cli import main
    from attnviz.export import result_to_json, result_to_npz

    out = tmp_path / f"r{suffix}"
    assert main(["capture", "--model", str(byte_level_gpt2_dir), "--text", MIXED, "--out", str(out)]) == 0
    result = capture(byte_level_gpt2, MIXED)
    in_app = tmp_path / f"app{suffix}"
    in_app.write_bytes(result_to_json(result) if suffix == ".json" else result_to_npz(result))
    for metadata in (_exported(out), _exported(in_app)):
        source = metadata["source"]
        # as typed: the pieces of one character share its label; a lone space piece reads ␣
        assert "".join(dict.fromkeys(source["labels"])).replace("␣", "") == "火车leftcafé🚂"
        assert _readable(source["labels"]) and not _readable(source["tokens"])  # the raw pieces are there too
        assert source["tokens"] == list(result.source.tokens)
        assert source["token_ids"] == list(result.source.token_ids)
        assert len(source["offsets"]) == len(source["labels"]) == len(source["token_ids"])
        assert "produced" not in metadata
        written = metadata["output_tokens"]  # the model's guess after each token, readable too
        assert written["token_ids"] == list(result.output_tokens.token_ids)
        assert written["labels"] == list(result.output_tokens.labels) and _readable(written["labels"])
        assert {"labels", "tokens", "token_ids"} <= set(metadata["fields"])  # the file says what each list holds
