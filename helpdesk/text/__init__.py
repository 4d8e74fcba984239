"""The text layer, at the bottom: language detection, index terms, and clean plain text.

Every stage reads text through these (ingest, retrieval, answering, the API), and this package
imports nothing else of helpdesk's.
"""

from .language import SUPPORTED, detect_language, has_hangul
from .markup import clean_reply, plain_text
from .redaction import RedactingFilter, find_pii, pii_counts, redact
from .tokens import ENGLISH_STOP_WORDS, Tokenizer

__all__ = [
    "ENGLISH_STOP_WORDS",
    "SUPPORTED",
    "RedactingFilter",
    "Tokenizer",
    "clean_reply",
    "detect_language",
    "find_pii",
    "has_hangul",
    "pii_counts",
    "plain_text",
    "redact",
]
