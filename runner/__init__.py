"""Runs the workshop: the headless series runner, its scoring process, the JupyterLab launcher.

Not imported by the lessons. ``python -m runner`` runs the series (see :mod:`runner.run`);
``python -m runner.lab [--lab]`` starts the local stand-in (and JupyterLab) for notebooks
opened by hand; :mod:`runner.series` is the one list of the series' notebooks.
"""
