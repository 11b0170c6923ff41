"""Browser tests: JupyterLab and Voila driven by Chromium (see harness.py)."""
