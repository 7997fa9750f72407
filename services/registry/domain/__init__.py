"""The rules of this service: pure functions over plain data, no I/O."""
