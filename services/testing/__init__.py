"""The testing service: Nucleic-acid samples, pooled tubes, lab results, negative proofs and scheduled tests."""
