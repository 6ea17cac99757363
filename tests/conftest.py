"""Shared fixtures: tiny models of every family, built from configs and saved to a temp folder.

They are loaded back by path, so the real loading code (config sniffing, tokenizer, weights,
attention routing) runs exactly as for a user's own model.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from hypothesis import HealthCheck, settings  # noqa: E402

# Hypothesis profiles. "ci" is the default (and what CI=true runs): derandomised, so every run tries the same
# examples and a new one cannot fail a run nobody changed. "long" is the deeper search, run by hand with a
# fresh random seed each time:
#     ATTNVIZ_FUZZ=long python -m pytest tests/fuzz      # 5 properties x 2100 + 6 = 10,506 cases
#     python -m pytest tests/fuzz --hypothesis-profile=long
# Loaded here, before any test module is imported, so every @settings(...) in the suite inherits it.
_FUZZ = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]}
settings.register_profile("ci", max_examples=25, derandomize=True, database=None, print_blob=True, **_FUZZ)
settings.register_profile("long", max_examples=2100, derandomize=False, print_blob=True, **_FUZZ)
settings.load_profile(os.environ.get("ATTNVIZ_FUZZ") or "ci")

import torch  # noqa: E402
import transformers  # noqa: E402

transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()


# Markers by place, so a new test file in one of these folders is marked without remembering to.
_SLOW_FILES = {"test_package.py", "test_architectures.py"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "e2e" in parts:
            item.add_marker(pytest.mark.e2e)
        if item.fspath.basename == "test_package.py":
            item.add_marker(pytest.mark.packaging)
        if "e2e" in parts or "fuzz" in parts or item.fspath.basename in _SLOW_FILES:
            item.add_marker(pytest.mark.slow)


def _tiny_configs(vocab: int) -> dict[str, transformers.PretrainedConfig]:
    common = {"vocab_size": vocab, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}
    return {
        "bert": transformers.BertConfig(hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
                                        intermediate_size=64, max_position_embeddings=64, **common),
        "roberta": transformers.RobertaConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                              intermediate_size=64, max_position_embeddings=70, **common),
        "gpt2": transformers.GPT2Config(n_embd=32, n_layer=3, n_head=4, n_positions=64, **common),
        "llama-gqa": transformers.LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                              num_attention_heads=4, num_key_value_heads=2,
                                              max_position_embeddings=64, **common),
        "qwen2-gqa": transformers.Qwen2Config(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                              num_attention_heads=4, num_key_value_heads=1,
                                              max_position_embeddings=64, **common),
        "t5": transformers.T5Config(d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=3,
                                    num_heads=4, decoder_start_token_id=0, **common),
        "bart": transformers.BartConfig(d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
                                        decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64,
                                        max_position_embeddings=64, decoder_start_token_id=2, **common),
        "marian": transformers.MarianConfig(d_model=32, encoder_layers=2, decoder_layers=2,
                                            encoder_attention_heads=4, decoder_attention_heads=4,
                                            encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=64,
                                            decoder_start_token_id=0, **common),
    }


FAMILIES = {"bert": "encoder", "roberta": "encoder", "gpt2": "decoder", "llama-gqa": "decoder",
            "qwen2-gqa": "decoder", "t5": "encoder-decoder", "bart": "encoder-decoder", "marian": "encoder-decoder"}


@pytest.fixture(scope="session")
def tiny_model_dirs(tmp_path_factory) -> dict[str, Path]:
    """{architecture name: folder with config, random weights and a word-level tokenizer}."""
    from attnviz.toy.tokenizer import build_tokenizer

    tokenizer = build_tokenizer("translator")
    root = tmp_path_factory.mktemp("tiny-models")
    dirs = {}
    for name, config in _tiny_configs(len(tokenizer)).items():
        torch.manual_seed(0)
        model = transformers.AutoModel.from_config(config) if FAMILIES[name] == "encoder" else (
            transformers.AutoModelForCausalLM.from_config(config) if FAMILIES[name] == "decoder"
            else transformers.AutoModelForSeq2SeqLM.from_config(config))
        folder = root / name
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        dirs[name] = folder
    return dirs


class _LoadedTiny(dict):
    """{architecture name: loaded model}, each loaded from its folder on first use and kept for the session."""

    def __init__(self, dirs: dict[str, Path]):
        super().__init__()
        self._dirs = dirs

    def __missing__(self, name: str):
        from attnviz import load_model

        self[name] = loaded = load_model(str(self._dirs[name]))
        return loaded


@pytest.fixture(scope="session")
def tiny_models(tiny_model_dirs) -> dict:
    """The tiny models loaded once per session. Shared: a test that changes weights or settings loads its own."""
    return _LoadedTiny(tiny_model_dirs)


# The built-in models, loaded once per session and shared by every test: read them, never change them.
@pytest.fixture(scope="session")
def minilm():
    from attnviz import load_model

    return load_model("minilm")


@pytest.fixture(scope="session")
def toy_lm():
    from attnviz import load_model

    return load_model("toy-lm")


@pytest.fixture(scope="session")
def toy_translator():
    from attnviz import load_model

    return load_model("toy-translator")


@pytest.fixture(scope="session")
def toy_induction():
    from attnviz import load_model

    return load_model("toy-induction")


@pytest.fixture(scope="session")
def padded_vocab_dirs(tmp_path_factory) -> dict[str, Path]:
    """{family: folder} of tiny models whose configured vocabulary is larger than their tokenizer's.

    Padded embedding tables are common (Qwen2.5, Phi-3). The ids past the tokenizer's are made the
    likeliest on purpose (their output weights or biases win), so a greedy guess that is not restricted
    to the tokenizer's ids lands on one every time.
    """
    from attnviz.toy.tokenizer import build_tokenizer

    tokenizer = build_tokenizer("translator")
    known = len(tokenizer)
    vocab = known + 64
    root = tmp_path_factory.mktemp("padded-vocab")
    common = {"vocab_size": vocab, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}
    torch.manual_seed(0)
    decoder = transformers.AutoModelForCausalLM.from_config(transformers.LlamaConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=64, tie_word_embeddings=False, **common))
    encoder_decoder = transformers.AutoModelForSeq2SeqLM.from_config(transformers.BartConfig(
        d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4,
        encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=64, decoder_start_token_id=2, **common))
    encoder = transformers.AutoModel.from_config(transformers.BertConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
        max_position_embeddings=64, **common))
    with torch.no_grad():
        decoder.lm_head.weight[:known] *= 0.01  # the unknown ids' logits dominate
        encoder_decoder.final_logits_bias[:, known:] = 50.0
    dirs = {}
    for family, model in {"decoder": decoder, "encoder-decoder": encoder_decoder, "encoder": encoder}.items():
        folder = root / family
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        dirs[family] = folder
    return dirs
