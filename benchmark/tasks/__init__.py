"""Built-in tasks. Each module defines one task and registers it through `register_tasks`."""
