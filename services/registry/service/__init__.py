"""The registry's use cases, one module per group; each use case is one transaction."""
