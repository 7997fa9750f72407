"""Use cases of the testing service, one module per group: samples, results, proofs, histories,
schedules, and the projection of the registry's people."""
