"""Cordon's shared kernel: settings, database, errors, auth, personal data, observability and the event bus."""
