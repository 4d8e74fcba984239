"""The benchmark suite (issue 16): ingest, search and ask under load, memory, the cost curve.

Run ``python -m benchmarks --help``; ``make bench`` runs the full suite.
"""
