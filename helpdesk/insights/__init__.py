"""Insights: what the stored conversations say about the knowledge base, and proof that a
content fix helps before it goes live."""
