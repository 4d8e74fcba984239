"""The answer prompt: one template file (built in, or the operator's), rendered per question.

Retrieved passages are numbered [1], [2]... in the order the sources event lists them, wrapped in
``<passage>`` tags and escaped, so a document cannot close its tag and speak as the system.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jinja2

from ..errors import ConfigError
from ..text import plain_text
from ..text.injection import without_instructions
from ..types import Passage

USER_MARKER = "=== user ==="
LANGUAGE_NAMES = {"en": "English", "ko": "Korean (한국어)"}
_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+")


def escape(text: str) -> str:
    """Make text inert inside the prompt's tags."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a sentence end when there is one."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    ends = [m.start() for m in _SENTENCE_END.finditer(cut)]
    if ends and ends[-1] > limit // 2:
        return cut[: ends[-1]].rstrip()
    return cut.rsplit(" ", 1)[0].rstrip() + " …"


@dataclass(frozen=True)
class PromptTemplate:
    template: jinja2.Template  # compiled once, at start-up
    origin: str = "built-in"

    @classmethod
    def load(cls, path: str = "") -> PromptTemplate:
        """The operator's template file, or the built-in one. Checked now, not per question."""
        origin = "built-in"
        if path:
            file = Path(path).expanduser()
            try:
                source = file.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"HELPDESK_PROMPT_TEMPLATE: cannot read {file}: {exc}") from None
            origin = str(file)
        else:
            source = (resources.files("helpdesk") / "prompts" / "answer.txt").read_text("utf-8")
        if USER_MARKER not in source:
            raise ConfigError(f"prompt template {origin} has no '{USER_MARKER}' line")
        environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
        try:
            return cls(environment.from_string(source), origin)
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(f"prompt template {origin}: {exc}") from None

    def messages(
        self,
        question: str,
        passages: list[Passage],
        *,
        language: str,
        persona: str,
        passage_chars: int = 600,
        max_sentences: int = 4,
    ) -> list[dict[str, str]]:
        """System and user messages for one question."""
        numbered = [
            {
                "id": number,
                "title": escape(p.chunk.title).replace('"', "&quot;"),
                "text": escape(clip(passage_text(p), passage_chars)),
            }
            for number, p in enumerate(passages, start=1)
        ]
        try:
            rendered = self.template.render(
                persona=persona,
                language_name=LANGUAGE_NAMES.get(language, language),
                question=escape(question),
                max_sentences=max_sentences,
                passages=numbered,
            )
        except jinja2.TemplateError as exc:
            raise ConfigError(f"prompt template {self.origin}: {exc}") from None
        system, _, user = rendered.partition(USER_MARKER)
        return [
            {"role": "system", "content": system.strip()},
            {"role": "user", "content": user.strip()},
        ]


def passage_text(passage: Passage) -> str:
    """A passage as the LLM reads it (and the verifier checks against): an FAQ pair labelled.

    Sentences that talk to the assistant or ask for secrets (a poisoned document's) are left
    out, so the model never reads them and no sentence can be supported by them."""
    chunk = passage.chunk
    if chunk.kind == "faq" and chunk.answer:
        question = without_instructions(plain_text(chunk.question))
        return f"Q: {question}\nA: {without_instructions(plain_text(chunk.answer))}"
    return without_instructions(plain_text(chunk.text))  # what the customer may read
