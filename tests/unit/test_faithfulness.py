"""Faithfulness: integrated gradients' completeness, occlusion against a one-token-at-a-time loop run on token
ids (not through Captum or the embedding path), Spearman against scipy, attention rows against the capture, on
the built-in models and a tiny model of each family from the architecture matrix."""

import json

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from attnviz import AttnvizError, capture, load_model
from attnviz.cli import main
from attnviz.explain.flow import rollout
from attnviz.faithfulness import OutputChoice, faithfulness, spearman
from attnviz.faithfulness import attention_rows as rows_module
from attnviz.faithfulness.outputs import blank_token_id
from tests.architectures import build

MINILM_TEXT = "The train left the station on time"


def _model_output(loaded, ids, run, direction=None):
    """The output as the model computes it from token ids, without attnviz's embedding path."""
    ids = torch.tensor(ids)
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    if loaded.family == "encoder-decoder":
        inputs["decoder_input_ids"] = torch.tensor([run.decoder_ids] * len(ids))
    with torch.no_grad():
        out = loaded.model(**inputs, use_cache=False)
    kind = run.output.kind
    if kind in ("next_token", "target_token"):
        return torch.log_softmax(out.logits[:, run.output.position].double(), -1)[:, run.output.token_id].numpy()
    hidden = out.last_hidden_state.double()
    state = hidden.mean(1) if kind == "sentence_mean" else hidden[:, 0]
    return (state @ direction).numpy() if direction is not None else state


class _Run:
    def __init__(self, loaded, text, output=None, target=None, steps=64):
        self.result = capture(loaded, text, target=target)
        self.decoder_ids = list(self.result.decoder_input.token_ids) if self.result.decoder_input is not None else None
        self.faith = faithfulness(loaded, text, target, OutputChoice(output), steps=steps)
        self.output = self.faith.output


def _check_completeness_and_occlusion(loaded, text, output=None, target=None, steps=64):
    run = _Run(loaded, text, output, target, steps)
    faith = run.faith
    ids = list(run.result.source.token_ids)
    assert tuple(ids) == faith.tokens.token_ids
    direction = None
    if run.output.kind in ("sentence_mean", "cls"):
        state = _model_output(loaded, [ids], run)[0]
        direction = state / state.norm()
    value = _model_output(loaded, [ids], run, direction)[0]
    assert value == pytest.approx(faith.output.value, abs=1e-4)  # the embedding path is the model's own output
    blank = blank_token_id(loaded)
    special = run.result.source.special  # the blank input keeps [CLS], </s> ... and blanks every other token
    blank_value = _model_output(loaded, [[i if s else blank for i, s in zip(ids, special)]], run, direction)[0]
    assert blank_value == pytest.approx(faith.baseline_value, abs=1e-4)
    # completeness: the attributions add up to f(E) − f(B) within Captum's reported convergence delta
    gap = faith.scores["integrated_gradients"].sum() - (value - blank_value)
    assert abs(gap) <= abs(faith.ig_delta) + 1e-4
    assert abs(faith.ig_delta) <= 0.05 * abs(value - blank_value) + 1e-3
    # occlusion: one forward pass per token, each with that token replaced by the blank token
    occluded = [ids[:i] + [blank] + ids[i + 1:] for i in range(len(ids))]
    loop = value - np.array([_model_output(loaded, [o], run, direction)[0] for o in occluded])
    np.testing.assert_allclose(faith.scores["occlusion"], loop, atol=2e-4)
    for method, scores in faith.scores.items():
        assert scores.shape == (len(ids),) and np.isfinite(scores).all(), method
    return faith, run


def test_minilm_sentence_embedding(minilm):
    faith, run = _check_completeness_and_occlusion(minilm, MINILM_TEXT, "sentence_mean", steps=24)
    assert faith.scores["integrated_gradients"][[0, -1]].tolist() == [0.0, 0.0]  # [CLS] and [SEP] stay in the blank
    assert faith.unavailable == {} and set(faith.methods) >= {"attention", "rollout", "flow", "value_weighted",
                                                              "gradient_x_input", "integrated_gradients",
                                                              "gradient", "occlusion"}
    # the attention row of a mean-pooled embedding: the last layer's heads and query rows averaged
    last = np.nanmean(run.result.attention("encoder", 5), axis=0).mean(axis=0)
    np.testing.assert_allclose(faith.scores["attention"], last, atol=1e-6)
    np.testing.assert_allclose(faith.scores["rollout"], rollout(run.result, "encoder").at(5).mean(axis=0),
                               atol=1e-9)


def test_minilm_cls_state(minilm):
    faith, run = _check_completeness_and_occlusion(minilm, MINILM_TEXT, "cls", steps=24)
    np.testing.assert_allclose(faith.scores["attention"], np.nanmean(run.result.attention("encoder", 5), 0)[0],
                               atol=1e-6)


def test_toy_lm_next_token(toy_lm):
    faith, run = _check_completeness_and_occlusion(toy_lm, "the teacher saw the girl in the")
    assert faith.output.token_id == run.result.output_tokens.token_ids[-1]  # the model's own top guess
    last = len(faith.tokens) - 1
    np.testing.assert_allclose(faith.scores["attention"], np.nanmean(run.result.attention("decoder", 1), 0)[last],
                               atol=1e-6)
    typed = faithfulness(toy_lm, "the teacher saw the girl in the", output=OutputChoice(token="park"), steps=8)
    assert typed.output.token_id == toy_lm.tokenizer("park", add_special_tokens=False)["input_ids"][0]


def test_toy_translator_target_word(toy_translator):
    text, target = "the train left the station on time", "火车 准时 驶出 车站"
    faith, run = _check_completeness_and_occlusion(toy_translator, text, target=target)
    assert faith.output.label == "火车" and faith.output.position == 0
    assert faith.unavailable == {"flow": "faith_no_flow_cross"}
    cross = np.nanmean(run.result.attention("cross", 1), axis=0)[0]
    np.testing.assert_allclose(faith.scores["attention"], cross, atol=1e-6)
    encoder = rollout(run.result, "encoder").at(1)
    np.testing.assert_allclose(faith.scores["rollout"], cross @ encoder, atol=1e-9)
    # the token the translator writes for "station" is explained best by "station" itself, per occlusion
    station = faithfulness(toy_translator, text, target, OutputChoice(position=3), steps=8)
    assert station.output.label == "车站"
    assert faith.tokens.labels[int(np.argmax(station.scores["occlusion"]))] == "station"


@pytest.mark.parametrize("name", ["bert", "llama-gqa", "bart"])
def test_tiny_models_of_each_family(tmp_path_factory, name):
    from attnviz.toy.tokenizer import build_tokenizer

    # unsharpened weights: this checks the attribution arithmetic, and peaked random maps make the integrated
    # gradients' path so curved that 64 steps no longer converge (the capture proofs use the sharpened ones)
    folder = build(name, tmp_path_factory.mktemp("faith") / name, build_tokenizer("translator"), sharp=False)
    loaded = load_model(str(folder))
    target = "火车 准时 驶出" if loaded.family == "encoder-decoder" else None
    _check_completeness_and_occlusion(loaded, "the train left the station", target=target)


def test_spearman_equals_scipy():
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(3, 40))
        a, b = rng.normal(size=n), rng.normal(size=n)
        a[: n // 3] = np.round(a[: n // 3])  # ties
        b[::4] = 0.0
        assert spearman(a, b) == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)
    assert np.isnan(spearman(np.ones(5), np.arange(5.0)))  # a constant row ranks nothing


def test_agreement_is_spearman_of_magnitudes_over_the_shown_words(minilm):
    faith = faithfulness(minilm, "Unbelievably, the stationmaster waved", steps=16)
    axis = faith.axis(hide_special=True, merge_words=True)
    assert "Unbelievably" in axis.labels and "[CLS]" not in axis.labels
    assert len(axis.labels) < len(faith.tokens) - 2  # pieces were merged
    merged = faith.on(axis)
    for method in faith.methods:  # a word's score is the sum of its pieces'
        assert merged[method].sum() == pytest.approx(faith.scores[method][1:-1].sum(), abs=1e-9)
    agreement = faith.agreement(hide_special=True, merge_words=True)
    rho = spearmanr(np.abs(merged["rollout"]), np.abs(merged["occlusion"])).statistic
    assert agreement["occlusion"]["rollout"] == pytest.approx(rho, abs=1e-12)
    assert agreement["integrated_gradients"]["integrated_gradients"] == pytest.approx(1.0)


def test_a_registered_row_joins_every_run(toy_lm, monkeypatch):
    monkeypatch.setitem(rows_module._PROVIDERS, "contributions",
                        lambda loaded, result, output, text, target: np.arange(len(result.source), dtype=float))
    faith = faithfulness(toy_lm, "the teacher saw the", steps=8)
    assert faith.methods.index("contributions") == faith.methods.index("value_weighted") + 1
    np.testing.assert_array_equal(faith.scores["contributions"], np.arange(len(faith.tokens)))


def test_bad_requests_are_sentences(minilm, toy_lm, toy_translator):
    for call, code in [
        (lambda: faithfulness(minilm, "hello", output=OutputChoice("next_token")), "faith_bad_output"),
        (lambda: faithfulness(toy_lm, "the boy read", output=OutputChoice(token="   ")), "faith_empty_token"),
        (lambda: faithfulness(toy_translator, "the train", "火车", OutputChoice(position=9)), "faith_bad_position"),
        (lambda: faithfulness(minilm, "hello", steps=1), "faith_bad_steps"),
        (lambda: faithfulness(minilm, "   "), "empty_text"),
    ]:
        with pytest.raises(AttnvizError) as error:
            call()
        assert error.value.code == code and str(error.value).endswith(".")


def test_cli_json_and_errors(capsys):
    assert main(["faithfulness", "--model", "toy-lm", "--text", "the teacher saw the girl in the", "--steps", "16",
                 "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["output"]["kind"] == "next_token" and len(payload["tokens"]) == 7
    assert set(payload["agreement"]) == {"occlusion", "integrated_gradients"}
    assert payload["integrated_gradients"]["steps"] == 16
    assert main(["faithfulness", "--model", "toy-lm", "--text", "the boy read", "--steps", "8"]) == 0
    assert "Spearman" in capsys.readouterr().out
    assert main(["faithfulness", "--model", "no-such-model-here", "--text", "x"]) == 2
    assert main(["faithfulness", "--model", "toy-lm", "--text", ""]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_notebook_view(toy_lm):
    from attnviz.figures.words import ENGLISH
    from attnviz.notebook import faithfulness_view

    figure = faithfulness_view(toy_lm, "the teacher saw the girl in the", steps=8, merge_words=True)
    assert list(figure.data[0].y)[0] == ENGLISH["faith.method.attention"] and len(figure.data[0].x) == 7
    assert set(figure.layout.meta["agreement"]) == {"occlusion", "integrated_gradients"}


def test_corpus_scores_are_the_per_text_agreements_averaged(toy_lm):
    from attnviz.faithfulness.corpus import CorpusItem, corpus_agreement

    texts = ["the teacher saw the girl in the", "the train left the", "the farmer found a"]
    corpus = corpus_agreement(toy_lm, [CorpusItem(t) for t in texts], steps=8)
    singles = [faithfulness(toy_lm, t, steps=8).agreement()["occlusion"] for t in texts]
    rows = {row.method: row for row in corpus.summary() if row.reference == "occlusion"}
    for method in ("attention", "rollout", "integrated_gradients"):
        values = np.array([s[method] for s in singles])
        assert rows[method].mean == pytest.approx(np.nanmean(values)) and rows[method].n == np.isfinite(values).sum()
    mean, _, share, n = corpus.paired("rollout", "attention")
    diff = np.array([s["rollout"] - s["attention"] for s in singles])
    assert mean == pytest.approx(np.nanmean(diff)) and share == pytest.approx(np.mean(diff[np.isfinite(diff)] > 0))


def test_batches_split_for_long_inputs_give_the_same_scores(toy_lm, monkeypatch):
    from attnviz.faithfulness import gradients
    from attnviz.faithfulness.export import scores_to_csv

    text = "the teacher saw the girl in the"
    whole = faithfulness(toy_lm, text, steps=16)
    monkeypatch.setattr(gradients, "BATCH_CELLS", 7 * 7 * 3)  # 3 rows a pass instead of all 16 (or 7)
    assert gradients.batch_size(7, 16) == 3
    split = faithfulness(toy_lm, text, steps=16)
    for method in whole.methods:
        np.testing.assert_allclose(split.scores[method], whole.scores[method], atol=1e-5)
    assert scores_to_csv(whole).decode("utf-8-sig").startswith("method \\ token,the,teacher")


def test_a_long_text_is_cut_and_says_so(toy_lm):
    from attnviz.faithfulness import FAITHFULNESS_MAX_TOKENS

    long = faithfulness(toy_lm, " ".join(["the teacher saw the girl"] * 40), steps=4)
    assert len(long.tokens) == min(FAITHFULNESS_MAX_TOKENS, toy_lm.shape.max_positions)  # the toy LM reads 32
    assert long.truncation.truncated and long.truncation.total_tokens > 128
