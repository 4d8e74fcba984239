"""The cheap query path: query embeddings and corrections cached, exact dense rankings in
memory, and the typing ranker of the search box (``/api/search?mode=typing``)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from conftest import SMALL_KB, build_small_index, write_files
from flask.testing import FlaskClient

from helpdesk import create_app
from helpdesk.config import Settings
from helpdesk.embeddings import FakeEmbeddings, QueryCache, normalised
from helpdesk.index.ingest import ingest
from helpdesk.retrieval import Retriever
from helpdesk.service import Helpdesk
from helpdesk.types import Query


class Counting(FakeEmbeddings):
    """The fake model, counting the queries it embeds; ``sign`` -1 makes another model."""

    def __init__(self, sign: float = 1.0) -> None:
        self.calls: list[str] = []
        self.sign = sign
        self._lock = threading.Lock()

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            self.calls.append(text)
        return [self.sign * v for v in super().embed_query(text)]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_small_index(tmp_path_factory.mktemp("query-path"))


@pytest.fixture(scope="module")
def client(built: Settings) -> FlaskClient:
    return create_app(built, Helpdesk(built)).test_client()


def test_the_query_cache_embeds_each_normalised_text_once() -> None:
    model = Counting()
    cache = QueryCache(model, size=8)
    first = cache("reset  password ")
    assert cache(" reset password") == first
    assert cache("reset\u3000password") == first  # an ideographic space is whitespace too
    assert model.calls == ["reset password"]
    assert (cache.hits, cache.misses) == (2, 1)
    assert cache("Reset password") != first or model.calls[-1] == "Reset password"
    assert normalised("  a \t b ") == "a b"


def test_the_query_cache_is_bounded_and_forgets_the_least_recently_used() -> None:
    model = Counting()
    cache = QueryCache(model, size=2)
    cache("one")
    cache("two")
    cache("one")  # "two" is now the least recently used
    cache("three")
    assert len(cache) == 2
    cache("one")
    assert model.calls == ["one", "two", "three"]
    cache("two")
    assert model.calls[-1] == "two"
    off = QueryCache(model, size=0)
    off("four")
    off("four")
    assert model.calls[-2:] == ["four", "four"] and len(off) == 0


def test_each_model_has_its_own_cache() -> None:
    one, other = Counting(), Counting(sign=-1.0)
    caches = [QueryCache(one), QueryCache(other)]
    vectors = [cache("warranty") for cache in caches]
    assert vectors[0] == [-v for v in vectors[1]]
    assert caches[0]("warranty") == vectors[0] and caches[1]("warranty") == vectors[1]
    assert one.calls == other.calls == ["warranty"]


def test_the_retriever_refuses_caches_of_other_models(built: Settings) -> None:
    helpdesk = Helpdesk(built)
    snapshot = helpdesk.retriever().snapshot
    with pytest.raises(ValueError, match="one per embedder"):
        Retriever(
            snapshot,
            helpdesk.embedders,
            helpdesk.tokenizer,
            helpdesk.retriever().fusion,
            query_caches=[QueryCache(Counting())],
        )


def test_corrections_are_cached_per_generation_and_embeddings_across(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = Counting()
    settings = Settings(
        source_dir=write_files(tmp_path / "kb", SMALL_KB),
        data_dir=tmp_path / "data",
        embedding="fake",
        reload_interval=0.0,
        llm="extractive",
    )
    ingest(settings, [model])
    helpdesk = Helpdesk(settings, embedders=[model], store=None)
    first = helpdesk.retriever()
    corrected: list[str] = []
    real = Retriever._correct

    def counting(self: Retriever, text: str, reader: str) -> object:
        corrected.append(text)
        return real(self, text, reader)  # type: ignore[arg-type]

    monkeypatch.setattr(Retriever, "_correct", counting)
    for text in ("conect the speakr", "conect  the speakr ", "conect the speakr"):
        results = helpdesk.search(Query(text, k=3))
        assert results.correction.changes == (("conect", "connect"), ("speakr", "speaker"))
    assert len(corrected) == 1
    assert model.calls.count("connect the speaker") == 1
    # A new generation: corrections are worked out again (its words may differ), the query
    # embeddings are not (they depend on the model only).
    write_files(tmp_path / "kb", {"faq/more.yaml": SMALL_KB["faq/en.yaml"].replace("30", "60")})
    ingest(settings, [model])
    second = helpdesk.retriever()
    assert second is not first
    assert second.query_caches == first.query_caches
    helpdesk.search(Query("conect the speakr", k=3))
    assert len(corrected) == 2
    assert model.calls.count("connect the speaker") == 1


def test_typing_mode_skips_the_typo_pass_and_finds_the_same_article(client: FlaskClient) -> None:
    full = client.get("/api/search?q=How+long+is+the+warranty").get_json()
    typing = client.get("/api/search?q=How+long+is+the+warranty&mode=typing").get_json()
    assert typing["results"] and full["results"]
    assert typing["results"][0]["url"] == full["results"][0]["url"]
    # A half-typed last word is not a typo: typing mode leaves it alone.
    assert client.get("/api/search?q=conect+the+speakr").get_json()["corrected_query"]
    half = client.get("/api/search?q=conect+the+speakr&mode=typing").get_json()
    assert half["corrected_query"] is None
    assert client.get("/api/search?q=warranty&mode=full").status_code == 200


def test_an_unknown_mode_is_a_problem(client: FlaskClient) -> None:
    response = client.get("/api/search?q=warranty&mode=fast")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "unknown_mode"
    assert body["allowed"] == ["full", "typing"]


def test_typing_mode_embeds_with_the_typing_models_only(built: Settings) -> None:
    model = Counting()
    helpdesk = Helpdesk(built, embedders=[model], store=None)
    assert helpdesk.typing_models == (0,)  # no cross-lingual model: the primary one
    helpdesk.search(Query("camera battery charge", k=3), mode="typing")
    assert model.calls == ["camera battery charge"]
