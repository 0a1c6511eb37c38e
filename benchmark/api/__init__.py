"""The contracts between medbench and its plugins: datasets, methods, tasks, metrics."""
