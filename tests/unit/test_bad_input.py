"""Bad input gets a clear AttnvizError, never a traceback from deep inside transformers."""

from __future__ import annotations

import pytest

from attnviz import InputTextError, ModelLoadError, NoAttentionError, capture, load_model
from attnviz.capturing.tokenizing import MAX_CHARS
from attnviz.errors import LayerRequestError


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text(minilm, text):
    with pytest.raises(InputTextError, match="empty"):
        capture(minilm, text)


def test_huge_text_is_truncated_and_says_so(minilm):
    result = capture(minilm, "word " * 50_000)
    assert len(result.source) == minilm.shape.max_tokens == 512
    assert result.truncated
    assert result.source_truncation.total_chars > MAX_CHARS
    assert any("cut" in note for note in result.notes)


def test_max_tokens_argument(minilm):
    result = capture(minilm, "one two three four five six seven", max_tokens=5)
    assert len(result.source) == 5 and result.truncated
    assert result.source_truncation.total_tokens == 9


@pytest.mark.parametrize("text", ["😀🚆 emoji train", "火车准时驶出车站", "مرحبا بالعالم", "<script>alert(1)</script>",
                                  "e\u0301 combining \u200b zero-width", "a\x00b"])
def test_odd_unicode_and_markup_still_capture(minilm, text):
    result = capture(minilm, text)
    assert len(result.source) >= 3
    assert result.arrays["encoder"].shape[-1] == len(result.source)


def test_only_control_characters(minilm):
    with pytest.raises(InputTextError):
        capture(minilm, "\x00\x00")


@pytest.mark.parametrize("name, message", [
    ("no-such-model-anywhere", "not in the local Hugging Face cache"),
    ("/no/such/folder", "no folder"),
    ("bad name with spaces!", "neither a built-in model"),
    ("", "No model given"),
])
def test_unknown_models(name, message):
    with pytest.raises(ModelLoadError, match=message):
        load_model(name)


def test_folder_without_config(tmp_path):
    with pytest.raises(ModelLoadError, match="config.json"):
        load_model(str(tmp_path))


def test_broken_weights(tmp_path, tiny_model_dirs):
    import shutil

    folder = tmp_path / "broken"
    shutil.copytree(tiny_model_dirs["bert"], folder)
    (folder / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ModelLoadError, match="Could not load"):
        load_model(str(folder))


def test_model_without_attention(tmp_path):
    import transformers

    from attnviz.toy.tokenizer import build_tokenizer

    tokenizer = build_tokenizer("lm")
    config = transformers.MambaConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, state_size=4)
    transformers.MambaForCausalLM(config).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    with pytest.raises(NoAttentionError, match="no attention weights"):
        load_model(str(tmp_path))


def test_remote_code_is_never_run(tmp_path, tiny_model_dirs):
    import json
    import shutil

    folder = tmp_path / "remote"
    shutil.copytree(tiny_model_dirs["bert"], folder)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "evil.EvilModel", "AutoConfig": "evil.EvilConfig"}
    config["model_type"] = "evil-type"
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "evil.py").write_text("raise SystemExit('remote code ran')\n")
    with pytest.raises(ModelLoadError):
        load_model(str(folder))


@pytest.mark.parametrize("layers", [[6], [-1], {"cross": [0]}])
def test_layers_outside_the_model(minilm, layers):
    with pytest.raises(LayerRequestError):
        capture(minilm, "hello", layers=layers)
