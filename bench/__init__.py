"""Benchmarks of klein_widget against WaveSpeed's official SDK (issue 8).

Run ``.venv/bin/python -m bench`` (about 9 minutes) or ``--quick``; see `bench.run`
and bench/RESULTS.md for the latest figures.
"""
