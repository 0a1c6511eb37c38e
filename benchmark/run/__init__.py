"""The run lifecycle: budgets, devices, seeding, training, checkpoints, evaluation, storage."""
