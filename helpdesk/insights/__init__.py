"""Insights: what customers ask, where the help center fails them, an honest resolution rate."""
