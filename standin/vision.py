"""A small CPU image captioner that stands in for a fine-tuned vision model offline.

It has two parts, and both compute everything from the image and the training data:

* **Features** (:func:`image_features`): the image is decoded (PNG, JPEG, GIF or WebP,
  with Pillow), brought to 320x240 pixels, and each pixel is matched to the nearest of a
  few saturated reference colours (white, grey and black match none). From the colour
  masks come a fixed-length vector: the share of the image each colour covers, which
  colour covers most, how many colours are present, and, per colour, a column profile:
  how many separate column runs it forms, which run reaches highest, and how the run
  heights correlate with their order from left to right.
* **Heads** (:func:`fine_tune`): the captions of the training records are split into
  words and a softmax over the caption vocabulary is fitted for every word position
  (with an end-of-caption token), each a linear function of the features. Training is
  mini-batch Adam on the mean cross-entropy of the caption words, so the step-wise
  training loss, the per-token perplexity and the validation loss are measured exactly
  as for the text models of :mod:`standin.learner`, and written in the same rows.

A fine-tuned model writes, position by position, the most likely word until the end
token (:func:`custom_describe`). The features suit simple charts (the reference colours
are matplotlib's first seven, and column runs are what bars and points make), but no
caption is built in: the vocabulary, the sentence structure and what each feature means
for each word are all learned from the (image, caption) pairs, so a model trained on
other captions of the same pictures writes those instead. A base model
(:func:`base_describe`) has learned nothing of the kind; it answers with what any model
can say of an unfamiliar picture: its size and its main colours.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from standin import learner

ARTIFACT_FORMAT = "standin.vision/position-captioner-v1"
"""Value of ``artifact["format"]``; :func:`custom_describe` refuses anything else."""

KIND = "image-captioning"
"""Value of ``artifact["kind"]``; the stand-in dispatches on it."""

LEARNING_RATE_SCALE = 500.0
"""Multiplies Bedrock's learning rate into this model's Adam step size.

Llama 3.2's default rate (1e-4) becomes a step of 0.05, which fits a hundred charts in a
few epochs; 1000 times the default (0.1, the top of Llama's range) is a step of 50 that
throws the weights about, and the measured validation loss ends far higher.
"""

DEFAULT_HYPERPARAMETERS = {
    "epochCount": 5,
    "batchSize": 1,
    "learningRate": 1e-4,
    "learningRateWarmupSteps": 0,
}
"""Values used when a hyperparameter is missing (Meta Llama 3.2's defaults; no warm-up)."""

WEIGHT_DECAY = 1e-4
"""L2 penalty on the weights, so a feature seen once does not decide a word on its own."""

IMAGE_SIZE = (320, 240)
"""Width and height every image is brought to before its features are computed."""

IMAGE_FORMATS = {"PNG": "png", "JPEG": "jpeg", "GIF": "gif", "WEBP": "webp"}
"""Pillow's format names of the image formats Bedrock accepts, with Bedrock's spelling."""

REFERENCE_COLOURS = {
    "blue": (31, 119, 180),
    "orange": (255, 127, 14),
    "green": (44, 160, 44),
    "red": (214, 39, 40),
    "purple": (148, 103, 189),
    "brown": (140, 86, 75),
    "pink": (227, 119, 194),
}
"""Saturated colours a pixel may match (RGB); anything farther than :data:`MATCH_DISTANCE`
from all of them (white, greys, black, anti-aliased edges) matches none."""

MATCH_DISTANCE = 40.0
"""Largest RGB distance (0-255 scale) at which a pixel counts as a reference colour."""

DOWNSAMPLE = 2
"""Only every DOWNSAMPLE-th row and column of the 320x240 image is looked at."""

MIN_PIXELS = 8
"""Pixels (after downsampling) a colour needs to count as present; stray edge pixels do not."""

MAX_RUNS = 9
"""Column runs counted per colour; more count as this many."""

_R_BINS = 8  # bins of the run-height correlation over [-1, 1]
_END = "</s>"
_UNK = "<unk>"

_COLOUR_NAMES = tuple(REFERENCE_COLOURS)
_FEATURES_PER_COLOUR = (MAX_RUNS + 1) + MAX_RUNS + 1 + _R_BINS


class ImageError(ValueError):
    """Bytes that are not an image in a format Bedrock accepts."""


def _feature_names() -> list[str]:
    names = ["bias"]
    names += [f"share:{c}" for c in _COLOUR_NAMES]
    names += [f"most:{c}" for c in _COLOUR_NAMES]
    names += [f"colours:{k}" for k in range(len(_COLOUR_NAMES) + 1)]
    for c in _COLOUR_NAMES:
        names += [f"{c}:runs:{k}" for k in range(MAX_RUNS + 1)]
        names += [f"{c}:highest_run:{k}" for k in range(1, MAX_RUNS + 1)]
        names.append(f"{c}:height_correlation")
        names += [f"{c}:correlation_bin:{k}" for k in range(_R_BINS)]
    return names


FEATURES = tuple(_feature_names())
"""Names of the entries of :func:`image_features`, in order."""


# --------------------------------------------------------------------------- images


def decode(data: bytes) -> tuple[np.ndarray, str, tuple[int, int]]:
    """Decode image bytes into RGB pixels at :data:`IMAGE_SIZE`.

    Returns:
        The pixels as a (height, width, 3) float array on the 0-255 scale, the format
        (``png``, ``jpeg``, ``gif`` or ``webp``) and the original (width, height).

    Raises:
        ImageError: The bytes are not a complete image of an accepted format.
    """
    from PIL import Image, UnidentifiedImageError

    if not isinstance(data, bytes | bytearray) or not data:
        raise ImageError("The image is empty; send the bytes of a PNG, JPEG, GIF or WebP file.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            found = image.format or ""
            if found not in IMAGE_FORMATS:
                raise ImageError(
                    f"The image is a {found or 'unknown'} file; Bedrock takes PNG, JPEG, GIF "
                    "or WebP images."
                )
            size = image.size
            rgb = image.convert("RGB")
            if rgb.size != IMAGE_SIZE:
                rgb = rgb.resize(IMAGE_SIZE, Image.Resampling.NEAREST)
            pixels = np.asarray(rgb, dtype=np.float32)
    except ImageError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageError(
            f"The bytes are not a readable PNG, JPEG, GIF or WebP image ({exc}); "
            "check the file is not truncated or of another kind."
        ) from None
    return pixels, IMAGE_FORMATS[found], size


def _runs(columns: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each stretch of consecutive True entries."""
    padded = np.concatenate(([False], columns, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True))


def _colour_features(mask: np.ndarray) -> np.ndarray:
    """Column-run count, highest run and run-height correlation of one colour's mask."""
    out = np.zeros(_FEATURES_PER_COLOUR)
    if mask.sum() < MIN_PIXELS:
        out[0] = 1.0  # no runs
        return out
    runs = _runs(mask.any(axis=0))
    height = mask.shape[0]
    rows = np.arange(height)[:, None]
    tops = []
    for start, end in runs:
        block = mask[:, start:end]
        tops.append(int(np.where(block, rows, height).min()))
    heights = np.array([1.0 - t / height for t in tops])
    count = min(len(runs), MAX_RUNS)
    out[count] = 1.0
    offset = MAX_RUNS + 1
    out[offset + min(int(np.argmax(heights)), MAX_RUNS - 1)] = 1.0
    offset += MAX_RUNS
    if len(heights) >= 3 and heights.std() > 0:
        r = float(np.corrcoef(np.arange(len(heights)), heights)[0, 1])
        out[offset] = r
        out[offset + 1 + min(int((r + 1.0) / 2.0 * _R_BINS), _R_BINS - 1)] = 1.0
    return out


def features_of_pixels(pixels: np.ndarray) -> np.ndarray:
    """The feature vector (see :data:`FEATURES`) of RGB pixels on the 0-255 scale."""
    # Every other row and column: shapes in a 320x240 chart stay several pixels apart.
    pixels = pixels[::DOWNSAMPLE, ::DOWNSAMPLE]
    reference = np.array(list(REFERENCE_COLOURS.values()), dtype=np.float32)
    squared = ((pixels[:, :, None, :] - reference[None, None]) ** 2).sum(axis=3)
    nearest = squared.argmin(axis=2)
    matched = squared.min(axis=2) <= MATCH_DISTANCE**2
    masks = [(nearest == i) & matched for i in range(len(reference))]
    counts = np.array([m.sum() for m in masks], dtype=float)
    present = counts >= MIN_PIXELS
    parts = [np.ones(1), 10.0 * counts / (pixels.shape[0] * pixels.shape[1])]
    most = np.zeros(len(masks))
    if present.any():
        most[int(np.argmax(counts))] = 1.0
    parts.append(most)
    colours = np.zeros(len(masks) + 1)
    colours[int(present.sum())] = 1.0
    parts.append(colours)
    parts += [_colour_features(m) for m in masks]
    return np.concatenate(parts)


def image_features(data: bytes) -> np.ndarray:
    """The feature vector (see :data:`FEATURES`) of an encoded image.

    Raises:
        ImageError: The bytes are not a readable image.
    """
    pixels, _, _ = decode(data)
    return features_of_pixels(pixels)


# --------------------------------------------------------------------------- captions


def _words(text: str) -> list[str]:
    return text.split()


def _vocabulary(captions: Sequence[str]) -> list[str]:
    """End token, unknown token, then every caption word by first appearance."""
    seen: dict[str, None] = {}
    for text in captions:
        for word in _words(text):
            seen.setdefault(word, None)
    return [_END, _UNK, *seen]


def _targets(captions: Sequence[str], index: dict[str, int], positions: int) -> np.ndarray:
    """Word ids per position, the end token after the last word and -1 (ignored) beyond it."""
    out = np.full((len(captions), positions), -1, dtype=np.int64)
    for i, text in enumerate(captions):
        ids = [index.get(w, index[_UNK]) for w in _words(text)][: positions - 1]
        ids.append(index[_END])
        out[i, : len(ids)] = ids
    return out


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return cast(np.ndarray, shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True)))


def _loss_and_gradient(
    weights: np.ndarray, feats: np.ndarray, targets: np.ndarray
) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of the target words and its gradient for (features, positions, words).

    The gradient of softmax cross-entropy in the logits is ``probability - one_hot``,
    averaged over the counted words; positions beyond a caption's end are not counted.
    """
    n_feats, positions, vocab = weights.shape
    logits = (feats @ weights.reshape(n_feats, -1)).reshape(len(feats), positions, vocab)
    logp = _log_softmax(logits)
    counted = targets >= 0
    total = max(1, int(counted.sum()))
    rows, cols = np.nonzero(counted)
    loss = float(-logp[rows, cols, targets[rows, cols]].sum() / total)
    error = np.exp(logp) * counted[:, :, None]
    error[rows, cols, targets[rows, cols]] -= 1.0
    grad = (feats.T @ error.reshape(len(feats), -1)).reshape(weights.shape) / total
    return loss, grad + WEIGHT_DECAY * weights


def _mean_loss(weights: np.ndarray, feats: np.ndarray, targets: np.ndarray) -> float:
    if not len(feats):
        return 0.0
    n_feats, positions, vocab = weights.shape
    logits = (feats @ weights.reshape(n_feats, -1)).reshape(len(feats), positions, vocab)
    logp = _log_softmax(logits)
    rows, cols = np.nonzero(targets >= 0)
    return float(-logp[rows, cols, targets[rows, cols]].mean())


def _hyperparameters(hyperparameters: dict[str, str]) -> dict[str, float | int]:
    out = learner.numeric_hyperparameters(hyperparameters, DEFAULT_HYPERPARAMETERS)
    if out["epochCount"] < 1 or out["batchSize"] < 1:
        raise ValueError("epochCount and batchSize must be at least 1.")
    if out["learningRate"] < 0 or out["learningRateWarmupSteps"] < 0:
        raise ValueError("learningRate and learningRateWarmupSteps must not be negative.")
    return out


def fine_tune(
    train: Sequence[tuple[bytes, str]],
    validation: Sequence[tuple[bytes, str]] | None,
    hyperparameters: dict[str, str],
    base_model_id: str,
    seed: int = 0,
) -> learner.TrainingRun:
    """Fit a position-wise captioner on (image bytes, caption) pairs.

    Args:
        train: Training pairs: an encoded image and the caption it should get.
        validation: Pairs scored after every epoch, or None.
        hyperparameters: Bedrock's string values; ``epochCount``, ``batchSize`` (images
            per step), ``learningRate`` (multiplied by :data:`LEARNING_RATE_SCALE`) and
            ``learningRateWarmupSteps`` are used, unknown names are ignored.
        base_model_id: The base model; text-only prompts to the custom model are answered
            as this base model would.
        seed: Seed of the mini-batch order.

    Returns:
        The artifact (kind :data:`KIND`) and the measured metrics, in
        :class:`standin.learner.TrainingRun`'s rows.

    Raises:
        ValueError: No training pairs, a caption without words, or a bad hyperparameter.
        ImageError: An image cannot be decoded.
    """
    if not train:
        raise ValueError("Fine-tuning on images needs at least one (image, caption) pair.")
    if any(not _words(text) for _, text in train):
        raise ValueError("Every training caption needs at least one word.")
    hp = _hyperparameters(hyperparameters)
    captions = [text for _, text in train]
    vocabulary = _vocabulary(captions)
    index = {word: i for i, word in enumerate(vocabulary)}
    positions = max(len(_words(text)) for text in captions) + 1
    feats = np.stack([image_features(image) for image, _ in train])
    targets = _targets(captions, index, positions)
    held = list(validation or [])
    held_feats = (
        np.stack([image_features(image) for image, _ in held])
        if held
        else np.zeros((0, len(FEATURES)))
    )
    held_targets = _targets([text for _, text in held], index, positions)

    weights = np.zeros((len(FEATURES), positions, len(vocabulary)))
    epochs, batch_size = int(hp["epochCount"]), int(hp["batchSize"])
    peak = float(hp["learningRate"]) * LEARNING_RATE_SCALE
    warmup = int(hp["learningRateWarmupSteps"])
    rng = np.random.default_rng(seed)
    m, v = np.zeros_like(weights), np.zeros_like(weights)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    step_metrics: list[dict[str, Any]] = []
    validation_metrics: list[dict[str, Any]] = []
    step = 0
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(train))
        for start in range(0, len(train), batch_size):
            batch = order[start : start + batch_size]
            loss, grad = _loss_and_gradient(weights, feats[batch], targets[batch])
            step += 1
            rate = peak * min(1.0, step / (warmup + 1))
            m = beta1 * m + (1 - beta1) * grad
            v = beta2 * v + (1 - beta2) * grad * grad
            m_hat = m / (1 - beta1**step)
            v_hat = v / (1 - beta2**step)
            weights -= rate * m_hat / (np.sqrt(v_hat) + eps)
            step_metrics.append(
                learner.metric_row(step, epoch, loss, "training_loss", "perplexity")
            )
        if held:
            validation_metrics.append(
                learner.metric_row(
                    step,
                    epoch,
                    _mean_loss(weights, held_feats, held_targets),
                    "validation_loss",
                    "validation_perplexity",
                )
            )

    flat = weights.reshape(-1)
    index_nonzero = np.flatnonzero(np.round(flat, 5))
    artifact = {
        "format": ARTIFACT_FORMAT,
        "kind": KIND,
        "base_model_id": base_model_id,
        "config": {
            "hyperparameters": {k: hp[k] for k in sorted(hp)},
            "learning_rate_scale": LEARNING_RATE_SCALE,
            "seed": seed,
            "steps": step,
            "steps_per_epoch": math.ceil(len(train) / batch_size),
            "image_size": list(IMAGE_SIZE),
            "features": list(FEATURES),
            "positions": positions,
        },
        "vocabulary": vocabulary,
        # Features that never fire keep zero weights; only the rest are stored.
        "weights": {
            "shape": list(weights.shape),
            "index": [int(i) for i in index_nonzero],
            "value": [round(float(x), 5) for x in flat[index_nonzero]],
        },
    }
    return learner.TrainingRun(artifact, step_metrics, validation_metrics)


def _load(artifact: dict[str, Any]) -> np.ndarray:
    if artifact.get("format") != ARTIFACT_FORMAT or artifact.get("kind") != KIND:
        raise ValueError(f"Not a {ARTIFACT_FORMAT} artifact.")
    stored = artifact["weights"]
    if list(artifact["config"]["features"]) != list(FEATURES):
        raise ValueError("The artifact was trained on other image features; train it again.")
    flat = np.zeros(int(np.prod(stored["shape"])))
    flat[stored["index"]] = stored["value"]
    return flat.reshape(stored["shape"])


def caption_image(artifact: dict[str, Any], image: bytes, max_tokens: int = 512) -> str:
    """The caption a fine-tuned artifact writes for one encoded image.

    Raises:
        ValueError: The artifact is not a vision artifact.
        ImageError: The image cannot be decoded.
    """
    weights = _load(artifact)
    vocabulary = artifact["vocabulary"]
    feats = image_features(image)
    n_feats, positions, vocab = weights.shape
    logits = (feats @ weights.reshape(n_feats, -1)).reshape(positions, vocab)
    logits[:, vocabulary.index(_UNK)] = -np.inf  # never write a placeholder
    words = []
    for position in range(positions):
        word = vocabulary[int(np.argmax(logits[position]))]
        if word == _END:
            break
        words.append(word)
    return learner.limit_tokens(" ".join(words), max_tokens) if words else ""


def custom_describe(
    artifact: dict[str, Any],
    prompt: str,
    images: Sequence[bytes],
    system: str | None = None,
    max_tokens: int = 512,
) -> str:
    """Answer a prompt with images as a fine-tuned vision model: caption the first image.

    Without an image the prompt goes to the base model's text answer, as the model
    learned nothing about text.
    """
    if not images:
        return learner.base_generate(artifact["base_model_id"], prompt, system, max_tokens)
    return caption_image(artifact, images[0], max_tokens)


# --------------------------------------------------------------------------- base models


_BASIC_COLOURS = {
    "white": (255, 255, 255),
    "black": (0, 0, 0),
    "grey": (128, 128, 128),
    "red": (220, 40, 40),
    "orange": (255, 140, 20),
    "yellow": (240, 220, 40),
    "green": (50, 160, 50),
    "blue": (40, 110, 190),
    "purple": (140, 90, 180),
    "pink": (230, 120, 190),
    "brown": (140, 85, 60),
}


def _main_colours(pixels: np.ndarray, limit: int = 3) -> tuple[str, list[str]]:
    """The colour covering most of the image and the next few that cover at least 2%."""
    reference = np.array(list(_BASIC_COLOURS.values()), dtype=np.float32)
    sample = pixels[::4, ::4].reshape(-1, 3)
    nearest = np.linalg.norm(sample[:, None, :] - reference[None], axis=2).argmin(axis=1)
    counts = np.bincount(nearest, minlength=len(reference)) / len(nearest)
    names = list(_BASIC_COLOURS)
    ranked = [i for i in np.argsort(-counts, kind="stable") if counts[i] >= 0.02]
    return names[ranked[0]], [names[i] for i in ranked[1 : 1 + limit]]


def base_describe(
    model_id: str,
    prompt: str,
    images: Sequence[bytes],
    system: str | None = None,
    max_tokens: int = 512,
) -> str:
    """Answer a prompt with images as an untuned base model of the stand-in would.

    The base model has no notion of charts: it reports what can be seen without any
    training, the image's size and its main colours, and says it cannot tell more.
    Without an image the text answer of :func:`standin.learner.base_generate` is given.

    Raises:
        ImageError: An image cannot be decoded.
    """
    if not images:
        return learner.base_generate(model_id, prompt, system, max_tokens)
    pixels, fmt, (width, height) = decode(images[0])
    background, others = _main_colours(pixels)
    text = f"This is a {width} by {height} pixel {fmt.upper()} image, mostly {background}"
    if others:
        listed = others[0] if len(others) == 1 else ", ".join(others[:-1]) + f" and {others[-1]}"
        text += f", with some {listed}"
    text += ". I cannot make out more detail in it."
    if len(images) > 1:
        text += f" ({len(images)} images were sent; this describes the first.)"
    return learner.limit_tokens(text, max_tokens)
