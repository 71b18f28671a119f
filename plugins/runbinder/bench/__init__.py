"""Benchmark support: synthetic runbook sets of any size (``python -m runbinder.bench.generate N DIR``).

The harness that times them lives in the repository's ``bench/run.py`` (``make bench``).
"""
