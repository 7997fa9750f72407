"""The four domain services."""
