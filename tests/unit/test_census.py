"""Heads across a corpus: statistics against a plain numpy recount, batching, resuming, Ray, sources, gold."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from attnviz import capture
from attnviz.census import CensusInputError, CensusOptions, CensusResult, census, census_of_results, read_corpus
from attnviz.census.batches import head_keys
from attnviz.census.gold import grammar_pairs, grammar_sentences, sample_corpus, with_gold
from attnviz.census.qkmap import joint_map, normalise
from attnviz.census.sources import Corpus
from attnviz.census.stats import OFFSETS, SINK_SHARE
from attnviz.errors import error_sentence
from attnviz.roles import corpus_role_scores, facts_of, head_roles, score_cross_attention

SENTENCES = ["the train left the station on time", "the girl found a book in the park today",
             "life is beautiful", "the teacher wrote a letter at home yesterday"]


# ------------------------------------------------------------------------------------------- the statistics
def _reference(result, kind: str, layer: int, head: int, alignment) -> dict[str, tuple[float, int]]:
    """(sum, count) of each statistic for one head of one text, row by row in plain Python."""
    a = result.attention(kind, layer, head).astype(np.float64)
    query, key = result.query_tokens(kind), result.key_tokens(kind)
    causal, cross = kind == "decoder", kind == "cross"
    rows = [i for i in range(a.shape[0]) if cross or (not query.special[i] and (not causal or i >= 1))]
    out: dict[str, list] = {}

    def add(name, value):
        total, count = out.get(name, (0.0, 0))
        out[name] = (total + float(value), count + 1)

    for i in rows:
        add("sink", sum(a[i, j] for j in range(a.shape[1]) if key.special[j] or j == 0) >= SINK_SHARE)
        allowed = i + 1 if causal else a.shape[1]
        if allowed >= 2:
            p = a[i, :allowed]
            bits = -sum(x * np.log2(x) for x in p if x > 0)
            add("entropy", bits)
            add("entropy_rel", bits / np.log2(allowed))
        if not cross:
            for d in OFFSETS:
                if 0 <= i + d < a.shape[1] and not (causal and d > 0):
                    add(f"offset_{d:+d}", a[i, i + d])
        elif alignment is not None:
            word = result.output_tokens.word_ids[i]
            if word is not None and word < len(alignment):
                gold = [j for j, w in enumerate(key.word_ids) if w in alignment[word]]
                plain = [j for j in range(a.shape[1]) if not key.special[j]]
                best = max(plain, key=lambda j: (a[i, j], -j))
                add("alignment", best in gold)
                add("alignment_mass", sum(a[i, j] for j in gold))
    return out


def _role_reference(result, kind: str, layer: int, head: int) -> dict[str, tuple[float, float, int]]:
    """(numerator, denominator, rows) of each linear role for one head of one text, as the roles docstring
    defines them, row by row in plain Python."""
    a = result.attention(kind, layer, head).astype(np.float64)
    query, key = result.query_tokens(kind), result.key_tokens(kind)
    causal, cross = kind == "decoder", kind == "cross"
    n_q, n_k = a.shape
    sink = [j == 0 or key.special[j] for j in range(n_k)]
    out: dict[str, list] = {}

    def add(role, num, den):
        n, d, r = out.get(role, (0.0, 0.0, 0))
        out[role] = (n + num, d + den, r + 1)

    for i in range(n_q):
        allowed = [j for j in range(n_k) if not causal or j <= i]
        mass = sum(a[i, j] for j in allowed)
        others = [j for j in allowed if key.special[j] and j != 0]
        if cross:
            add("first", a[i, 0], mass)
            if others:
                add("special", sum(a[i, j] for j in others), mass)
            continue
        if query.special[i]:
            continue
        plain = [j for j in allowed if not sink[j]]
        plain_mass = sum(a[i, j] for j in plain)
        same = [j for j in range(n_k) if key.token_ids[j] == query.token_ids[i] and not key.special[j]]
        if i >= 1:
            add("first", a[i, 0], mass)
        if others:
            add("special", sum(a[i, j] for j in others), mass)
        for role, d in (("previous", -1), ("self", 0), ("next", 1)):
            if i + d in plain and not (causal and role == "next"):
                add(role, a[i, i + d], plain_mass)
        if plain:
            add("local", sum(a[i, j] for j in plain if abs(i - j) <= 2), plain_mass)
        copies = [j for j in plain if j in same and j < i]
        if copies:
            add("duplicate", sum(a[i, j] for j in copies), plain_mass)
        after = [j for j in plain if j >= 1 and j - 1 in same and j - 1 < i and j not in same and j != i]
        if after:
            add("induction", sum(a[i, j] for j in after), plain_mass)
    return out


def test_statistics_match_a_plain_recount(toy_translator):
    corpus = with_gold(Corpus(tuple(SENTENCES[:2])), "toy-translator")
    census_result = census(toy_translator, corpus, options=CensusOptions(batch_size=2, qk_texts=0))
    results = [capture(toy_translator, t, target=g, max_tokens=128) for t, g in zip(corpus.texts, corpus.targets)]
    checked = 0
    for kind, layer, head in head_keys(toy_translator.shape):
        totals: dict[str, tuple[float, int]] = {}
        roles: dict[str, tuple[float, float, int]] = {}
        for result, alignment in zip(results, corpus.alignments):
            for name, (value, count) in _reference(result, kind, layer, head, alignment).items():
                total, n = totals.get(name, (0.0, 0))
                totals[name] = (total + value, n + count)
            for role, (num, den, n) in _role_reference(result, kind, layer, head).items():
                old = roles.get(role, (0.0, 0.0, 0))
                roles[role] = (old[0] + num, old[1] + den, old[2] + n)
        row = census_result.head(kind, layer, head)
        for name, (total, count) in totals.items():
            assert row[name] == pytest.approx(total / count, abs=1e-6), (kind, layer, head, name)
            checked += 1
        for role, (num, den, n) in roles.items():  # the corpus score: summed numerators over summed denominators
            expected = min(1.0, num / den) if den >= 0.05 * max(n, 1) else 0.0
            assert row[role] == pytest.approx(expected, abs=1e-6), (kind, layer, head, role)
            checked += 1
        for name in ("offset_-1", "alignment"):
            if name not in totals:
                assert np.isnan(row[name]), (kind, layer, head, name)
        assert np.isnan(row["next"]) == (kind != "encoder")  # a decoder has no next token, cross-attention none
    assert checked > 350
    cross = census_result.heads[census_result.heads.kind == "cross"]
    assert cross.alignment.notna().all() and cross.previous.isna().all() and cross.monotonic.notna().all()
    assert census_result.heads.alignment_rows.max() == 4 + 6  # the Chinese words of the two texts


def test_census_roles_are_the_roles_of_attnviz_heads(toy_translator):
    """One vocabulary: on one text the census's role scores, baselines and verdicts are those of head_roles;
    over several texts they are corpus_role_scores (numerators and denominators summed over texts)."""
    texts = SENTENCES[:3]
    targets = with_gold(Corpus(tuple(texts)), "toy-translator").targets
    results = [capture(toy_translator, t, target=g, max_tokens=128) for t, g in zip(texts, targets)]
    one = census(toy_translator, Corpus((texts[0],), (targets[0],)), options=CensusOptions(qk_texts=0))
    report = head_roles(results[0])
    for h in report.heads:
        row = one.head(h.kind, h.layer, h.head)
        for role, score in h.scores.items():
            assert row[role] == pytest.approx(score, abs=1e-6), (h.kind, h.layer, h.head, role)
            assert row[f"baseline_{role}"] == pytest.approx(h.baselines[role], abs=1e-6)
        assert row.roles == ",".join(h.roles) and row.primary == h.primary
    several = census(toy_translator, Corpus(tuple(texts), tuple(targets)), options=CensusOptions(batch_size=2,
                                                                                                qk_texts=0))
    for kind in ("encoder", "decoder"):
        corpus_scores = corpus_role_scores([(r.arrays[kind], facts_of(r.query_tokens(kind), causal=kind == "decoder"))
                                            for r in results], kind=kind)
        for role, grid in corpus_scores.scores.items():
            np.testing.assert_allclose(several.grid(kind, role), grid, atol=1e-6, err_msg=f"{kind} {role}")
    cross = np.mean([score_cross_attention(r.arrays["cross"], tuple(r.source.special))["monotonic"]
                     for r in results], axis=0)
    np.testing.assert_allclose(several.grid("cross", "monotonic"), cross, atol=1e-6)


def test_batches_and_padding_give_the_one_by_one_numbers(minilm):
    texts = ["Hi.", "The train left the station on time.", "A much longer sentence about a farmer who bought a "
             "house in the village last week, and liked it.", "Life is short.", "Café 火车 🚆 ok", "Yes"]
    one = census(minilm, texts, options=CensusOptions(batch_size=1, qk_texts=3))
    batched = census(minilm, texts, options=CensusOptions(batch_size=4, qk_texts=3))
    pd.testing.assert_frame_equal(one.heads, batched.heads, rtol=0, atol=2e-6)
    assert one.heads["rows"].iloc[0] == sum(len(minilm.tokenizer(t)["input_ids"]) - 2 for t in texts)
    pd.testing.assert_frame_equal(one.points.drop(columns=["x", "y"]), batched.points.drop(columns=["x", "y"]))
    np.testing.assert_allclose(one.points[["x", "y"]], batched.points[["x", "y"]], atol=1e-4)
    merged = one.examples.merge(batched.examples, on=["kind", "layer", "head", "stat", "rank"])
    np.testing.assert_allclose(merged.score_x, merged.score_y, atol=2e-6)
    assert (merged.text_id_x == merged.text_id_y).mean() > 0.95  # only near-ties may swap
    # results of earlier captures: the same statistics without any engine
    direct = census_of_results([capture(minilm, t, max_tokens=128) for t in texts])
    for name in ("previous", "self", "induction", "broad", "entropy_rel", "offset_-1"):
        np.testing.assert_allclose(direct[name], one.heads[name], atol=2e-6, err_msg=name)
    assert list(direct["roles"]) == list(one.heads.roles)


def test_known_heads_of_minilm(minilm):
    result = census(minilm, grammar_sentences(24, sentence_case=True), options=CensusOptions(qk_texts=0))
    assert result.grid("encoder", "previous").shape == (6, 12)
    head = result.head("encoder", 0, 2)
    assert head.previous > 0.8 and head.primary == "previous"  # MiniLM's layer 0 head 2 reads the previous token
    shares = result.entropy_histogram("encoder", 3, 0)
    assert sum(shares) == pytest.approx(1.0)
    offsets, weights = result.offsets("encoder", 0, 2)
    assert weights[offsets.index(-1)] > 0.8  # the raw weight one token back, sinks included


def test_gpu_batch_size_follows_free_memory(minilm):
    from attnviz.census.batches import batch_size_for

    assert batch_size_for(minilm, 128) == 16  # a CPU: the default
    small, big = batch_size_for(minilm, 128, free_bytes=2**30), batch_size_for(minilm, 128, free_bytes=16 * 2**30)
    assert 1 <= small < big <= 256 and batch_size_for(minilm, 512, free_bytes=2**30) < small


# ------------------------------------------------------------------------------------------- gold alignment
def test_alignment_agreement_on_the_toy_translator(toy_translator):
    from attnviz.toy.evaluate import cross_argmax_hits

    texts = grammar_sentences(30)
    result = census(toy_translator, texts, options=CensusOptions(batch_size=8, qk_texts=0))
    assert "30 of 30 texts matched the toy grammar" in " ".join(result.meta.notes)
    hits = np.concatenate([cross_argmax_hits(toy_translator, grammar_pairs()[t]) for t in texts], axis=-1)
    for layer in range(2):
        for head in range(4):
            assert result.head("cross", layer, head).alignment == pytest.approx(hits[layer, head].mean())
    best = result.heads[result.heads.kind == "cross"].alignment.max()
    assert best > 0.9  # docs/models.md: the best head aligns about 97% of held-out words
    assert result.heads[result.heads.kind == "encoder"].alignment.isna().all()
    top = result.examples_for("cross", 1, 0, "alignment")
    assert len(top) == 5 and top.score.iloc[0] == 1.0 and top.target.notna().all()


def test_alignment_from_a_column(tmp_path, toy_translator):
    pair = grammar_pairs()["the train left the station on time"]
    table = pd.DataFrame({"en": [pair.source_text], "zh": [pair.target_text],
                          "gold": [json.dumps([list(a) for a in pair.alignment])]})
    table.to_csv(tmp_path / "pairs.csv", index=False)
    corpus = read_corpus(tmp_path / "pairs.csv", column="en", target_column="zh", alignment_column="gold")
    assert corpus.alignments[0] == pair.alignment
    from_column = census(toy_translator, corpus, options=CensusOptions(qk_texts=0))
    from_grammar = census(toy_translator, [pair.source_text], options=CensusOptions(qk_texts=0))
    pd.testing.assert_frame_equal(from_column.heads, from_grammar.heads)


# ------------------------------------------------------------------------------------------- files, resume
def test_resume_after_an_interruption_gives_the_same_file(tmp_path, toy_translator):
    texts = grammar_sentences(22)
    options = CensusOptions(batch_size=4, qk_texts=5)
    whole = census(toy_translator, texts, tmp_path / "whole.parquet", options=options)

    def interrupt(done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt

    out = tmp_path / "resumed.parquet"
    with pytest.raises(KeyboardInterrupt):
        census(toy_translator, texts, out, options=options, progress=interrupt)
    parts = sorted(p.name for p in (tmp_path / "resumed.parquet.parts").glob("batch-*.parquet"))
    assert parts == ["batch-0000000.parquet", "batch-0000001.parquet", "batch-0000002.parquet"] and not out.exists()
    seen = []
    resumed = census(toy_translator, texts, out, options=options, progress=lambda done, total: seen.append(done))
    assert seen == [4, 5, 6]  # only the three batches that were missing
    assert not (tmp_path / "resumed.parquet.parts").exists()
    for name in ("heads", "examples", "points"):
        pd.testing.assert_frame_equal(getattr(whole, name), getattr(resumed, name), check_exact=True)
    loaded = CensusResult.load(out)
    pd.testing.assert_frame_equal(loaded.heads, whole.heads, check_exact=True)
    pd.testing.assert_frame_equal(loaded.examples, whole.examples, check_exact=True)
    pd.testing.assert_frame_equal(loaded.points, whole.points, check_exact=True)
    assert loaded.meta.n_texts == 22 and loaded.meta.kinds == {"encoder": 2, "decoder": 2, "cross": 2}
    frame = pd.read_parquet(out)  # one plain table for pandas users
    assert set(frame.record) == {"head", "example", "point"} and (frame.record == "head").sum() == 24


def test_folded_parts_resume_to_the_same_census(tmp_path, toy_translator, monkeypatch):
    """Finished parts are folded into one checkpoint as they pile up (a long corpus keeps few files); an
    interrupted run resumes from checkpoint and parts and gives the census of an uninterrupted run, bit for bit."""
    from attnviz.census import engines

    monkeypatch.setattr(engines, "FOLD_EVERY", 2)
    texts = grammar_sentences(22)
    options = CensusOptions(batch_size=4, qk_texts=5)
    whole = census(toy_translator, texts, options=options)

    def interrupt(done: int, total: int) -> None:
        if done == 5:
            raise KeyboardInterrupt

    out = tmp_path / "folded.parquet"
    with pytest.raises(KeyboardInterrupt):
        census(toy_translator, texts, out, options=options, progress=interrupt)
    folder = tmp_path / "folded.parquet.parts"
    assert sorted(p.name for p in folder.glob("*.parquet")) == ["batch-0000004.parquet", "checkpoint.parquet"]
    seen = []
    resumed = census(toy_translator, texts, out, options=options, progress=lambda done, total: seen.append(done))
    assert seen == [6]
    for name in ("heads", "examples", "points"):
        pd.testing.assert_frame_equal(getattr(whole, name), getattr(resumed, name), check_exact=True)


def test_parts_of_other_settings_are_not_mixed_in(tmp_path, toy_translator):
    out = tmp_path / "c.parquet"
    census(toy_translator, ["life is beautiful", "life is short"], out, options=CensusOptions(qk_texts=0),
           keep_parts=True)
    with pytest.raises(CensusInputError, match="other settings"):
        census(toy_translator, ["life is good"], out, options=CensusOptions(qk_texts=0))
    again = census(toy_translator, ["life is good"], out, options=CensusOptions(qk_texts=0), restart=True)
    assert again.meta.n_texts == 1


def test_not_a_census_file(tmp_path):
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "plain.parquet")
    with pytest.raises(CensusInputError, match="plain.parquet is a Parquet file but not a census"):
        CensusResult.load(tmp_path / "plain.parquet")
    with pytest.raises(CensusInputError, match="The uploaded file is not a census") as upload:
        CensusResult.load(b"not parquet at all")
    assert upload.value.code == "census_upload_not_parquet"  # an upload has no name: a sentence without one
    assert error_sentence(upload.value, "zh").startswith("上传的文件不是普查文件")


# ------------------------------------------------------------------------------------------- ray
def test_ray_local_mode_gives_the_local_census(tmp_path, toy_translator):
    ray = pytest.importorskip("ray")
    texts = grammar_sentences(18)
    options = CensusOptions(batch_size=4, qk_texts=4)
    local = census(toy_translator, texts, options=options)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = census("toy-translator", texts, tmp_path / "ray.parquet", engine="ray", options=options)
    finally:
        ray.shutdown()
    assert remote.meta.engine == "ray"
    for name in ("heads", "examples", "points"):
        pd.testing.assert_frame_equal(getattr(local, name), getattr(remote, name), check_exact=True)


# ------------------------------------------------------------------------------------------- sources
def test_sources_read_text_csv_parquet_jsonl_and_datasets(tmp_path):
    texts = ["first text", "second text", "third text"]
    (tmp_path / "t.txt").write_text("first text\n\n  second text \nthird text\n", "utf-8")
    corpus = read_corpus(tmp_path / "t.txt")
    assert corpus.texts == tuple(texts) and corpus.notes == ("1 blank lines skipped.",)
    frame = pd.DataFrame({"sentence": texts, "n": [1, 2, 3]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet")
    frame.to_json(tmp_path / "t.jsonl", orient="records", lines=True)
    for name in ("t.csv", "t.parquet", "t.jsonl"):
        assert read_corpus(tmp_path / name, column="sentence").texts == tuple(texts), name
    assert read_corpus(tmp_path / "t.csv", column="sentence", limit=2).texts == tuple(texts[:2])

    datasets = pytest.importorskip("datasets")
    datasets.Dataset.from_pandas(frame).save_to_disk(str(tmp_path / "saved"))
    assert read_corpus(tmp_path / "saved", column="sentence").texts == tuple(texts)
    datasets.DatasetDict({"test": datasets.Dataset.from_pandas(frame)}).save_to_disk(str(tmp_path / "dict"))
    assert read_corpus(tmp_path / "dict", column="sentence", split="test").texts == tuple(texts)
    with pytest.raises(CensusInputError, match="no split 'train'"):
        read_corpus(tmp_path / "dict", column="sentence")
    (tmp_path / "files").mkdir()
    frame.to_json(tmp_path / "files" / "data.jsonl", orient="records", lines=True)
    assert read_corpus(f"hf:{tmp_path / 'files'}", column="sentence").texts == tuple(texts)


def test_sources_say_what_is_wrong(tmp_path):
    pd.DataFrame({"sentence": ["a"]}).to_csv(tmp_path / "t.csv", index=False)
    no_column = r"no column 'text' \(columns: sentence\); name one with --column"
    with pytest.raises(CensusInputError, match=no_column) as caught:
        read_corpus(tmp_path / "t.csv")
    assert caught.value.code == "census_no_column"
    chinese = error_sentence(caught.value, "zh")  # the same facts and hint in the other language
    assert "“text”" in chinese and "sentence" in chinese and "--column" in chinese
    with pytest.raises(CensusInputError, match="no file or folder"):
        read_corpus(tmp_path / "missing.txt")
    (tmp_path / "blank.txt").write_text("\n \n", "utf-8")
    with pytest.raises(CensusInputError, match="no texts"):
        read_corpus(tmp_path / "blank.txt")
    (tmp_path / "x.bin").write_bytes(b"\xff\xfe\x00\x81" * 10)
    with pytest.raises(CensusInputError, match="unknown kind of file"):
        read_corpus(tmp_path / "x.bin")
    with pytest.raises(CensusInputError, match="could not be loaded"):
        read_corpus(f"hf:{tmp_path / 'no-such-dataset'}/x")
    with pytest.raises(CensusInputError, match="blank"):
        census("toy-translator", ["fine", "  "])


# ------------------------------------------------------------------------------------------- query/key map
def test_query_key_map_keeps_attention_and_is_deterministic():
    rng = np.random.default_rng(0)
    queries, keys = rng.normal(size=(30, 8)) + 3.0, rng.normal(size=(40, 8)) * 4.0 - 1.0
    q, k = normalise(queries, keys)
    before, after = queries @ keys.T, q @ k.T
    # per query row, the logits change by one constant: the softmax (the attention) is unchanged
    np.testing.assert_allclose((after - before) - (after - before)[:, :1], 0, atol=1e-9)
    np.testing.assert_allclose(k.mean(0), q.mean(0), atol=1e-9)
    assert np.linalg.norm(q, axis=1).mean() == pytest.approx(np.linalg.norm(k, axis=1).mean())
    q_xy, k_xy = joint_map(queries, keys)
    assert q_xy.shape == (30, 2) and k_xy.shape == (40, 2)
    np.testing.assert_array_equal(joint_map(queries, keys)[0], q_xy)
    flipped_q, _ = joint_map(queries[::-1].copy(), keys)
    np.testing.assert_allclose(flipped_q[::-1], q_xy, atol=1e-9)  # the sample's order does not matter


def test_sample_corpus_census_has_a_map_per_head(toy_translator):
    result = census(toy_translator, sample_corpus("toy-translator", 12), options=CensusOptions(qk_texts=4))
    counts = result.points.groupby(["kind", "layer", "head", "side"]).size()
    assert len(counts) == 24 * 2 and counts.min() > 5
    assert set(result.points.text_id) <= {0, 3, 6, 9}
