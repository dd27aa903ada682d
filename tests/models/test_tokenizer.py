"""The tiny model's tokenizer splits text the same way after ``save_pretrained`` and ``AutoTokenizer``."""

from __future__ import annotations

from transformers import AutoTokenizer

from pipeline.data.prompts import chat
from pipeline.models.tiny import build_tiny_model, load_model
from pipeline.models.tokenizer import build_tokenizer

TEXTS = [
    "<think>f grows by 5 per step</think><answer>```python\ndef f(x):\n    return 5*x+13\n```</answer>",
    "Write a Python function f(x) with f(0) = 55 and f(5) = 75.\nPut your code in a block.",
    "Tom has 12 boxes of 3 apples; 36 - 7 = 29.  Two spaces,\n\n\ttabs and ünïcödé é (e\u0301).",
    "<think>Kalo color</think><answer>teal</answer>",
]


def test_a_saved_tokenizer_loads_with_the_same_ids(tmp_path):
    tokenizer = build_tokenizer(TEXTS * 20, vocab_size=400)
    model = build_tiny_model(len(tokenizer), 32, 1, 2, 1, 64, 128, 0, tokenizer)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    # transformers ≥ 5 loads a qwen2 model's tokenizer as Qwen2Tokenizer, with that class's pre-tokeniser
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert len(loaded) == len(tokenizer)  # no token added on loading (unk_token)
    for text in TEXTS:
        ours = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert loaded(text, add_special_tokens=False)["input_ids"] == ours, text
        assert loaded.decode(ours) == tokenizer.decode(ours)
    assert "".join(tokenizer.convert_ids_to_tokens(tokenizer("f(0) = 55")["input_ids"])).count("5") == 2
    assert [t for t in tokenizer.convert_ids_to_tokens(tokenizer("= 1234")["input_ids"]) if t.isdigit()] == list("1234")
    prompt = chat("What is 2+2?\nAnswer briefly.")
    assert (loaded.apply_chat_template(prompt, tokenize=True, add_generation_prompt=True)["input_ids"]
            == tokenizer.apply_chat_template(prompt, tokenize=True, add_generation_prompt=True)["input_ids"])
    _, through_pipeline = load_model(tmp_path)
    assert through_pipeline(TEXTS[0])["input_ids"] == tokenizer(TEXTS[0])["input_ids"]


def test_tags_survive_decoding_that_skips_special_tokens(tmp_path):
    """verl's reward managers and vLLM decode with skip_special_tokens=True: the think/answer tags must stay (one
    token each, the same ids as before), while EOS and the chat markers go."""
    from pipeline.models.tokenizer import EOS, TAGS

    tokenizer = build_tokenizer(TEXTS * 20, vocab_size=400)
    build_tiny_model(len(tokenizer), 32, 1, 2, 1, 64, 128, 0, tokenizer).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    text = "<think>2+2=4</think><answer>\\boxed{4}</answer>"
    for tok in (tokenizer, AutoTokenizer.from_pretrained(tmp_path)):
        assert [tok.convert_tokens_to_ids(t) for t in TAGS] == [6, 7, 8, 9]  # after pad, bos, eos, 3 role markers
        ids = tok(text + EOS, add_special_tokens=False)["input_ids"]
        assert sum(i in ids for i in (6, 7, 8, 9)) == 4
        assert tok.decode(ids, skip_special_tokens=True) == text
