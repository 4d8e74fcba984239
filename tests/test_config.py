"""Settings: every HELPDESK_* variable is read, and bad values name their variable."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from helpdesk.config import ENV_PREFIX, SETTINGS, Settings
from helpdesk.embeddings import FakeEmbeddings, make_embedder
from helpdesk.errors import ConfigError

# A non-default value for every setting, as text, and what it must parse to.
ENVIRONMENT = {
    "source_dir": ("/srv/kb", Path("/srv/kb")),
    "data_dir": ("/srv/data", Path("/srv/data")),
    "vector_store": ("Server", "server"),
    "chroma_host": ("chroma.internal", "chroma.internal"),
    "chroma_port": ("8443", 8443),
    "chroma_ssl": ("yes", True),
    "chroma_ca_bundle": ("/etc/ssl/chroma-ca.pem", "/etc/ssl/chroma-ca.pem"),
    "chroma_token": ("s3cret", "s3cret"),
    "chroma_token_header": ("x-chroma-token", "X-Chroma-Token"),
    "chroma_tenant": ("acme", "acme"),
    "chroma_database": ("helpdesk", "helpdesk"),
    "chroma_prefix": ("helpdesk-prod", "helpdesk-prod"),
    "exact_search_chunks": ("0", 0),
    "sources": ("/etc/helpdesk/sources.yaml", "/etc/helpdesk/sources.yaml"),
    "embedding": ("fake", "fake"),
    "embedding_cache": ("off", False),
    "embedding_cache_dir": ("/tmp/shared-cache", "/tmp/shared-cache"),
    "chunk_size": ("700", 700),
    "chunk_overlap": ("70", 70),
    "max_document_bytes": ("1000000", 1_000_000),
    "top_k": ("3", 3),
    "candidates": ("12", 12),
    "fusion": ("RRF", "rrf"),
    "rrf_k": ("20", 20),
    "typo_tolerance": ("off", False),
    "query_cache": ("0", 0),
    "fusion_weights": ("en:minilm=0.5;ko:bm25=1", "en:minilm=0.5;ko:bm25=1"),
    "reranker": ("/models/cross-encoder", "/models/cross-encoder"),
    "rerank_candidates": ("12", 12),
    "dense_weight": ("0.5", 0.5),
    "lexical_weight": ("2", 2.0),
    "keyword_boost": ("0", 0.0),
    "coverage_boost": ("2.5", 2.5),
    "min_confidence": ("0.25", 0.25),
    "min_answer_probability": ("0.3", 0.3),
    "llm": ("OpenAI", "openai"),
    "llm_model": ("qwen2.5:1.5b", "qwen2.5:1.5b"),
    "llm_base_url": ("http://localhost:11434/v1", "http://localhost:11434/v1"),
    "llm_api_key": ("sk-local", "sk-local"),
    "llm_timeout": ("30", 30.0),
    "llm_first_token_timeout": ("10", 10.0),
    "llm_retries": ("2", 2),
    "llm_max_tokens": ("128", 128),
    "llm_threads": ("4", 4),
    "llm_context": ("2048", 2048),
    "llm_passages": ("3", 3),
    "llm_passage_chars": ("400", 400),
    "prompt_template": ("/etc/helpdesk/prompt.txt", "/etc/helpdesk/prompt.txt"),
    "persona": ("a calm agent for Acme", "a calm agent for Acme"),
    "verify_threshold": ("0.7", 0.7),
    "conversation_turns": ("2", 2),
    "max_question_chars": ("300", 300),
    "max_k": ("20", 20),
    "keep_generations": ("4", 4),
    "replay_backend": ("llamacpp", "llamacpp"),
    "replay_failures": ("50", 50),
    "replay_sample": ("0", 0),
    "reload_interval": ("0", 0.0),
    "cors_origins": (
        "https://shop.example, http://localhost:8000",
        "https://shop.example, http://localhost:8000",
    ),
    "agent_keys": ("k1,k2", "k1,k2"),
    "agent_keys_file": ("/etc/helpdesk/agent-keys.json", "/etc/helpdesk/agent-keys.json"),
    "host": ("0.0.0.0", "0.0.0.0"),
    "port": ("8080", 8080),
    "threads": ("8", 8),
    "workers": ("4", 4),
    "trusted_proxies": ("1", 1),
    "rate_limit": ("60/minute;1000/hour", "60/minute;1000/hour"),
    "rate_limit_ask": ("10/minute", "10/minute"),
    "rate_limit_agent": ("", ""),
    "rate_limit_storage": ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379"),
    "llm_queue": ("2", 2),
    "hsts_max_age": ("31536000", 31536000),
    "handoff_contact": ("help@example.com", "help@example.com"),
    "log_level": ("debug", "DEBUG"),
    "database_url": ("postgresql+psycopg://u@db/helpdesk", "postgresql+psycopg://u@db/helpdesk"),
    "retention_days": ("30", 30),
    "comeback_days": ("5", 5),
    "comeback_similarity": ("0.3", 0.3),
    "escalation_rules": ("Frustration, repeated", ("frustration", "repeated")),
    "frustration_threshold": ("0.7", 0.7),
    "agent_language": ("KO", "ko"),
    "webhook_url": ("https://hooks.example/tickets", "https://hooks.example/tickets"),
    "webhook_secret": ("s3cret", "s3cret"),
    "webhook_max_backoff": ("60", 60.0),
    "product_boost": ("0.25", 0.25),
    "experiment": ("experiments/shorter.yaml", "experiments/shorter.yaml"),
}


def env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def test_the_test_table_covers_every_setting() -> None:
    assert set(ENVIRONMENT) == {s.name for s in SETTINGS}


def test_from_env_parses_every_variable() -> None:
    environ = {env_name(name): raw for name, (raw, _) in ENVIRONMENT.items()}
    settings = Settings.from_env(environ)
    for name, (_, expected) in ENVIRONMENT.items():
        value = getattr(settings, name)
        assert value == expected, name
        assert type(value) is type(expected), name


def test_from_env_without_variables_gives_the_defaults() -> None:
    assert Settings.from_env({}) == Settings()


def test_from_env_ignores_unrelated_variables() -> None:
    assert Settings.from_env({"HELPDESK": "x", "TOP_K": "9", "HELPDESK_NOPE": "1"}) == Settings()


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("top_k", "abc"),
        ("top_k", "0"),
        ("port", "-1"),
        ("chunk_size", "1.5"),
        ("chunk_overlap", "many"),
        ("min_confidence", "1.5"),
        ("min_confidence", "high"),
        ("dense_weight", "-1"),
        ("reload_interval", "-0.1"),
        ("embedding_cache", "maybe"),
        ("fusion_weights", "en:minilm"),
        ("fusion_weights", "minilm=1"),
        ("fusion_weights", "en:minilm=-1"),
        ("log_level", "verbose"),
        ("keep_generations", "0"),
        ("replay_backend", "gpt"),
        ("replay_sample", "-1"),
        ("retention_days", "-1"),
        ("escalation_rules", "frustration,grumpy"),
        ("frustration_threshold", "2"),
        ("agent_language", "fr"),
        ("database_url", "mysql://u@db/helpdesk"),
        ("vector_store", "qdrant"),
        ("chroma_port", "0"),
        ("chroma_token_header", "X-Api-Key"),
        ("chroma_prefix", "-leading-dash"),
        ("chroma_prefix", "has space"),
        ("exact_search_chunks", "-1"),
    ],
)
def test_a_bad_value_raises_config_error_naming_the_variable(name: str, raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({env_name(name): raw})
    assert env_name(name) in str(caught.value)
    assert caught.value.code == "bad_setting"


@pytest.mark.parametrize(
    "name", ["dense_weight", "lexical_weight", "keyword_boost", "reload_interval"]
)
def test_not_a_number_is_a_bad_value(name: str) -> None:
    with pytest.raises(ConfigError, match=env_name(name)):
        Settings.from_env({env_name(name): "nan"})


def test_overlap_not_smaller_than_size_names_both_variables() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"HELPDESK_CHUNK_SIZE": "100", "HELPDESK_CHUNK_OVERLAP": "100"})
    assert "HELPDESK_CHUNK_OVERLAP" in str(caught.value)
    assert "HELPDESK_CHUNK_SIZE" in str(caught.value)


def test_negative_overlap_is_rejected() -> None:
    with pytest.raises(ConfigError, match="HELPDESK_CHUNK_OVERLAP"):
        Settings.from_env({"HELPDESK_CHUNK_OVERLAP": "-1"})


def test_both_weights_zero_is_rejected() -> None:
    environ = {"HELPDESK_DENSE_WEIGHT": "0", "HELPDESK_LEXICAL_WEIGHT": "0"}
    with pytest.raises(ConfigError, match="HELPDESK_DENSE_WEIGHT"):
        Settings.from_env(environ)


def test_one_weight_zero_is_allowed() -> None:
    assert Settings.from_env({"HELPDESK_DENSE_WEIGHT": "0"}).dense_weight == 0.0


def test_blank_embedding_is_rejected() -> None:
    with pytest.raises(ConfigError, match="HELPDESK_EMBEDDING"):
        Settings.from_env({"HELPDESK_EMBEDDING": "  "})


def test_from_env_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPDESK_TOP_K", "7")
    assert Settings.from_env().top_k == 7


def test_overrides_win_over_the_environment_and_none_means_not_given() -> None:
    environ = {"HELPDESK_PORT": "8080", "HELPDESK_HOST": "0.0.0.0"}
    settings = Settings.from_env(environ, port=9000, host=None, data_dir=Path("/tmp/x"))
    assert settings.port == 9000
    assert settings.host == "0.0.0.0"
    assert settings.data_dir == Path("/tmp/x")


def test_a_string_override_is_parsed_and_a_bad_one_names_the_flag() -> None:
    assert Settings.from_env({}, port="8081").port == 8081
    with pytest.raises(ConfigError, match="--port"):
        Settings.from_env({}, port="eighty")


def test_an_unknown_override_is_rejected() -> None:
    with pytest.raises(ConfigError, match="colour"):
        Settings.from_env({}, colour="blue")


def test_replace_validates_and_ignores_none() -> None:
    settings = Settings()
    assert settings.replace(top_k=None) == settings
    assert settings.replace(top_k=9).top_k == 9
    with pytest.raises(ConfigError, match="HELPDESK_CHUNK_OVERLAP"):
        settings.replace(chunk_overlap=settings.chunk_size)


def test_settings_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().top_k = 3  # type: ignore[misc]


def test_every_setting_has_one_help_line() -> None:
    for setting in SETTINGS:
        assert setting.help.strip(), setting.name
        assert "\n" not in setting.help, setting.name


def test_make_embedder_builds_the_fake_and_names_a_bad_engine() -> None:
    assert isinstance(make_embedder("fake"), FakeEmbeddings)
    with pytest.raises(ConfigError, match="HELPDESK_EMBEDDING"):
        make_embedder("word2vec")
    with pytest.raises(ConfigError, match="HELPDESK_EMBEDDING"):
        make_embedder("sentence-transformers")


def test_a_value_outside_its_choices_is_rejected_even_when_built_in_code() -> None:
    with pytest.raises(ConfigError, match="HELPDESK_LLM: expected one of llamacpp"):
        Settings(llm="anything").validate()
    with pytest.raises(ConfigError, match="HELPDESK_FUSION"):
        Settings().replace(fusion="max")
