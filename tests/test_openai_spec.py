"""OpenAI's rules, as both sides of the HTTP line read them."""
import httpx
import pytest

from ftlab import openai_spec as spec


@pytest.mark.parametrize("name,value,ok", [
    ("n_epochs", 1, True), ("n_epochs", 50, True), ("n_epochs", 0, False), ("n_epochs", 51, False),
    ("n_epochs", 2.5, False), ("n_epochs", 3.0, True), ("n_epochs", True, False), ("n_epochs", "3", False),
    ("batch_size", 256, True), ("batch_size", 257, False),
    ("learning_rate_multiplier", 0.0, False), ("learning_rate_multiplier", 1e-9, True),
    ("learning_rate_multiplier", 1e6, True),
    ("beta", 0.0, False), ("beta", 2.0, True), ("beta", 2.01, False),
])
def test_hyperparameter_ranges_both_sides(name, value, ok):
    assert spec.HYPERPARAMETER_RANGES[name].contains(value) is ok


def test_range_describe():
    r = spec.HYPERPARAMETER_RANGES
    assert r["n_epochs"].describe() == "1–50"
    assert r["learning_rate_multiplier"].describe() == "> 0.0"
    assert r["beta"].describe() == "(0.0, 2.0]"


def test_suffix_and_seed():
    assert spec.suffix_ok("a" * 64) and not spec.suffix_ok("a" * 65) and not spec.suffix_ok("")
    assert not spec.suffix_ok(None)
    assert spec.seed_ok(0) and spec.seed_ok(spec.SEED_MAX)
    assert not spec.seed_ok(spec.SEED_MAX + 1) and not spec.seed_ok(-1) and not spec.seed_ok(True)


def test_ft_model_name_round_trip():
    name = spec.ft_model_name("gpt-4.1-nano-2025-04-14", "ftlab", "converti-v1", "abc123")
    assert name == "ft:gpt-4.1-nano-2025-04-14:ftlab:converti-v1:abc123"
    assert spec.parse_ft_model_name(name) == {"base": "gpt-4.1-nano-2025-04-14", "org": "ftlab",
                                              "suffix": "converti-v1", "id": "abc123",
                                              "checkpoint_step": None}
    ckpt = spec.parse_ft_model_name(spec.checkpoint_model_name(name, 20))
    assert ckpt["checkpoint_step"] == 20 and ckpt["id"] == "abc123"
    assert spec.parse_ft_model_name(spec.ft_model_name("gpt-4o-mini-2024-07-18", "o", None, "x"))["suffix"] is None
    assert spec.parse_ft_model_name("gpt-4o-mini")["base"] == "gpt-4o-mini"
    assert spec.base_model(name) == "gpt-4.1-nano-2025-04-14" and spec.base_model("gpt-4o") == "gpt-4o"


def test_models_and_token_limits():
    assert spec.course_snapshot("gpt-4.1-nano") == "gpt-4.1-nano-2025-04-14"
    assert spec.course_snapshot("gpt-5") is None
    assert spec.model_family("ft:gpt-4o-mini-2024-07-18:o::x") == "gpt-4o-mini"
    assert spec.token_limit("gpt-3.5-turbo-0125") == 16_385
    assert spec.token_limit("some-new-model") == spec.DEFAULT_TOKEN_LIMIT
    assert spec.encoding_name("gpt-4-0613") == "cl100k_base"
    assert spec.encoding_name("gpt-4.1-mini") == spec.encoding_name("gpt-4o") == "o200k_base"


def test_course_model_is_configurable(monkeypatch):
    import importlib
    monkeypatch.setenv("FTLAB_MODEL", "gpt-4.1-mini-2025-04-14")
    try:
        assert importlib.reload(spec).COURSE_MODEL == "gpt-4.1-mini-2025-04-14"
    finally:
        monkeypatch.delenv("FTLAB_MODEL")
        importlib.reload(spec)
    assert spec.COURSE_MODEL == "gpt-4.1-nano-2025-04-14"


def test_default_epochs():
    assert [spec.default_epochs(n) for n in (1, 10, 33, 34, 1000, 8334, 100_000)] == [25, 10, 3, 3, 3, 2, 1]


@pytest.mark.parametrize("url,local", [
    ("http://127.0.0.1:8000/v1", True), ("http://localhost/v1", True), ("http://[::1]:9/v1", True),
    ("https://api.openai.com/v1", False), ("https://localhost.example.com", False),
    (httpx.URL("http://127.0.0.1:5/v1/"), True), (httpx.URL("https://api.openai.com/v1/"), False),
])
def test_is_local_url(url, local):
    assert spec.is_local_url(url) is local


def test_content_text_reads_text_parts_only():
    parts = [{"type": "text", "text": "Che cosa "}, {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
             {"type": "text", "text": "mostra?"}, {"type": "text"}, "junk"]
    assert spec.content_text(parts) == "Che cosa mostra?"
    assert spec.content_text("ciao") == "ciao"
    assert spec.content_text(None) is None and spec.content_text(42) is None
    assert spec.content_text([]) == ""


def test_billed_tokens_truncate_at_the_cap():
    assert spec.billed_tokens([10, 100_000], 2) == 2 * (10 + spec.DEFAULT_TOKEN_LIMIT)
    assert spec.billed_tokens([10, 30], 3, cap=20) == 3 * 30


def test_content_part_types_follow_the_openapi_spec():
    assert spec.CONTENT_PART_TYPES["user"] == ("text", "image_url", "input_audio", "file")
    assert spec.CONTENT_PART_TYPES["assistant"] == ("text", "refusal")
    assert spec.CONTENT_PART_TYPES["system"] == spec.CONTENT_PART_TYPES["tool"] == ("text",)
