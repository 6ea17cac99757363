"""``attnviz contributions`` and ``attnviz lens``: what each head and MLP adds to a logit, and the logit lens.

``attnviz contributions --model toy-lm --text "..." [--token W] [--contrast B] [--json]``;
``attnviz lens --model toy-lm --text "..." [--k 5] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import sys

from attnviz.models.registry import DEFAULT_MODEL


def _common(parser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL, help="built-in, hub id or local folder (a decoder, or an "
                                                               "encoder-decoder's decoder)")
    parser.add_argument("--text", required=True, help="input text (source text for encoder-decoders)")
    parser.add_argument("--target", help="decoder text for encoder-decoders (default: the model generates it)")
    parser.add_argument("--max-tokens", type=int, help="cut the text to this many tokens")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def add_parser(commands) -> None:
    contributions = commands.add_parser("contributions", help="each head's and MLP's direct effect on a logit")
    _common(contributions)
    contributions.add_argument("--token", help="the token whose logit is explained (default: the model's prediction)")
    contributions.add_argument("--contrast", help="explain logit(token) minus logit(this token)")
    contributions.add_argument("--position", type=int, default=-1, help="which position's prediction (default: last)")
    contributions.add_argument("--top", type=int, default=10, help="how many heads the table lists")
    contributions.set_defaults(run=run)
    lens = commands.add_parser("lens", help="the logit lens: the top tokens at every layer and position")
    _common(lens)
    lens.add_argument("--k", type=int, default=5, help="top tokens per cell")
    lens.set_defaults(run=run)


def format_attribution(attribution, top: int) -> str:
    against = f" − {attribution.contrast!r}" if attribution.contrast else ""
    lines = [f"logit({attribution.token!r}){against} at position {attribution.position}: {attribution.logit:.4f} "
             f"(the parts add up to {attribution.total:.4f})",
             f"{'part':<16}{'value':>10}{'share':>8}"]
    for share in attribution.top_heads(top):
        name = f"{'cross ' if share.kind == 'cross' else ''}L{share.layer} H{share.head}"
        lines.append(f"{name:<16}{share.value:>10.4f}{share.share:>8.1%}")
    total = max(attribution.magnitude, 1e-12)
    for layer, value in enumerate(attribution.mlps):
        lines.append(f"{f'MLP {layer}':<16}{value:>10.4f}{abs(value) / total:>8.1%}")
    lines.append(f"{'embeddings':<16}{attribution.embeddings:>10.4f}{abs(attribution.embeddings) / total:>8.1%}")
    lines.append(f"{'biases':<16}{attribution.bias + attribution.attention_bias.sum():>10.4f}")
    return "\n".join(lines)


def format_lens(lens) -> str:
    width = max(10, *(len(label) + 2 for label in lens.positions))
    header = f"{'layer':<7}" + "".join(f"{label[:width - 2]:>{width}}" for label in lens.positions)
    lines = ["rank:probability of the final prediction (its token in the last row)", header]
    for row in range(lens.n_rows):
        lines.append(f"{row:<7}" + "".join(
            f"{f'{lens.prediction_rank[row, pos]}:{lens.prediction_probability[row, pos]:.2f}':>{width}}"
            for pos in range(len(lens.positions))))
    lines.append(f"{'top':<7}" + "".join(f"{str(label)[:width - 2]:>{width}}" for label in lens.predictions))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from attnviz import AttnvizError, load_model
    from attnviz.contributions.decompose import decompose
    from attnviz.contributions.lens import logit_lens
    from attnviz.contributions.logits import direct_logit_attribution

    try:
        loaded = load_model(args.model)
        decomposition = decompose(loaded, args.text, args.target, max_tokens=args.max_tokens)
        if args.command == "lens":
            result = logit_lens(loaded, decomposition, k=args.k)
        else:
            result = direct_logit_attribution(loaded, decomposition, token=args.token, contrast=args.contrast,
                                              position=args.position)
    except AttnvizError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.records() if args.command == "lens" else result.rows(), ensure_ascii=False))
    else:
        print(format_lens(result) if args.command == "lens" else format_attribution(result, args.top))
    return 0
