"""Use cases of the events service, one module per group: gatherings, check-ins, exposures, people."""
