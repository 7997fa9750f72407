"""The gateway: the one door (auth, roles, routing, limits)."""
