"""Browser tests: `make lab` in headless Chromium, the notebooks run through JupyterLab."""
