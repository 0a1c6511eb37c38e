"""Metrics: feature extractors, the distances computed on them, and their registration."""
