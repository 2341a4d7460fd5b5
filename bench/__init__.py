"""Benchmarks: speed and size as ratios against baselines measured in the same run."""
