"""LLM-written answers, verified sentence by sentence while they stream.

The flow for one question, as events:

1. ``sources``: the passages the answer may draw on, numbered [1], [2]... (within retrieval time);
2. ``draft``: the extractive answer, at once, so the customer is never staring at nothing;
3. ``token``: generated text, released one sentence at a time and only once the verifier has
   found that sentence in a passage, so an unsupported sentence never reaches the customer,
   not even for a moment;
4. ``final``: the verified answer with its citations. It is the generated text if enough of it
   survived verification, else the extractive answer, with the reason logged and reported.

LLM errors, timeouts and empty replies all end in ``final`` with the extractive answer.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from typing import Any

from ..llm import ChatModel, LLMError
from ..snippets import cite
from ..text import Tokenizer
from ..types import Answer, Final, Passage, Token
from .prompt import PromptTemplate, passage_text
from .verify import SentenceCheck, Verification, Verifier, split_answer, strip_citations

log = logging.getLogger(__name__)


@dataclass
class Generation:
    """Settings of one generated answer."""

    llm: ChatModel
    verifier: Verifier
    prompt: PromptTemplate
    tokenizer: Tokenizer
    persona: str
    max_tokens: int = 220
    timeout: float = 60.0
    passage_chars: int = 600

    def events(
        self,
        question: str,
        prompted: list[Passage],
        sources: list[Passage],
        draft: Answer,
        started: float,
        cancelled: Callable[[], bool] | None = None,
    ) -> Generator[Token | Final, None, None]:
        """Token events while generating, then the final answer (always exactly one).

        ``prompted`` are the passages the prompt carries, numbered as in ``sources`` (which they
        begin); a sentence may be supported by any source and then cites that one. The backend
        runs in a worker thread, so the timeout holds even while no piece arrives, and
        ``cancelled`` (the client has gone) is polled while waiting.
        """
        language = draft.language
        messages = self.prompt.messages(
            question,
            prompted,
            language=language,
            persona=self.persona,
            passage_chars=self.passage_chars,
        )
        prepared = self.verifier.prepare([passage_text(p) for p in sources])
        text = ""
        checks: list[SentenceCheck] = []
        removed: list[str] = []
        released = 0  # sentences of `text` already checked
        first_token: float | None = None
        reason = ""
        pieces = 0
        deadline = started + self.timeout
        stop = threading.Event()
        pump = _Pump(self.llm.stream(messages, self.max_tokens, stop), stop)
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise LLMError(f"generation passed HELPDESK_LLM_TIMEOUT ({self.timeout:g} s)")
                if cancelled is not None and cancelled():
                    log.info("client went away after %d pieces: generation stopped", pieces)
                    return
                try:
                    kind, payload = pump.next(timeout=min(remaining, 0.25))
                except queue.Empty:
                    continue
                if kind == "error":
                    raise payload
                if kind == "end":
                    break
                pieces += 1
                if first_token is None:
                    first_token = time.monotonic()
                text += payload
                complete = _complete_sentences(text)
                for sentence, separator in complete[released:]:
                    check = self.verifier.check_sentence(
                        sentence, prepared, separator, removed, question
                    )
                    if check is not None:
                        checks.append(check)
                        if check.supported:
                            yield Token(_render([check]) + separator)
                released = len(complete)
            rest = split_answer(text)[released:]
            if rest and pieces >= self.max_tokens - 1 and not _finished(rest[-1][0]):
                # Cut off by LLM_MAX_TOKENS mid-sentence: half a sentence is not an answer.
                removed_tail = strip_citations(rest.pop()[0])[0]
                checks.append(
                    SentenceCheck(
                        removed_tail, False, 0.0, None, "cut off by HELPDESK_LLM_MAX_TOKENS"
                    )
                )
            for number, (sentence, separator) in enumerate(rest, start=1):
                check = self.verifier.check_sentence(
                    sentence, prepared, separator, removed, question
                )
                if check is not None:
                    checks.append(check)
                    if check.supported:
                        yield Token(_render([check]) + (separator if number < len(rest) else ""))
        except LLMError as exc:
            reason = exc.reason
        except GeneratorExit:
            log.info(
                "answer stream closed by the client after %d pieces: generation stopped", pieces
            )
            pump.stop(wait=1.0)
            raise
        except Exception as exc:  # a backend bug must still end in an answer, not a 500
            log.error("LLM backend %s failed: %s", self.llm.name, exc, exc_info=exc)
            reason = f"{type(exc).__name__}: {exc}"
        finally:
            pump.stop()
        verification = Verification(tuple(checks), tuple(removed))
        timings = dict(draft.timings)
        timings["generation_ms"] = round((time.monotonic() - started) * 1000, 1)
        if first_token is not None:
            timings["first_token_ms"] = round((first_token - started) * 1000, 1)
        if not reason and not verification.acceptable():
            reason = (
                "nothing generated"
                if not checks
                else f"verification kept {len(verification.kept)} of {len(checks)} sentences"
            )
        if reason:
            log.warning("answered extractively instead of with %s: %s", self.llm.name, reason)
            yield Final(
                replace(
                    draft,
                    fallback_reason=reason,
                    verification=verification.summary() if checks else None,
                    timings=timings,
                )
            )
            return
        yield Final(self._answer(question, sources, draft, verification, timings))

    def _answer(
        self,
        question: str,
        sources: list[Passage],
        draft: Answer,
        verification: Verification,
        timings: dict[str, float],
    ) -> Answer:
        kept = verification.kept
        numbers = sorted({c.passage for c in kept if c.passage is not None})
        citations = [cite(i + 1, sources[i].chunk, question, self.tokenizer) for i in numbers]
        return replace(
            draft,
            text=_render(kept).strip(),
            citations=tuple(citations),
            generated_by=self.llm.name,
            verification=verification.summary(),
            timings=timings,
        )


class _Pump:
    """Runs a backend's stream in a worker thread and hands its pieces over a small queue.

    The worker stays at most a few pieces ahead; once stopped it closes the backend's stream at
    the next piece, which ends the generation and frees the local model for the next question.
    """

    def __init__(self, stream: Iterator[str], stop: threading.Event) -> None:
        self._stream = stream
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=4)
        self._stop = stop  # the backend watches it too
        self._thread = threading.Thread(target=self._run, name="llm-stream", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for piece in self._stream:
                if not self._offer(("piece", piece)):
                    return
            self._offer(("end", None))
        except Exception as exc:
            self._offer(("error", exc))
        finally:
            close = getattr(self._stream, "close", None)
            if close is not None:
                close()

    def _offer(self, item: tuple[str, Any]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def next(self, timeout: float) -> tuple[str, Any]:
        return self._queue.get(timeout=timeout)

    def stop(self, wait: float = 0.0) -> None:
        self._stop.set()
        if wait:
            self._thread.join(wait)


def _render(checks: list[SentenceCheck]) -> str:
    """Kept sentences, each citing the passage that supports it."""
    parts = []
    for i, check in enumerate(checks):
        cite = f" [{check.passage + 1}]" if check.passage is not None else ""
        parts.append(check.text.rstrip() + cite)
        if i < len(checks) - 1:
            parts.append(check.separator or " ")
    return "".join(parts)


def _finished(sentence: str) -> bool:
    """Does the sentence end like one (punctuation, before any citation markers)?"""
    return strip_citations(sentence)[0].rstrip().endswith((".", "!", "?", "。", ":", ")"))


def _complete_sentences(text: str) -> list[tuple[str, str]]:
    """Sentences of streamed text that are surely over: not the last one, and not one whose
    citation marker may still be arriving (the next piece starts with "[")."""
    pieces = split_answer(text)
    complete = pieces[:-1]
    if pieces and pieces[-1][0].startswith("[") and complete:
        complete = complete[:-1]
    return complete
