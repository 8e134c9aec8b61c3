"""Build tools run by ``make``, never imported by the lessons.

:mod:`tools.notebooks` checks and formats the notebooks (the parameters cell, the series
table); :mod:`tools.offer` writes the README's table of what Bedrock offers;
:mod:`tools.synthetic` generates the bundled dialogue dataset.
"""
