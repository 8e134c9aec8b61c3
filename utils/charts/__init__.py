"""A chart-captioning dataset the workshop draws itself: images and captions from random data.

Each example is a small PNG of a bar, line or pie chart drawn from seeded random values,
with a one-sentence caption computed from the same values; every word of the caption can
be read off the picture, so a model that learns to write it has to look at the pixels.

The lesson (``fine-tuning/02_fine_tune_multimodal.ipynb``) uses the names below, as
``charts.make_examples(...)``; each lives in the module that does one part of the work:

- :mod:`~utils.charts.data`: the charts (:class:`Chart`, :func:`make_examples`,
  :func:`split`), how they are drawn and captioned (:func:`draw`, :func:`caption`,
  :func:`trend`), and the :data:`QUESTION` and :data:`SYSTEM` prompt sent with them;
- :mod:`~utils.charts.records`: ``bedrock-conversation-2024`` records that point at the
  images in Amazon S3 (:func:`to_records`) and the upload of the images
  (:func:`upload_images`); the record files go up with :func:`utils.s3.upload_file`;
- :mod:`~utils.charts.asking`: asking a vision model about charts (:class:`ChartRunner`,
  :func:`ask_about`);
- :mod:`~utils.charts.plots`: a grid of charts with their captions (:func:`plot_examples`).

Import the names from ``utils.charts``; the modules' layout may change. matplotlib is
imported inside the functions that draw and plot, not with the package.
"""

# What callers use (the notebook and the tests), with the type ask_about returns (Captions).
from utils.charts.asking import Captions, ChartRunner, ask_about
from utils.charts.data import (
    BAR_COLOUR,
    HEIGHT,
    KINDS,
    MARKER_COLOUR,
    PALETTE,
    QUESTION,
    SYSTEM,
    WIDTH,
    Chart,
    caption,
    draw,
    make_examples,
    split,
    trend,
)
from utils.charts.plots import plot_examples
from utils.charts.records import to_record, to_records, upload_images

__all__ = [
    "BAR_COLOUR",
    "HEIGHT",
    "KINDS",
    "MARKER_COLOUR",
    "PALETTE",
    "QUESTION",
    "SYSTEM",
    "WIDTH",
    "Captions",
    "Chart",
    "ChartRunner",
    "ask_about",
    "caption",
    "draw",
    "make_examples",
    "plot_examples",
    "split",
    "to_record",
    "to_records",
    "trend",
    "upload_images",
]
