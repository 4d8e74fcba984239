"""`helpdesk eval-answers`: loading sets, judging answers, and a whole run on a tiny knowledge
base with the fake embedder, real Chroma and the extractive backend."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from test_evaluation import write_dataset

from helpdesk.cli import main
from helpdesk.evaluation.answers import (
    AnswerSetError,
    Case,
    calibration_error,
    defects,
    gold_match,
    judge,
    load_cases,
    split_of,
    summarise,
)
from helpdesk.types import Answer, Citation


def answer(text: str, *cites: tuple[str, str], handoff: bool = False, **extra: Any) -> Answer:
    citations = tuple(
        Citation(id=n, chunk_id=f"c{n}", title="T", url=url, snippet="", source=src, language="en")
        for n, (src, url) in enumerate(cites, start=1)
    )
    return Answer(
        text=text,
        citations=citations,
        grounded=not handoff,
        confidence=extra.pop("confidence", 0.9),
        language=extra.pop("language", "en"),
        handoff=handoff,
        **extra,
    )


RESET = Case(
    id="en-reset",
    question="how do i wipe my speaker",
    language="en",
    gold=("faq/en.yaml#reset-aura-speaker", "manuals/en/aura-speaker.md"),
    facts=(("15 seconds", "15초"), ("orange",)),
)
FAQ = ("faq/en.yaml", "https://help.example/en/faq#reset-aura-speaker")


def test_resolved_needs_a_gold_citation_and_every_fact() -> None:
    good = answer("Hold the button for 15 seconds until the ring turns orange. [1]", FAQ)
    assert judge(RESET, good, 10, 20).outcome == "resolved"

    missing = judge(RESET, answer("Hold the button for 15 seconds. [1]", FAQ), 10, 20)
    assert missing.outcome == "wrong"
    assert missing.why == ["missing fact 'orange'"]

    other_entry = ("faq/en.yaml", "https://help.example/en/faq#setup-aura-speaker")
    elsewhere = judge(RESET, answer("15 seconds, orange. [1]", other_entry), 10, 20)
    assert elsewhere.outcome == "wrong"
    assert "not" in elsewhere.why[0]

    manual = ("manuals/en/aura-speaker.md", "https://help.example/en/aura")
    assert judge(RESET, answer("15 seconds, orange. [1]", manual), 10, 20).outcome == "resolved"


def test_refusals_and_out_of_scope() -> None:
    refusal = answer("I couldn't find this in our help center.", handoff=True)
    assert judge(RESET, refusal, 1, 2).outcome == "refused"
    oos = Case(id="x", question="do you sell pizza", language="en", out_of_scope=True)
    assert judge(oos, refusal, 1, 2).outcome == "caught"
    assert judge(oos, answer("Yes. [1]", FAQ), 1, 2).outcome == "missed"


def test_contradiction_makes_an_answer_wrong() -> None:
    case = Case(id="w", question="is it covered", language="en", gold=("w.md",),
                facts=(("covered",),), contradictions=("not covered",))  # fmt: skip
    assert judge(case, answer("It is covered. [1]", ("w.md", "")), 1, 1).outcome == "resolved"
    wrong = judge(case, answer("It is not covered. [1]", ("w.md", "")), 1, 1)
    assert wrong.outcome == "wrong" and "contradicts" in wrong.why[0]


def test_fact_matching_ignores_case_spaces_and_thousands_separators() -> None:
    case = Case(id="p", question="q", language="ko", gold=("w.md",),
                facts=(("45,000원",), ("Wi-Fi",)))  # fmt: skip
    text = "수리비는 45000 원이며 wi-fi 설정은 필요 없습니다. [1]"
    assert judge(case, answer(text, ("w.md", ""), language="ko"), 1, 1).outcome == "resolved"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Open Account &gt; Nimbus Care &gt; Manage plan. [1]", "an HTML entity"),
        ("- **묶음 상품**(예: 세트)은 함께 반품해야 합니다. [1]", "bold or italic markup"),
        ("Steps:\n- unplug it\n- wait [1]", "a Markdown list or heading marker"),
        ("에서 설명한 대로, 전원을 켜세요. [1]", "citation residue"),
        ("According to , hold the button. [1]", "citation residue"),
        ("마이크를 끄는 방법은에서 설명합니다. [1]", "citation residue"),
        ("Hold the button. [3]", "a citation marker naming no source"),
        ("See <b>this</b>. [1]", "an HTML tag"),
        ("Hold the button for 15 seconds. [1]", "a reply in the wrong language"),
    ],
)
def test_defects_are_found(text: str, kind: str) -> None:
    language = "ko" if kind == "a reply in the wrong language" else "en"
    assert kind in defects(answer(text, FAQ, language=language), language, set())


def test_a_clean_answer_has_no_defects() -> None:
    clean = answer("Open Account > Nimbus Care > Manage plan, then tap Cancel. [1]", FAQ)
    assert defects(clean, "en", {"en"}) == []
    ko = answer("설정 > Wi-Fi 메뉴에서 네트워크를 고르세요. [1]", FAQ, language="ko")
    assert defects(ko, "ko", {"ko"}) == []


def test_a_quote_in_the_other_language_is_a_defect_only_when_the_asker_language_has_it() -> None:
    quoted = answer("이 내용은 영어 문서에만 있습니다: Hold it for 15 seconds. [1]", FAQ,
                    language="ko")  # fmt: skip
    assert defects(quoted, "ko", {"en"}) == []
    assert defects(quoted, "ko", {"en", "ko"}) == ["a reply in the wrong language"]


def test_gold_forms() -> None:
    assert gold_match("faq/en.yaml", "faq/en.yaml", "https://x/faq#a")
    assert gold_match("faq/en.yaml#a", "faq/en.yaml", "https://x/faq#a")
    assert not gold_match("faq/en.yaml#a", "faq/en.yaml", "https://x/faq#ab")
    assert gold_match("https://x/faq", "other.md", "https://x/faq#a")
    assert not gold_match("https://x/faq#b", "other.md", "https://x/faq#a")


def test_split_is_a_stable_hash_of_the_question() -> None:
    questions = [f"question number {n}" for n in range(200)]
    splits = [split_of(q) for q in questions]
    assert 70 < splits.count("dev") < 130  # about half each
    assert split_of("  question   number 7 ") == split_of("question number 7")


def test_summary_rates_and_calibration() -> None:
    oos = Case(id="o", question="pizza?", language="en", out_of_scope=True)
    verdicts = [
        judge(RESET, answer("15 seconds, orange [1]", FAQ, confidence=0.9), 5, 50),
        judge(RESET, answer("no idea", handoff=True), 5, 50),
        judge(oos, answer("Yes! [1]", FAQ, confidence=0.9), 5, 50),
    ]
    summary = summarise(verdicts)
    assert summary["answerable"] == 2 and summary["resolved"] == 0.5
    assert summary["refused"] == 0.5 and summary["caught"] == 0.0
    # Two answers at 0.9, one right: |0.9 - 0.5| = 0.4.
    assert calibration_error(verdicts) == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("cases: []", "non-empty list"),
        ("cases:\n  - question: hi\n    language: fr\n    out_of_scope: true", "'language'"),
        ("cases:\n  - question: hi\n    language: en", "needs 'gold'"),
        ("cases:\n  - {question: hi, gold: [a.md], colour: red}", "unknown field(s) colour"),
        ("cases:\n  - {question: hi, out_of_scope: true, gold: [a.md]}", "no gold"),
        ("cases: [", "not valid YAML"),
    ],
)
def test_bad_sets_name_the_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "set.yaml"
    path.write_text(content, "utf-8")
    with pytest.raises(AnswerSetError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_cases(path)


def test_cli_reports_a_bad_set_and_exits_non_zero(tmp_path: Path) -> None:
    path = tmp_path / "set.yaml"
    path.write_text("cases:\n  - {question: hi}", "utf-8")
    result = CliRunner().invoke(main, ["eval-answers", str(path), "--backend", "extractive"])
    assert result.exit_code == 1
    assert "needs 'gold'" in result.output


KB = {
    "router.md": "---\ntitle: Router reset\nurl: https://help.example/router\n---\n\n"
    "# Router reset\n\nHold the pinhole button for ten seconds until the lamp blinks amber.\n",
    "refund.md": "---\ntitle: 환불 안내\nlanguage: ko\n---\n\n# 환불 안내\n\n"
    "환불은 구매 후 14일 이내에 신청할 수 있습니다.\n",
}


def test_a_whole_run_on_a_tiny_knowledge_base(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    for name, text in KB.items():
        (kb / name).write_text(text, "utf-8")
    cases = [
        {"id": "r", "question": "pinhole button router reset", "language": "en",
         "gold": ["router.md"], "facts": [["ten seconds", "10 seconds"], "amber"]},
        {"id": "k", "question": "환불 신청 구매 14일 이내", "language": "ko", "gold": ["refund.md"],
         "facts": [["14일"]], "style": "plain"},
        {"id": "f", "question": "pinhole button router reset colour", "language": "en",
         "gold": ["router.md"], "facts": ["purple"], "history": ["router reset"]},
    ]  # fmt: skip
    set_file = tmp_path / "set.jsonl"
    set_file.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), "utf-8")
    yaml_file = tmp_path / "oos.yaml"
    yaml_file.write_text(yaml.safe_dump({"cases": [
        {"id": "o", "question": "zebra quokka marmalade", "language": "en",
         "out_of_scope": True, "style": "off_topic"}]}), "utf-8")  # fmt: skip
    beir = write_dataset(
        tmp_path / "tiny",
        [{"_id": "d1", "title": "Router", "text": "Hold the pinhole button for ten seconds."},
         {"_id": "d2", "title": "Lamp", "text": "The lamp blinks amber while it restarts."}],
        [{"_id": "q1", "text": "pinhole button"}],
        [("q1", "d1", 1)],
    )  # fmt: skip
    result = CliRunner().invoke(
        main,
        ["eval-answers", str(set_file), str(yaml_file), str(beir), "--backend", "extractive",
         "--source", str(kb), "--data-dir", str(tmp_path / "idx"), "--json"],
        env={"HELPDESK_EMBEDDING": "fake"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    kb_report, beir_report = json.loads(result.stdout)["reports"]
    outcomes = {v["id"]: v["outcome"] for v in kb_report["verdicts"]}
    assert outcomes["r"] == "resolved"
    assert outcomes["k"] == "resolved"
    assert outcomes["f"] == "wrong"  # "purple" is in no page
    assert outcomes["o"] == "caught"
    summary = kb_report["summary"]["all"]
    assert summary["answerable"] == 3 and summary["out_of_scope"] == 1
    assert summary["first_content_ms"]["p95"] <= summary["final_ms"]["p95"]
    [beir_verdict] = beir_report["verdicts"]
    assert beir_verdict["outcome"] == "resolved"
    assert beir_verdict["cited"][0].startswith("doc-d1")

    table = CliRunner().invoke(
        main,
        ["eval-answers", str(set_file), "--backend", "extractive", "--source", str(kb),
         "--data-dir", str(tmp_path / "idx"), "--split", "all"],
        env={"HELPDESK_EMBEDDING": "fake"},
    )  # fmt: skip
    assert table.exit_code == 0, table.output
    assert "resolved" in table.output and "failures" in table.output
    assert "missing fact 'purple'" in table.output
