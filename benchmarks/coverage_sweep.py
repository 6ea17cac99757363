"""Coverage sweep: every text model type transformers registers, captured by attnviz and compared with eager.

    python benchmarks/coverage_sweep.py [--only llama,bert] [--limit 50] [--timeout 60]

For each model type in transformers' own registry it builds a model from the default configuration shrunk to a
tiny size (random weights, the toy word-level tokenizer), saves it, loads it with attnviz, captures one sentence
and compares every map with the model's own eager ``output_attentions=True``. It prints one line per family:
the path attnviz used, the largest difference, or why the family was skipped (not a text model, needs remote
code, could not be built tiny, returns no attention) — and, separately, any family attnviz refuses or gets
wrong although eager returns weights: those are engine bugs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from transformers.models.auto import configuration_auto, modeling_auto  # noqa: E402

from attnviz import capture, load_model  # noqa: E402
from attnviz.models.loading import family_of  # noqa: E402
from attnviz.toy.tokenizer import build_tokenizer  # noqa: E402
from attnviz.tracing.probe import returned_attentions  # noqa: E402

transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()
TEXT, TARGET = "the teacher saw a book in the park", "老师 看见 书"
TOLERANCE = 1e-5

# Sizes every config is shrunk to, by attribute name (only attributes the config has are set).
SHRINK = {
    "hidden_size": 32, "d_model": 32, "n_embd": 32, "dim": 32, "embed_dim": 32, "word_embed_proj_dim": 32,
    "embedding_size": 32, "n_embed": 32,
    "num_hidden_layers": 2, "num_layers": 2, "n_layer": 2, "n_layers": 2, "encoder_layers": 2, "decoder_layers": 2,
    "num_decoder_layers": 2,
    "num_attention_heads": 4, "n_head": 4, "n_heads": 4, "num_heads": 4, "encoder_attention_heads": 4,
    "decoder_attention_heads": 4,
    "num_key_value_heads": 2, "n_head_kv": 2, "num_kv_heads": 2,
    "intermediate_size": 64, "d_ff": 64, "ffn_dim": 64, "encoder_ffn_dim": 64, "decoder_ffn_dim": 64, "n_inner": 64,
    "hidden_dim": 64, "moe_intermediate_size": 32, "shared_expert_intermediate_size": 32,
    "head_dim": 8, "d_kv": 8, "kv_channels": 8, "rotary_dim": 4, "qk_rope_head_dim": 4, "qk_nope_head_dim": 4,
    "v_head_dim": 8, "kv_lora_rank": 16, "q_lora_rank": 16,
    "num_experts": 4, "num_local_experts": 4, "n_routed_experts": 4, "num_experts_per_tok": 2, "moe_topk": 2,
    "top_k": 2,
}
NOT_TEXT = ("vision_config", "audio_config", "vision_tower", "image_size", "num_mel_bins", "patch_size",
            "speech_config", "num_channels")


class Timeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: int):
    def stop(*_):
        raise Timeout(f"over {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def family_of_type(model_type: str) -> str | None:
    if model_type in modeling_auto.MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES:
        return "encoder-decoder"
    if model_type in modeling_auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        return "decoder"
    if model_type in modeling_auto.MODEL_FOR_MASKED_LM_MAPPING_NAMES:
        return "encoder"
    return None


def shrink(config: transformers.PretrainedConfig, vocab: int) -> transformers.PretrainedConfig:
    """Tiny sizes for every attribute the config has, on it and on its text sub-config."""
    targets = [config]
    text = config.get_text_config()
    if text is not config:
        targets.append(text)
    for target in targets:
        values = target.to_dict()
        for key, value in SHRINK.items():
            if key in values and isinstance(values[key], int) and values[key] > 0:
                setattr(target, key, value)
        if "vocab_size" in values:
            target.vocab_size = vocab
        for key in ("pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id"):
            if key in values and isinstance(values[key], int) and values[key] >= vocab:
                setattr(target, key, 2)
        if isinstance(values.get("layer_types"), list):  # per-layer patterns must match the new depth
            layers = getattr(target, "num_hidden_layers", 2)
            target.layer_types = (values["layer_types"] * layers)[:layers]
        if "max_position_embeddings" in values and isinstance(values["max_position_embeddings"], int):
            target.max_position_embeddings = max(64, min(values["max_position_embeddings"], 512))
    return config


def model_class(family: str):
    return {"encoder": transformers.AutoModel, "decoder": transformers.AutoModelForCausalLM,
            "encoder-decoder": transformers.AutoModelForSeq2SeqLM}[family]


def eager_reference(folder: Path, family: str, result, tokenizer_inputs=("input_ids", "attention_mask")
                    ) -> dict[str, np.ndarray]:
    model = model_class(family).from_pretrained(folder, attn_implementation="eager").eval()
    ids = torch.tensor([result.source.token_ids])
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}  # what capture passes, as a tokenizer would
    if "token_type_ids" in tokenizer_inputs:
        inputs["token_type_ids"] = torch.zeros_like(ids)
    if result.decoder_input is not None:
        inputs["decoder_input_ids"] = torch.tensor([result.decoder_input.token_ids])
    with torch.no_grad():
        outputs = model(**inputs, output_attentions=True, use_cache=False)
    returned = returned_attentions(outputs, family)
    return {kind: torch.stack(maps)[:, 0].float().numpy() for kind, maps in returned.items()}


def sweep_one(model_type: str, config_class_name: str, root: Path, tokenizer) -> tuple[str, str, str, str]:
    """(family, status, path, detail) for one model type."""
    if family_of_type(model_type) is None:
        return "-", "skipped", "-", "not a text language model (no causal, masked or seq2seq LM class)"
    config_class = getattr(transformers, config_class_name, None)
    if config_class is None:
        return "-", "skipped", "-", "config class not importable"
    try:
        config = config_class()
    except Exception as error:
        return "-", "skipped", "-", f"default config fails: {type(error).__name__}"
    family = family_of(config)  # as attnviz decides it (BERT has a causal LM head but is an encoder)
    if any(hasattr(config, name) for name in NOT_TEXT):
        return family, "skipped", "-", "vision, audio or multimodal"
    try:
        torch.manual_seed(0)
        model = model_class(family).from_config(shrink(config, len(tokenizer)))
        folder = root / model_type
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        del model
    except Exception as error:
        return family, "skipped", "-", f"cannot be built tiny: {type(error).__name__}: {str(error)[:80]}"
    try:
        loaded = load_model(str(folder))
        result = capture(loaded, TEXT, target=TARGET if loaded.family == "encoder-decoder" else None)
    except Exception as error:
        try:
            eager = eager_reference_without_capture(folder, family)
        except Exception:
            eager = False
        status = "REFUSED" if eager else "skipped"
        reason = "eager returns weights: ENGINE BUG" if eager else "eager returns no token × token weights either"
        return family, status, "-", f"{type(error).__name__}: {str(error)[:100]} ({reason})"
    try:
        reference = eager_reference(folder, family, result, tokenizer.model_input_names)
    except Exception as error:
        return loaded.family, "tested", loaded.capture_path, f"no eager reference: {type(error).__name__}"
    n_source = len(result.source)
    n_target = len(result.decoder_input) if result.decoder_input is not None else n_source
    tokens = {"encoder": (n_source, n_source), "decoder": (n_target, n_target), "cross": (n_target, n_source)}
    windowed = sorted(k for k in reference if reference[k].shape[-2:] != tokens[k])
    for kind in windowed:  # local-window attention (Longformer, LED) returns [query, window], not [query, key]
        del reference[kind]
    if set(reference) != set(result.arrays) - set(windowed):
        return loaded.family, "DIFFERENT", loaded.capture_path, f"kinds {sorted(result.arrays)} vs {sorted(reference)}"
    if not reference:
        return loaded.family, "tested", loaded.capture_path, "eager returns window-shaped maps only"
    difference = max(float(np.abs(result.arrays[k] - reference[k]).max()) for k in reference)
    status = "equal" if difference <= TOLERANCE else "DIFFERENT"
    missing = sorted(set(_KINDS[loaded.family]) - set(reference) - set(windowed))
    note = (f" ({', '.join(missing)}: block-local, no token × token map)" if missing else "") + \
        (f" ({', '.join(windowed)}: eager returns [query, window], not compared)" if windowed else "")
    return loaded.family, status, loaded.capture_path, f"{difference:.1e}{note}"


_KINDS = {"encoder": ("encoder",), "decoder": ("decoder",), "encoder-decoder": ("encoder", "decoder", "cross")}


def eager_reference_without_capture(folder: Path, family: str) -> bool:
    model = model_class(family).from_pretrained(folder, attn_implementation="eager").eval()
    inputs = {"input_ids": torch.arange(5)[None] + 5}
    if family == "encoder-decoder":
        inputs["decoder_input_ids"] = torch.arange(3)[None] + 5
    with torch.no_grad():
        outputs = model(**inputs, output_attentions=True, use_cache=False)
    returned = returned_attentions(outputs, family)
    return any(maps[0].shape[-1] == maps[0].shape[-2] for kind, maps in returned.items() if kind != "cross")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated model types")
    parser.add_argument("--limit", type=int, default=0, help="stop after this many model types")
    parser.add_argument("--timeout", type=int, default=90, help="seconds per model type")
    args = parser.parse_args()
    torch.set_num_threads(1)
    tokenizer = build_tokenizer("translator")
    types = sorted(configuration_auto.CONFIG_MAPPING_NAMES.items())
    if args.only:
        wanted = set(args.only.split(","))
        types = [(t, c) for t, c in types if t in wanted]
    if args.limit:
        types = types[: args.limit]
    counts: dict[str, int] = {}
    bugs = []
    started = time.perf_counter()
    print(f"transformers {transformers.__version__}, torch {torch.__version__}: {len(types)} model types\n")
    print("| family | kind | status | path | max diff / reason |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for model_type, config_name in types:
            try:
                with time_limit(args.timeout):
                    kind, status, path, detail = sweep_one(model_type, config_name, Path(tmp), tokenizer)
            except Timeout as error:
                kind, status, path, detail = "-", "skipped", "-", f"timed out ({error})"
            except Exception as error:  # the sweep itself must go on
                kind, status, path, detail = "-", "skipped", "-", f"sweep error {type(error).__name__}: {error}"
                traceback.print_exc(file=sys.stderr)
            counts[status] = counts.get(status, 0) + 1
            if status in ("REFUSED", "DIFFERENT"):
                bugs.append(model_type)
            print(f"| {model_type} | {kind} | {status} | {path} | {detail} |", flush=True)
    tested = counts.get("equal", 0) + counts.get("DIFFERENT", 0) + counts.get("tested", 0)
    print(f"\nsummary: {counts.get('equal', 0)} equal / {tested} tested / {counts.get('skipped', 0)} skipped / "
          f"{counts.get('REFUSED', 0)} refused though eager returns weights / {counts.get('DIFFERENT', 0)} different "
          f"({time.perf_counter() - started:.0f} s)")
    if bugs:
        print("engine bugs:", ", ".join(bugs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
