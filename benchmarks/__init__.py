"""Benchmarks: measured figures, printed, never asserted."""
