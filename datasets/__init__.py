"""Built-in dataset definitions: builders, dataset cards and split manifests."""
