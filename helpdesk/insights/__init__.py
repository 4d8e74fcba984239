"""Insights from the recorded events: what customers ask that the help center does not answer."""
