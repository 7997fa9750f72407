"""Use cases of the notify service, one module per group."""
