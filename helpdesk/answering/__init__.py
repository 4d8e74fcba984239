"""Passages -> Answer: the extractive answerer (:mod:`.extractive`) quotes them; generation
(:mod:`.generative`) writes from them and verifies every sentence, starting from the extractive
draft. Confidence, calibration, the prompt and the verifier are their parts."""
