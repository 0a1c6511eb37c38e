"""The versioned result record that every run writes."""
