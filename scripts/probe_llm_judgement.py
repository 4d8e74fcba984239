"""Would a yes/no judgement from the bundled model catch wrong answers? (issue 11)

Reads the verdicts of ``helpdesk eval-answers ... --json`` (extractive backend), asks the bundled
Qwen2.5-Coder-1.5B "does this answer answer the question?" for every answer that was given
(resolved, wrong, or an out-of-scope question answered), reads the probability of "yes" from the
next-token logits, and prints how well it separates resolved answers from the others (ROC AUC)
next to the calibrated confidence the answer already carries, alone and combined (10-fold).

    helpdesk eval-answers tests/data/answers/*.yaml --split dev --backend extractive \
        --json > dev.json
    python scripts/probe_llm_judgement.py dev.json

Measured on the dev split (227 answers given, about 1.2 s each): AUC 0.59 for the model's
judgement, 0.73 for the confidence, 0.73 for both combined; on out-of-scope questions answered
0.55 against 0.79. The judgement adds nothing the confidence doesn't have, so it is not used.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_predict

from helpdesk.llm.bundled import bundled_model_path

SYSTEM = "You check a help-center answer before it is sent. Reply with one word: yes or no."
ASK = (
    "Customer question:\n{question}\n\nProposed answer (quoted from the help center):\n{answer}"
    "\n\nDoes the proposed answer actually answer what the customer asked, including the specific "
    "product, feature or situation they mention? Reply yes or no."
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("verdicts", help="eval-answers --json output")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from llama_cpp import Llama

    llama = Llama(model_path=str(bundled_model_path()), n_ctx=2048, n_threads=args.threads,
                  verbose=False)  # fmt: skip

    def first_token(word: str) -> int:
        return int(llama.tokenize(word.encode(), add_bos=False, special=True)[0])

    yes = [first_token(w) for w in ("yes", "Yes", " yes", " Yes")]
    no = [first_token(w) for w in ("no", "No", " no", " No")]

    def p_yes(question: str, answer: str) -> float:
        user = ASK.format(question=question, answer=answer)
        prompt = (f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
                  "<|im_start|>assistant\n")  # fmt: skip
        llama.reset()
        llama.eval(llama.tokenize(prompt.encode(), add_bos=False, special=True))
        logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama._n_vocab,))
        logits = logits.astype(np.float64)
        top = logits.max()
        total = top + math.log(np.exp(logits - top).sum())
        py = sum(math.exp(logits[i] - total) for i in yes)
        pn = sum(math.exp(logits[i] - total) for i in no)
        return py / (py + pn + 1e-12)

    with open(args.verdicts, encoding="utf-8") as file:
        verdicts = json.load(file)["reports"][0]["verdicts"]
    given = [v for v in verdicts if v["outcome"] in ("resolved", "wrong", "missed")]
    started = time.monotonic()
    judged = [p_yes(v["question"], v["answer"]) for v in given]
    seconds = (time.monotonic() - started) / max(1, len(given))
    right = np.array([v["outcome"] == "resolved" for v in given])
    confidence = np.array([v["confidence"] for v in given])
    both = np.column_stack([confidence, judged])
    combined = cross_val_predict(LogisticRegression(), both, right, cv=10, method="predict_proba")
    print(f"{len(given)} answers given, {seconds:.2f} s per judgement")
    print(f"AUC resolved vs not: judgement {roc_auc_score(right, judged):.3f}, "
          f"confidence {roc_auc_score(right, confidence):.3f}, "
          f"both {roc_auc_score(right, combined[:, 1]):.3f}")  # fmt: skip
    scope = [i for i, v in enumerate(given) if v["outcome"] != "wrong"]
    if len(set(right[scope])) == 2:
        print(f"AUC resolved vs out-of-scope answered: judgement "
              f"{roc_auc_score(right[scope], np.array(judged)[scope]):.3f}, confidence "
              f"{roc_auc_score(right[scope], confidence[scope]):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
