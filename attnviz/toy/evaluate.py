"""Measure the toy models on held-out sentences of the grammar.

    python -m attnviz.toy.evaluate          # prints the figures on every held-out pair

- translation exact match (greedy decoding);
- cross-attention alignment: for each Chinese word, is the source word with the highest weight one
  of its gold English words? Per (layer, head), with the best head picked on *training* pairs;
- the language model's next-word accuracy against a unigram baseline.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch

from attnviz.capturing.run import capture
from attnviz.models.loading import LoadedModel, load_model
from attnviz.toy.grammar import SentencePair, split_pairs
from attnviz.tracing.generate import greedy
from attnviz.tracing.trace import run


def translate(loaded: LoadedModel, text: str) -> list[str]:
    tokenizer = loaded.tokenizer
    out = greedy(loaded, tokenizer(text, return_tensors="pt"), 20)
    return [t for t in tokenizer.convert_ids_to_tokens(out) if t not in tokenizer.all_special_tokens]


def exact_match(loaded: LoadedModel, pairs: list[SentencePair]) -> float:
    return float(np.mean([translate(loaded, p.source_text) == list(p.chinese) for p in pairs]))


def cross_argmax_hits(loaded: LoadedModel, pair: SentencePair) -> np.ndarray:
    """``[layers, heads + 1, target words]`` booleans: argmax source word is gold (last 'head' = head mean)."""
    every_layer = {"cross": range(loaded.shape.n_layers["cross"])}
    result = capture(loaded, pair.source_text, target=pair.target_text, layers=every_layer)
    cross = result.arrays["cross"]  # rows: decoder position i produces Chinese word i
    word_columns = [i for i, w in enumerate(result.source.word_ids) if w is not None]
    assert len(word_columns) == len(pair.english), "toy tokenizer: one token per English word"
    n = len(pair.chinese)
    maps = np.concatenate([cross, cross.mean(axis=1, keepdims=True)], axis=1)[:, :, :n][..., word_columns]
    best = maps.argmax(-1)  # [layers, heads+1, target words]
    gold = [set(a) for a in pair.alignment]
    return np.array([[[best[layer, h, i] in gold[i] for i in range(n)] for h in range(best.shape[1])]
                     for layer in range(best.shape[0])])


@dataclass(frozen=True)
class AlignmentScore:
    layer: int
    head: int | None  # None: mean over the layer's heads
    accuracy: float


def alignment_scores(loaded: LoadedModel, pairs: list[SentencePair]) -> list[AlignmentScore]:
    """Alignment accuracy of every head and every layer's head mean, best first."""
    hits = np.concatenate([cross_argmax_hits(loaded, p) for p in pairs], axis=-1)
    n_heads = hits.shape[1] - 1
    scores = [AlignmentScore(layer, h if h < n_heads else None, float(hits[layer, h].mean()))
              for layer in range(hits.shape[0]) for h in range(hits.shape[1])]
    return sorted(scores, key=lambda s: -s.accuracy)


def next_word_accuracy(loaded: LoadedModel, texts: list[str]) -> float:
    tokenizer, correct, total = loaded.tokenizer, 0, 0
    for text in texts:
        ids = tokenizer(text)["input_ids"] + [tokenizer.eos_token_id]
        logits = run(loaded, {"input_ids": torch.tensor([ids], device=loaded.device)}).outputs.logits[0]
        predicted = logits[:-1].argmax(-1).tolist()
        correct += sum(p == t for p, t in zip(predicted, ids[1:]))
        total += len(ids) - 1
    return correct / total


def unigram_accuracy(train_texts: list[str], test_texts: list[str], tokenizer) -> float:
    """Accuracy of always guessing the most frequent training token."""
    def targets(text: str) -> list[int]:
        return tokenizer(text)["input_ids"][1:] + [tokenizer.eos_token_id]

    most_common = Counter(t for text in train_texts for t in targets(text)).most_common(1)[0][0]
    test_targets = [t for text in test_texts for t in targets(text)]
    return sum(t == most_common for t in test_targets) / len(test_targets)


def sample(pairs: list[SentencePair], n: int | None) -> list[SentencePair]:
    """Every k-th pair, so a sample covers all three sentence frames."""
    if n is None or n >= len(pairs):
        return pairs
    step = len(pairs) / n
    return [pairs[int(i * step)] for i in range(n)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, help="held-out pairs to use (default: all)")
    args = parser.parse_args(argv)
    train, held_out = split_pairs()
    test_pairs = sample(held_out, args.n)
    translator = load_model("toy-translator")
    print(f"held-out pairs: {len(test_pairs)}")
    print(f"translation exact match: {exact_match(translator, test_pairs):.1%}")
    picked = alignment_scores(translator, sample(train, 300))[0]
    on_test = {(s.layer, s.head): s.accuracy for s in alignment_scores(translator, test_pairs)}
    print(f"alignment, best head on training pairs (layer {picked.layer}, head {picked.head}): "
          f"{on_test[(picked.layer, picked.head)]:.1%} on held-out")
    last = translator.shape.n_layers["cross"] - 1
    print(f"alignment, mean of layer {last}'s heads: {on_test[(last, None)]:.1%} on held-out")
    lm = load_model("toy-lm")
    test_texts = [t for p in test_pairs for t in (p.source_text, p.target_text)]
    train_texts = [t for p in train for t in (p.source_text, p.target_text)]
    print(f"LM next-word accuracy: {next_word_accuracy(lm, test_texts):.1%} "
          f"(unigram baseline {unigram_accuracy(train_texts, test_texts, lm.tokenizer):.1%})")


if __name__ == "__main__":
    main()
