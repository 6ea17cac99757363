"""``attnviz census --model minilm --data texts.txt --out census.parquet [--engine ray]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from attnviz.census.report import CensusResult
from attnviz.roles.vocabulary import ORDER

SUMMARY_STATS = (*ORDER, "sink", "entropy_rel", "alignment")  # every role, then three statistics that are not roles


def add_parser(commands) -> None:
    cmd = commands.add_parser("census", help="statistics of every attention head over a corpus (local or Ray)")
    cmd.add_argument("--model", default="minilm", help="built-in, hub id or local folder")
    cmd.add_argument("--data", required=True,
                     help="a .txt file (one text per line), .csv/.tsv/.parquet/.jsonl (see --column), "
                          "hf:NAME[:CONFIG] for a Hugging Face dataset, or a save_to_disk folder")
    cmd.add_argument("--out", type=Path, required=True, help="output Parquet file, e.g. census.parquet")
    cmd.add_argument("--engine", choices=("local", "ray"), default="local",
                     help="local: in this process (default); ray: Ray Data actors (GPUs when present)")
    cmd.add_argument("--column", default="text", help="column holding the texts (tables and datasets)")
    cmd.add_argument("--target-column", help="column with target texts (encoder-decoders)")
    cmd.add_argument("--alignment-column", help="column with gold alignments as JSON, e.g. [[0], [1, 2]]")
    cmd.add_argument("--split", default="train", help="dataset split (Hugging Face datasets)")
    cmd.add_argument("--limit", type=int, help="use only the first N texts")
    cmd.add_argument("--batch-size", default="16",
                     help="texts per padded forward pass (default 16); auto: as many as half the GPU's free "
                          "memory holds (16 on a CPU)")
    cmd.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")
    cmd.add_argument("--dtype", help="model weights on a GPU: float16 or bfloat16 (statistics stay float32/64)")
    cmd.add_argument("--max-tokens", type=int, default=128, help="cut each text to this many tokens (default 128)")
    cmd.add_argument("--qk-texts", type=int, default=48,
                     help="texts whose query/key vectors are sampled for the 2-D map (0: no map; default 48)")
    cmd.add_argument("--qk-map", choices=("pca", "umap"), default="pca", help="projection of the map (default pca)")
    cmd.add_argument("--restart", action="store_true", help="discard parts of an earlier run instead of resuming")
    cmd.add_argument("--keep-parts", action="store_true", help="keep <out>.parts/ after the census is written")
    cmd.add_argument("--workers", type=int, help="Ray actors (default: one per GPU, else one per CPU)")
    cmd.add_argument("--ray-address", help="address of a running Ray cluster (default: start a local one)")
    cmd.add_argument("--quiet", action="store_true", help="no progress bar")
    cmd.set_defaults(run=run)


def summary(result: CensusResult) -> str:
    meta = result.meta
    speed = meta.n_texts / meta.seconds if meta.seconds else 0.0
    lines = [f"{meta.n_texts} texts, {meta.n_tokens} tokens, {meta.seconds:.1f} s ({speed:.1f} texts/s, "
             f"engine {meta.engine}) -> census of {len(result.heads)} heads of {meta.model}",
             f"{'statistic':12s} {'strongest head':22s} value"]
    for stat in SUMMARY_STATS:
        values = result.heads[stat]
        if values.notna().any():
            best = result.heads.loc[values.idxmax()]
            lines.append(f"{stat:12s} {best['kind']:8s} L{best['layer']:<3d} H{best['head']:<6d} {best[stat]:.3f}")
    primaries = result.heads.primary.value_counts()
    lines.append("primary roles: " + ", ".join(f"{role} {count}" for role, count in primaries.items()))
    lines += [f"note: {note}" for note in meta.notes]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from attnviz.census.batches import CensusOptions, batch_size_for
    from attnviz.census.engines import census
    from attnviz.errors import AttnvizError

    if args.batch_size != "auto":
        try:
            args.batch_size = int(args.batch_size)
        except ValueError:
            print(f"error: --batch-size must be a number or auto, not {args.batch_size!r}.", file=sys.stderr)
            return 2
    for name in ("batch_size", "max_tokens", "limit", "workers"):
        value = getattr(args, name)
        if value is not None and value != "auto" and value < 1:
            print(f"error: --{name.replace('_', '-')} must be at least 1, not {value}.", file=sys.stderr)
            return 2
    if args.qk_texts < 0:
        print("error: --qk-texts must be 0 or more.", file=sys.stderr)
        return 2
    try:
        model = args.model
        if args.device != "cpu" or args.dtype or args.batch_size == "auto":
            from attnviz.models.loading import load_model

            model = load_model(args.model, device=args.device, dtype=args.dtype)
        batch_size = batch_size_for(model, args.max_tokens) if args.batch_size == "auto" else args.batch_size
        options = CensusOptions(batch_size=batch_size, max_tokens=args.max_tokens, qk_texts=args.qk_texts)
        result = census(model, args.data, args.out, engine=args.engine, options=options, column=args.column,
                        target_column=args.target_column, alignment_column=args.alignment_column, split=args.split,
                        limit=args.limit, qk_method=args.qk_map, progress=not args.quiet, restart=args.restart,
                        keep_parts=args.keep_parts, workers=args.workers, ray_address=args.ray_address)
    except AttnvizError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted: finished batches are kept in {args.out}.parts; run the same command again to resume.",
              file=sys.stderr)
        return 130
    except Exception as error:  # a failure inside Ray or a model's own code: a sentence, not a traceback
        print(f"error: the census failed ({type(error).__name__}: {str(error)[:300]}); finished batches are kept "
              f"in {args.out}.parts.", file=sys.stderr)
        return 1
    print(summary(result))
    print(f"written: {args.out}")
    return 0
