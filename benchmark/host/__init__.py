"""Discovering plugins, validating what they register, and the frozen registries."""
