"""How much one typo per question costs retrieval, with and without typo tolerance.

    python scripts/bench_typos.py ../shared/data/en_stackfaq [...] [--max-queries 300]

For each BEIR folder, every sampled question gets one seeded slip in one of its longer words,
the kinds a keyboard makes: a letter dropped, two letters swapped, a neighbouring key hit, a
letter doubled (Korean: a vowel confused, a final consonant dropped or added, a syllable
dropped). ``helpdesk eval``'s own path (index, retriever, metrics) then scores four runs:
clean and misspelt questions, each with HELPDESK_TYPO_TOLERANCE on and off. Prints nDCG@10,
Recall@10 and the share of the typo's loss that tolerance wins back.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import replace
from pathlib import Path

from helpdesk.config import Settings
from helpdesk.evaluation import DEFAULT_DATA_ROOT, Dataset, evaluate, load_dataset
from helpdesk.text import ENGLISH_STOP_WORDS, has_hangul

_KEY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
# Vowel pairs people confuse (jamo vowel indices): ㅐ/ㅔ, ㅓ/ㅕ, ㅗ/ㅛ, ㅚ/ㅙ/ㅞ.
_VOWELS = {1: 5, 5: 1, 4: 6, 6: 4, 8: 12, 12: 8, 11: 10, 10: 15, 15: 11}


def latin_typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice("drsk")
    if kind == "d":
        return word[:i] + word[i + 1 :]
    if kind == "s":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "k":
        row = next((r for r in _KEY_ROWS if word[i].lower() in r), None)
        if row is not None:
            j = row.index(word[i].lower())
            return word[:i] + row[j + 1 if j + 1 < len(row) else j - 1] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def korean_typo(word: str, rng: random.Random) -> str:
    syllables = [i for i, ch in enumerate(word) if "가" <= ch <= "힣"]
    i = rng.choice(syllables)
    code = ord(word[i]) - 0xAC00
    lead, vowel, tail = code // 588, (code % 588) // 28, code % 28
    kind = rng.choice("vtd")
    if kind == "d" and len(syllables) > 2:
        return word[:i] + word[i + 1 :]
    if kind == "v" and vowel in _VOWELS:
        vowel = _VOWELS[vowel]
    else:
        tail = 0 if tail else rng.choice((4, 8, 16, 21))  # ㄴ, ㄹ, ㅁ, ㅇ
    return word[:i] + chr(0xAC00 + lead * 588 + vowel * 28 + tail) + word[i + 1 :]


def misspell(text: str, rng: random.Random) -> str:
    words = text.split()
    korean = [i for i, w in enumerate(words) if sum("가" <= ch <= "힣" for ch in w) >= 2]
    latin = [
        i
        for i, w in enumerate(words)
        if w.isalpha() and len(w) >= 5 and w.lower() not in ENGLISH_STOP_WORDS
    ]
    if has_hangul(text) and korean:
        i = rng.choice(korean)
        words[i] = korean_typo(words[i], rng)
    elif latin:
        i = rng.choice(latin)
        words[i] = latin_typo(words[i], rng)
    return " ".join(words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+", type=Path)
    parser.add_argument("--max-queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_ROOT)
    args = parser.parse_args()
    settings = Settings.from_env()
    print(f"{'dataset':<16} {'questions':<9} {'tolerance':<9} {'nDCG@10':>8} {'R@10':>7}")
    for path in args.datasets:
        dataset = load_dataset(path)
        rng = random.Random(args.seed)
        misspelt: Dataset = replace(
            dataset, queries={qid: misspell(text, rng) for qid, text in dataset.queries.items()}
        )
        scores: dict[tuple[str, bool], float] = {}
        for label, data in (("clean", dataset), ("one typo", misspelt)):
            for tolerance in (False, True):
                result = evaluate(
                    data,
                    settings.replace(typo_tolerance=tolerance),
                    max_queries=args.max_queries,
                    seed=args.seed,
                    data_root=args.data_dir,
                )
                scores[(label, tolerance)] = result.ndcg_10
                print(
                    f"{dataset.name:<16} {label:<9} {'on' if tolerance else 'off':<9} "
                    f"{result.ndcg_10:>8.4f} {result.recall_10:>7.4f}"
                )
        lost = scores[("clean", False)] - scores[("one typo", False)]
        won = scores[("one typo", True)] - scores[("one typo", False)]
        share = f"{won / lost:.0%}" if lost > 0 else "n/a"
        print(f"{dataset.name}: a typo costs {lost:.4f} nDCG@10; tolerance wins back {share}")


if __name__ == "__main__":
    main()
