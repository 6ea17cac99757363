"""Train the toy induction model: a 2-layer attention-only Llama on random word sequences with a repeated span.

    python -m attnviz.toy.train_induction      # a few minutes on 2 CPU cores

Each training sequence is ``<s> prefix span span suffix`` with random words from the toy grammar's English
vocabulary, a random prefix length and a random span length, so the only way to predict the second copy of the
span is content-based: find the earlier copy of the current word and predict the word that followed it. The
MLPs are zeroed and frozen (attention only), so the circuit has to be the classic two-head one: a previous-token
head in layer 0 writes "the word before me" into each position, and an induction head in layer 1 matches the
current word against it.

Writes ``assets/models/toy-induction/`` (weights, tokenizer, ``training_curve.json``, ``training_curve.png``).
The curve records, per logged step, the loss on the first copy (unpredictable: about ln(vocabulary)) and on the
repeated copy (drops when induction forms).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import torch
from tokenizers import Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import WordLevel
from tokenizers.processors import TemplateProcessing
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from attnviz.toy.grammar import english_vocabulary

OUT = Path(__file__).resolve().parents[2] / "assets" / "models" / "toy-induction"
SEED = 7
SEQ_LEN = 40  # tokens per sequence including <s>
MAX_POSITIONS = 64
PAD, BOS, EOS, UNK = "<pad>", "<s>", "</s>", "<unk>"
SPECIALS = [PAD, BOS, EOS, UNK]


def build_tokenizer() -> PreTrainedTokenizerFast:
    """Word-level tokenizer over the toy grammar's English words; text is prefixed with ``<s>``."""
    words = SPECIALS + english_vocabulary()
    ids = {w: i for i, w in enumerate(words)}
    tok = Tokenizer(WordLevel(vocab=ids, unk_token=UNK))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = TemplateProcessing(single=f"{BOS} $A", special_tokens=[(BOS, ids[BOS])])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=EOS, unk_token=UNK, pad_token=PAD,
        model_max_length=MAX_POSITIONS,
    )


def make_batch(batch: int, n_specials: int, vocab: int, bos: int, gen: torch.Generator):
    """Token ids [batch, SEQ_LEN] and boolean masks of the first-copy and repeated-copy target positions."""
    ids = torch.randint(n_specials, vocab, (batch, SEQ_LEN), generator=gen)
    ids[:, 0] = bos
    first = torch.zeros(batch, SEQ_LEN, dtype=torch.bool)
    second = torch.zeros(batch, SEQ_LEN, dtype=torch.bool)
    for b in range(batch):
        span = int(torch.randint(6, 16, (1,), generator=gen))
        start = int(torch.randint(1, SEQ_LEN - 2 * span + 1, (1,), generator=gen))
        ids[b, start + span : start + 2 * span] = ids[b, start : start + span]
        first[b, start + 1 : start + span] = True  # predicted positions inside the first copy
        second[b, start + span + 1 : start + 2 * span] = True  # predictable by induction
    return ids, first, second


def build_model(vocab: int, tokenizer: PreTrainedTokenizerFast) -> LlamaForCausalLM:
    """A 2-layer, 4-head Llama (rotary positions make a previous-token head easy to learn), MLPs zeroed."""
    config = LlamaConfig(
        vocab_size=vocab, hidden_size=64, intermediate_size=4, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=4, max_position_embeddings=MAX_POSITIONS, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    for layer in model.model.layers:  # attention only: the MLPs add exactly zero
        for p in layer.mlp.parameters():
            torch.nn.init.zeros_(p)
            p.requires_grad_(False)
    return model


def train(steps: int, batch: int, out: Path, lr: float = 3e-3, every_position: bool = False) -> None:
    random.seed(SEED)
    torch.manual_seed(SEED)
    tokenizer = build_tokenizer()
    vocab = len(tokenizer)
    model = build_model(vocab, tokenizer)
    gen = torch.Generator().manual_seed(SEED)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: min(1.0, (s + 1) / 50))
    curve: list[dict[str, float]] = []
    started = time.perf_counter()
    model.train()
    for step in range(steps):
        ids, first, second = make_batch(batch, len(SPECIALS), vocab, tokenizer.bos_token_id, gen)
        logits = model(input_ids=ids).logits[:, :-1]  # (B, T-1, V) predicts ids[:, 1:]
        per_token = torch.nn.functional.cross_entropy(
            logits.reshape(-1, vocab), ids[:, 1:].reshape(-1), reduction="none"
        ).view(batch, SEQ_LEN - 1)
        # the repeated copy is the only predictable part; training on every position too keeps the first copy's
        # loss at ln(vocabulary) (the model learns it cannot know) instead of letting it grow overconfident
        loss = per_token.mean() if every_position else per_token[second[:, 1:]].mean()
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimiser.step()
        schedule.step()
        if step % 10 == 0 or step == steps - 1:
            with torch.no_grad():
                row = {
                    "step": step,
                    "loss": round(loss.item(), 4),
                    "first_copy": round(per_token[first[:, 1:]].mean().item(), 4),
                    "repeated_copy": round(per_token[second[:, 1:]].mean().item(), 4),
                }
            curve.append(row)
            if step % 100 == 0 or step == steps - 1:
                print(f"step {step:5d} loss {row['loss']:.3f} first {row['first_copy']:.3f} "
                      f"repeated {row['repeated_copy']:.3f} {time.perf_counter() - started:.0f}s", flush=True)
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "training_curve.json").write_text(json.dumps(
        {"seq_len": SEQ_LEN, "batch": batch, "vocabulary": vocab, "seed": SEED, "curve": curve}, indent=0))
    _plot_curve(curve, out / "training_curve.png")
    print(f"saved to {out} in {time.perf_counter() - started:.0f}s")


def _plot_curve(curve: list[dict[str, float]], path: Path) -> None:
    import plotly.graph_objects as go

    from attnviz.export import figure_to_image, image_export_available

    steps = [r["step"] for r in curve]
    fig = go.Figure()
    fig.add_scatter(x=steps, y=[r["first_copy"] for r in curve], name="loss on first copy (unpredictable)")
    fig.add_scatter(x=steps, y=[r["repeated_copy"] for r in curve], name="loss on repeated copy (induction)")
    fig.update_layout(xaxis_title="training step", yaxis_title="cross-entropy (nats)", width=720, height=380,
                      title="toy-induction: the repeated copy becomes predictable when induction forms",
                      legend={"x": 0.45, "y": 0.95})
    if image_export_available():
        path.write_bytes(figure_to_image(fig, "png", width=720, height=380))
    else:
        print("no browser for kaleido: training_curve.png not written")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--every-position", action="store_true",
                        help="train on every position, not only the repeated copy")
    args = parser.parse_args()
    torch.set_num_threads(1)  # tiny matrices: a second thread only adds contention
    train(args.steps, args.batch, args.out, args.lr, args.every_position)


if __name__ == "__main__":
    main()
