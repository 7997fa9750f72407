"""Benchmarks of the Cordon kernel (run them as modules: ``python -m bench.bus``)."""
