"""Train the two built-in toy models on the parallel grammar and save them under ``assets/models``.

    python -m attnviz.toy.train            # both models, a few minutes on 2 CPU cores
    python -m attnviz.toy.train --only lm

Fixed seeds and a single thread order make the run reproducible on the same torch build.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import torch
from transformers import BartConfig, BartForConditionalGeneration, LlamaConfig, LlamaForCausalLM

from attnviz.toy.grammar import split_pairs
from attnviz.toy.tokenizer import build_tokenizer

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "models"
SEED = 1234
MAX_POSITIONS = 32


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def _pad(rows: list[list[int]], value: int) -> torch.Tensor:
    width = max(len(r) for r in rows)
    return torch.tensor([r + [value] * (width - len(r)) for r in rows])


def _batches(n_items: int, batch_size: int, rng: random.Random):
    order = list(range(n_items))
    while True:
        rng.shuffle(order)
        for start in range(0, n_items - batch_size + 1, batch_size):
            yield order[start : start + batch_size]


def _optimise(model: torch.nn.Module, loss_of_batch, n_items: int, steps: int, lr: float, batch_size: int) -> None:
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    warmup = max(1, steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * max(0.05, 1 - s / steps)
    )
    rng = random.Random(SEED)
    model.train()
    started = time.perf_counter()
    for step, batch in zip(range(steps), _batches(n_items, batch_size, rng)):
        loss = loss_of_batch(batch)
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        if step % 200 == 0 or step == steps - 1:
            print(f"  step {step:5d}  loss {loss.item():.4f}  {time.perf_counter() - started:.0f}s", flush=True)
    model.eval()


def train_translator(out_dir: Path, steps: int = 3000) -> None:
    """A small BART (2+2 layers, 4 heads, d_model 128) translating English -> Chinese."""
    _seed_everything(SEED)
    tokenizer = build_tokenizer("translator")
    train, _ = split_pairs()
    sources = [tokenizer(p.source_text)["input_ids"] for p in train]
    targets = [tokenizer(p.target_text)["input_ids"] for p in train]
    pad, bos, eos = tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id
    config = BartConfig(
        vocab_size=len(tokenizer), d_model=128, encoder_layers=2, decoder_layers=2,
        encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=256, decoder_ffn_dim=256,
        max_position_embeddings=MAX_POSITIONS, dropout=0.1, attention_dropout=0.0,
        pad_token_id=pad, bos_token_id=bos, eos_token_id=eos, decoder_start_token_id=bos,
        forced_eos_token_id=None, scale_embedding=True, tie_word_embeddings=True,
    )
    model = BartForConditionalGeneration(config)

    def loss_of_batch(batch: list[int]) -> torch.Tensor:
        input_ids = _pad([sources[i] for i in batch], pad)
        labels = _pad([targets[i] for i in batch], -100)
        decoder_input_ids = _pad([[bos] + targets[i][:-1] for i in batch], pad)
        return model(
            input_ids=input_ids, attention_mask=(input_ids != pad).long(),
            decoder_input_ids=decoder_input_ids, labels=labels,
        ).loss

    print(f"toy-translator: {sum(p.numel() for p in model.parameters()):,} parameters, {len(train)} pairs")
    _optimise(model, loss_of_batch, len(train), steps, lr=2e-3, batch_size=64)
    model.generation_config.max_new_tokens = 16
    model.generation_config.num_beams = 1
    model.generation_config.do_sample = False
    _save(model, tokenizer, out_dir)


def train_language_model(out_dir: Path, steps: int = 3000) -> None:
    """A small Llama-style decoder (2 layers, 4 query heads sharing 2 KV heads) on both languages."""
    _seed_everything(SEED)
    tokenizer = build_tokenizer("lm")
    train, _ = split_pairs()
    texts = [p.source_text for p in train] + [p.target_text for p in train]
    rows = [tokenizer(t)["input_ids"] + [tokenizer.eos_token_id] for t in texts]
    pad = tokenizer.pad_token_id
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=128, intermediate_size=256, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=MAX_POSITIONS,
        pad_token_id=pad, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)

    def loss_of_batch(batch: list[int]) -> torch.Tensor:
        input_ids = _pad([rows[i] for i in batch], pad)
        labels = _pad([rows[i] for i in batch], -100)
        return model(input_ids=input_ids, attention_mask=(input_ids != pad).long(), labels=labels).loss

    print(f"toy-lm: {sum(p.numel() for p in model.parameters()):,} parameters, {len(rows)} sentences")
    _optimise(model, loss_of_batch, len(rows), steps, lr=2e-3, batch_size=64)
    model.generation_config.max_new_tokens = 12
    model.generation_config.do_sample = False
    _save(model, tokenizer, out_dir)


def _save(model, tokenizer, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    print(f"  saved to {out_dir}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ASSETS, help="folder that receives toy-translator/ and toy-lm/")
    parser.add_argument("--only", choices=["translator", "lm"], help="train just one model")
    parser.add_argument("--steps", type=int, default=3000)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    if args.only in (None, "translator"):
        train_translator(args.out / "toy-translator", args.steps)
    if args.only in (None, "lm"):
        train_language_model(args.out / "toy-lm", args.steps)


if __name__ == "__main__":
    main()
