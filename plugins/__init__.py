"""Built-in methods, one folder each: network, method adapter and model card.

They register through the `medbench` entry-point group exactly like third-party plugins.
"""
