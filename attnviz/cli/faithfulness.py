"""``attnviz faithfulness --model M --text T [--json]``: every method's scores and their rank agreement."""

from __future__ import annotations

import argparse
import math
import sys

from attnviz.faithfulness.gradients import IG_STEPS
from attnviz.faithfulness.outputs import OUTPUTS_OF

OUTPUT_KINDS = sorted({kind for kinds in OUTPUTS_OF.values() for kind in kinds})


def add_parser(commands) -> None:
    cmd = commands.add_parser("faithfulness", help="which explanation agrees with the model: attention, rollout, "
                                                   "flow, value-weighted, gradients, occlusion, scored")
    cmd.add_argument("--model", default="minilm", help="built-in, hub id or local folder")
    cmd.add_argument("--text", required=True, help="input text (source text for encoder-decoders)")
    cmd.add_argument("--target", help="target text for encoder-decoders (default: the model's translation)")
    cmd.add_argument("--output", choices=OUTPUT_KINDS,
                     help="what to explain (default: next_token, target_token or sentence_mean by family)")
    cmd.add_argument("--token", help="next_token: the word whose log-probability is explained (its first token; "
                                     "default: the model's top guess)")
    cmd.add_argument("--position", type=int, help="target_token: target position (default: the first word)")
    cmd.add_argument("--steps", type=int, default=IG_STEPS,
                     help=f"integrated gradients' steps (default {IG_STEPS})")
    cmd.add_argument("--max-tokens", type=int, help="cut the text to this many tokens")
    cmd.add_argument("--merge-words", action="store_true", help="sum sub-word pieces into words")
    cmd.add_argument("--show-special", action="store_true", help="keep [CLS], </s> ... in the scores and ranks")
    cmd.add_argument("--json", action="store_true", help="print JSON instead of tables")
    cmd.set_defaults(run=run)


def _cell(value: float) -> str:
    return "     –" if not math.isfinite(value) else f"{value:+6.2f}"


def tables(run, hide_special: bool, merge_words: bool) -> str:
    axis = run.axis(hide_special, merge_words)
    scores = run.on(axis)
    output = run.output
    what = {"next_token": f"log p('{output.label}') after the text", "target_token":
            f"log p('{output.label}') at target position {output.position}",
            "sentence_mean": "mean-pooled sentence embedding along its own direction",
            "cls": "first-token ([CLS]) state along its own direction"}[output.kind]
    lines = [f"{run.model_name}: {what} = {output.value:.4f} (blank input: {run.baseline_value:.4f}); "
             f"integrated gradients {run.ig_steps} steps, convergence delta {run.ig_delta:+.2e}",
             "", f"{'method':22s} " + " ".join(f"{label[:8]:>8s}" for label in axis.labels)]
    for method in run.methods:
        lines.append(f"{method:22s} " + " ".join(f"{v:8.3g}" for v in scores[method]))
    agreement = run.agreement(hide_special, merge_words)
    lines += ["", f"{'Spearman ρ with':22s} " + " ".join(f"{ref[:12]:>12s}" for ref in agreement)]
    for method in run.methods:
        lines.append(f"{method:22s} " + " ".join(f"{_cell(agreement[ref][method]):>12s}" for ref in agreement))
    lines += [f"not here: {method} ({code})" for method, code in run.unavailable.items()]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from attnviz.errors import AttnvizError
    from attnviz.faithfulness.compute import faithfulness
    from attnviz.faithfulness.export import run_to_json
    from attnviz.faithfulness.outputs import OutputChoice
    from attnviz.models.loading import load_model

    if args.max_tokens is not None and args.max_tokens < 2:
        print(f"error: --max-tokens must be at least 2, not {args.max_tokens}.", file=sys.stderr)
        return 2
    try:
        loaded = load_model(args.model)
        result = faithfulness(loaded, args.text, args.target,
                              OutputChoice(args.output, args.token, args.position), steps=args.steps,
                              max_tokens=args.max_tokens)
    except AttnvizError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    hide = not args.show_special
    if args.json:
        print(run_to_json(result, hide, args.merge_words).decode())
    else:
        print(tables(result, hide, args.merge_words))
    return 0
