"""Feature extractors that embed images for distribution distances."""
