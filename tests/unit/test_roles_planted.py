"""Proof on heads whose role is known in advance: planted weights, and a random model with no roles.

The planted model is a GPT-2 whose embeddings are one-hot (position in dims 0..15, token in 16..47) and
whose layer-0 Q/K weights are written by hand so that head 0 looks at the previous position, head 1 at
position 0, head 2 at itself, and head 3 at earlier copies of its own token. Layer 1 has Q = K = 0, so
its heads spread attention evenly (no role but "broad").
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers
from tokenizers import Tokenizer, pre_tokenizers
from tokenizers.models import WordLevel

from attnviz import capture, load_model
from attnviz.roles import TokenFacts, corpus_role_scores, head_roles, role_badges, run_probe, score_self_attention

N_POS, N_TOK, HEAD_DIM, N_HEADS = 16, 32, 48, 4
SCALE = 4.0
WORDS = ["<pad>", "<unk>"] + [f"w{i}" for i in range(N_TOK - 2)]
PLANTED = {(0, 0): "previous", (0, 1): "first", (0, 2): "self", (0, 3): "duplicate"}


def _planted_gpt2(folder) -> None:
    d = HEAD_DIM * N_HEADS
    config = transformers.GPT2Config(vocab_size=N_TOK, n_positions=N_POS, n_embd=d, n_layer=2, n_head=N_HEADS,
                                     n_inner=4, pad_token_id=0, bos_token_id=None, eos_token_id=None)
    model = transformers.GPT2LMHeadModel(config)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        for block in model.transformer.h:
            block.ln_1.weight.fill_(1.0)
            block.ln_2.weight.fill_(1.0)
        model.transformer.ln_f.weight.fill_(1.0)
        for p in range(N_POS):
            model.transformer.wpe.weight[p, p] = 1.0
        for t in range(N_TOK):
            model.transformer.wte.weight[t, N_POS + t] = 1.0
        w = model.transformer.h[0].attn.c_attn.weight  # Conv1D: [in, 3 * d] = q | k | v
        b = model.transformer.h[0].attn.c_attn.bias
        q0, k0 = 0, d  # column offsets of Q and K

        def col(block_start, head, i):
            return block_start + head * HEAD_DIM + i

        for p in range(N_POS):
            # head 0: query at p matches key at p - 1
            w[p, col(q0, 0, p)] = SCALE
            if p + 1 < HEAD_DIM:
                w[p, col(k0, 0, p + 1)] = SCALE
            # head 2: query at p matches key at p
            w[p, col(q0, 2, p)] = SCALE
            w[p, col(k0, 2, p)] = SCALE
            # head 3: same position is pushed away (a token's own copy does not count)
            w[p, col(q0, 3, N_TOK + p)] = SCALE
            w[p, col(k0, 3, N_TOK + p)] = -SCALE
        # head 1: a constant query against a key that is large at position 0 only
        b[col(q0, 1, 0)] = 10.0
        w[0, col(k0, 1, 0)] = SCALE
        for t in range(N_TOK):  # head 3: query token t matches key token t
            w[N_POS + t, col(q0, 3, t)] = SCALE
            w[N_POS + t, col(k0, 3, t)] = SCALE
    model.save_pretrained(folder)
    tok = Tokenizer(WordLevel(vocab={w_: i for i, w_ in enumerate(WORDS)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>",
                                         model_max_length=N_POS).save_pretrained(folder)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("planted-gpt2")
    _planted_gpt2(folder)
    return load_model(str(folder))


def test_planted_heads_are_named_and_no_others(planted):
    result = capture(planted, " ".join(f"w{i}" for i in range(3, 15)))
    report = head_roles(result, probe=run_probe(planted, span=7, batch=4, seed=1))
    badges = role_badges(report, "decoder")
    for key, role in PLANTED.items():
        assert badges[key] == role, (key, report.of("decoder", *key))
    for (layer, head), role in badges.items():
        if (layer, head) not in PLANTED:
            assert role in ("none", "broad"), (layer, head, report.of("decoder", layer, head))
    assert report.evidence["induction"] == "probe"
    assert report.of("decoder", 0, 0).scores["previous"] > 0.95
    assert report.of("decoder", 0, 1).scores["first"] > 0.95
    # the sink head has no spurious secondary role from its near-zero remainder
    assert report.of("decoder", 0, 1).roles == ("first",)


def test_duplicate_head_is_found_in_typed_text_too(planted):
    result = capture(planted, "w3 w4 w5 w6 w3 w4 w5 w6")
    report = head_roles(result)
    assert "duplicate" in report.of("decoder", 0, 3).roles
    assert report.evidence["duplicate"] == "text"


def test_no_role_when_the_score_does_not_beat_the_shuffled_baseline():
    # A uniform causal map: every linear score equals its baseline, so no role may hold.
    n = 6
    facts = TokenFacts(tuple(range(10, 10 + n)), (False,) * n, causal=True)
    allowed = np.tril(np.ones((n, n)))
    maps = (allowed / allowed.sum(1, keepdims=True))[None, None].astype(np.float32)
    from attnviz.roles import baselines, heads_from_scores

    heads = heads_from_scores("decoder", [0], score_self_attention(maps, facts), baselines(facts))
    assert heads[0].roles in ((), ("broad",))
    assert all(r == "broad" for r in heads[0].roles)


def test_sink_does_not_swamp_the_previous_token_role():
    # 80 % on position 0, 20 % on the previous token: both roles are reported, previous first.
    n = 10
    m = np.zeros((n, n), np.float32)
    m[0, 0] = 1
    for i in range(1, n):
        m[i, 0] += 0.8
        m[i, i - 1] += 0.2
    facts = TokenFacts(tuple(range(n)), (False,) * n, causal=True)
    from attnviz.roles import baselines, heads_from_scores

    head = heads_from_scores("decoder", [0], score_self_attention(m[None, None], facts), baselines(facts))[0]
    assert head.roles == ("previous", "first")
    assert head.primary == "previous"


def test_corpus_scores_equal_single_text_scores_for_one_text(planted):
    result = capture(planted, "w3 w4 w5 w6 w3 w4 w5 w6")
    facts = TokenFacts(result.source.token_ids, result.source.special, causal=True)
    single = score_self_attention(result.arrays["decoder"], facts)
    corpus = corpus_role_scores([(result.arrays["decoder"], facts)] * 3, kind="decoder")
    for role in ("previous", "first", "duplicate", "broad"):
        np.testing.assert_allclose(corpus.scores[role], single[role], atol=1e-5)
    assert corpus.n_texts == 3
    assert {(h.layer, h.head): h.primary for h in corpus.heads()}[(0, 0)] == "previous"


def test_null_model_has_no_roles_but_broad(tmp_path):
    """A randomly initialised BERT of MiniLM's shape: >= 90 % of heads get nothing but "broad"."""
    config = transformers.BertConfig(vocab_size=2000, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                                     intermediate_size=1536, max_position_embeddings=512)
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(tmp_path)
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(1995)]
    tok = Tokenizer(WordLevel(vocab={w_: i for i, w_ in enumerate(words)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    from tokenizers.processors import TemplateProcessing

    tok.post_processor = TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                         cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                         model_max_length=512).save_pretrained(tmp_path)
    loaded = load_model(str(tmp_path))
    result = capture(loaded, " ".join(f"w{i}" for i in range(10, 60)))
    report = head_roles(result, probe=run_probe(loaded))
    assert len(report.heads) == 72
    quiet = [h for h in report.heads if set(h.roles) <= {"broad"}]
    assert len(quiet) >= 0.9 * 72, [(h.layer, h.head, h.roles) for h in report.heads if h.roles]
