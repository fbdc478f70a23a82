"""Benchmarks (`python -m experiments.bench.<name>`): each prints ratios against a baseline measured in the same run."""
