"""Small numpy models that stand in for Bedrock's foundation and custom models offline.

Three kinds of model live here, and all compute their answers from the prompt:

* **Base models** (:func:`base_generate`) are extractive baselines. Given a dialogue in
  DialogSum layout (``#Person1#: ...`` turns) they return a lead extract whose quality
  grows with the model's size: a Micro-sized model quotes the first sentence, a Lite-sized
  one the first turn and a half, a Pro-sized one picks the most informative sentences.
  Other prompts get a short answer built from the prompt's own key words. Asked to grade
  (an instruction to reply ``SCORE: <0-10>`` and ``REFERENCE:`` and ``ANSWER:`` lines in
  the prompt) they act as a judge (:func:`judge_answer`): the answer's final number
  against the reference's numbers, or word overlap when the reference has none.
* **Custom models** (:func:`fine_tune`, :func:`custom_generate`) are token selectors.
  For each token of a dialogue a logistic model predicts whether the token belongs in the
  summary; it is trained by mini-batch Adam on binary cross-entropy, and generation writes
  a learned opening frame followed by the most likely tokens in dialogue order, trimmed to
  a learned length. Its features are the token's position, turn, speaker, shape and
  frequency, plus learned biases for the (hashed) word and the word before it.
* **Continued pre-training** (:func:`continue_pretraining`) fits a bigram language model
  on unlabeled domain text by mini-batch Adam on next-token cross-entropy, so its losses
  and perplexities are measured; its custom models continue a prompt with the domain's
  most likely words (:func:`custom_generate` dispatches on ``artifact["kind"]``).

Everything is deterministic: the same data, hyperparameters and seed give the same
artifact, metrics and generations. No randomness enters generation at all.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

ARTIFACT_FORMAT = "standin.learner/token-selector-v1"
"""Value of ``artifact["format"]``; :func:`custom_generate` refuses anything else."""

LEARNING_RATE_SCALE = 5_000.0
"""Multiplies Bedrock's learning rate into this model's Adam step size.

Bedrock's Nova range (1e-6 to 1e-4, default 1e-5) suits billion-parameter networks; a
logistic model of a few thousand weights needs steps near 0.05, which is what the default
becomes. A value 1000 times the default (a step of 50) makes the run diverge visibly.
"""

DEFAULT_HYPERPARAMETERS = {
    "epochCount": 2,
    "learningRate": 1e-5,
    "learningRateWarmupSteps": 10,
    "batchSize": 8,
}
"""Values used when a hyperparameter is missing (Amazon Nova's defaults; batch size ours)."""

WEIGHT_DECAY = 1e-4
"""L2 penalty on the hashed biases, so rare words do not memorise their single label."""

# Bit widths of the hashed vocabularies by model tier: a bigger base model gets more
# buckets (fewer collisions) and, from the Lite tier up, a bias for the preceding word.
_TIER_BITS = {1: 10, 2: 11, 3: 12}

_TOKEN = re.compile(r"#Person\d+#|\$?\d+(?:[:.,]\d+)*|[A-Za-z]+(?:['’-][A-Za-z]+)*")
_TURN = re.compile(r"(#Person\d+#)\s*:")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_TAG = re.compile(r"#Person\d+#")

_STOPWORD_TEXT = """
    a about after all also am an and any are as at be been but by can could did do does
    for from get got had has have he her here him his how i i'd i'll i'm i've if in into is
    it it's its just let me more most my no not now of oh ok on one or our out please so some
    than that that's the their them then there there's these they this to too up us very was
    we we'll we're well were what what's when where which who why will with would yes you
    you'd you'll you're your hi hello thanks thank sure right okay good great"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
"""Function and small-talk words; base models skip them when judging what matters."""

_DENSE_FEATURES = (
    "bias",
    "relative_position",
    "relative_turn",
    "first_turn",
    "last_turn",
    "second_speaker",
    "capitalised_inside",
    "has_digit",
    "log_count",
    "first_occurrence",
    "speaker_tag",
    "length",
    "position_in_turn",
    "stopword",
    "after_stopword",
)


@dataclass
class TrainingRun:
    """What a fine-tuning run produces.

    Attributes:
        artifact: JSON-serialisable weights and configuration for :func:`custom_generate`.
        step_metrics: One row per optimiser step: ``step_number``, ``epoch_number``,
            ``training_loss``, ``perplexity`` (step and epoch numbers start at 1).
        validation_metrics: One row per epoch when validation data was given:
            ``step_number``, ``epoch_number``, ``validation_loss``, ``validation_perplexity``.
    """

    artifact: dict[str, Any]
    step_metrics: list[dict[str, Any]] = field(default_factory=list)
    validation_metrics: list[dict[str, Any]] = field(default_factory=list)


# -- text handling -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Turn:
    speaker: int
    text: str


def _dialogue_turns(prompt: str) -> list[_Turn]:
    """Return the ``#PersonN#:`` turns of ``prompt``, or an empty list if it holds none."""
    parts = _TURN.split(prompt)
    turns = []
    # split() alternates text and captured tags: [before, tag, text, tag, text, ...]
    for tag, text in zip(parts[1::2], parts[2::2], strict=True):
        # A blank line ends the dialogue: what follows is instruction, not conversation.
        text = text.split("\n\n", 1)[0].strip()
        turns.append(_Turn(int(tag[7:-1]), text))
    return turns


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _key(token: str) -> str:
    """Normalise a token for matching: lower case, no dollar sign, crude plural stripping."""
    word = token.lower().lstrip("$").replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _bucket(text: str, bits: int) -> int:
    # crc32 rather than hash(): Python salts str hashes per process.
    return zlib.crc32(text.encode("utf-8")) & ((1 << bits) - 1)


def limit_tokens(text: str, max_tokens: int) -> str:
    """At most ``max_tokens`` words of ``text`` (at least one), as a length-capped answer."""
    words = text.split()
    return " ".join(words[: max(1, max_tokens)])


# -- base models ---------------------------------------------------------------------------


def model_tier(model_id: str) -> int:
    """Strength of a base model: 1 (Micro-sized), 2 (Lite-sized) or 3 (Pro-sized)."""
    ident = model_id.lower()
    if any(name in ident for name in ("nova-pro", "nova-premier", "sonnet", "opus", "70b", "405b")):
        return 3
    if any(name in ident for name in ("nova-micro", "titan-text-lite", "1b-instruct")):
        return 1
    return 2


def _sentences(turn: _Turn) -> list[str]:
    return [s for s in _SENTENCE_END.split(turn.text) if s]


def _informativeness(sentence: str) -> float:
    """Content words count once; names, numbers and amounts count double."""
    score = 0.0
    for index, token in enumerate(_tokens(sentence)):
        if token.lower() in STOPWORDS:
            continue
        score += 1.0
        if any(c.isdigit() for c in token) or (index > 0 and token[0].isupper()):
            score += 1.0
    return score


def _base_summary(turns: list[_Turn], tier: int) -> str:
    if tier == 1:
        return f"#Person{turns[0].speaker}#: {_sentences(turns[0])[0]}"
    if tier == 2:
        picked = [(turns[0].speaker, turns[0].text)]
        if len(turns) > 1:
            picked.append((turns[1].speaker, _sentences(turns[1])[0]))
        return " ".join(f"#Person{speaker}#: {text}" for speaker, text in picked)
    # Pro: the three most informative sentences, back in dialogue order.
    candidates = [
        (index, turn.speaker, sentence)
        for index, turn in enumerate(turns)
        for sentence in _sentences(turn)
    ]
    ranked = sorted(candidates, key=lambda c: (-_informativeness(c[2]), c[0]))[:3]
    return " ".join(f"#Person{speaker}#: {sentence}" for _, speaker, sentence in sorted(ranked))


def _base_answer(prompt: str, tier: int) -> str:
    """Answer a prompt without a dialogue by restating its key words."""
    keywords: dict[str, str] = {}  # lower case -> first spelling, in order of appearance
    for token in _tokens(prompt):
        if token.lower() not in STOPWORDS:
            keywords.setdefault(token.lower(), token)
    if not keywords:
        return "Could you say a little more about what you need?"
    words = list(keywords.values())[: 2 + 2 * tier]
    listed = words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" and {words[-1]}"
    answer = f"This is about {listed}."
    if tier >= 2:
        # Larger models also echo the sentence of the prompt that carries the most content.
        best = max(_SENTENCE_END.split(prompt.strip()), key=_informativeness)
        answer += f" In short: {' '.join(best.split())}"
    return answer


_GRADE_ASK = re.compile(r"\bSCORE\s*:\s*<?\s*0\s*-\s*10", re.IGNORECASE)
# Upper-case labels only: an answer's own "Answer: 42" line must not start a new field.
_FIELD = re.compile(r"^(QUESTION|REFERENCE|ANSWER)\s*:\s*", re.MULTILINE)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def _numbers(text: str) -> list[float]:
    return [float(n.replace(",", "")) for n in _NUMBER.findall(text)]


def judge_answer(prompt: str, system: str | None) -> str | None:
    """A judge's reply when the request asks for a 0-10 grade of an ANSWER against a REFERENCE.

    None when the request is not a grading one. The grade is computed from the two texts:
    with numbers in the reference, 10 when the answer's final number is one of them and 0
    otherwise (the arithmetic is right or it is not); without, ten times the share of the
    reference's key words the answer uses. The reply says it comes from the local stand-in.
    """
    if not _GRADE_ASK.search(f"{system or ''}\n{prompt}"):
        return None
    parts = _FIELD.split(prompt)
    fields: dict[str, str] = {}
    for name, text in zip(parts[1::2], parts[2::2], strict=True):
        fields.setdefault(name, text.strip())
    if "REFERENCE" not in fields or "ANSWER" not in fields:
        return None
    reference, answer = fields["REFERENCE"], fields["ANSWER"]
    wanted, given = _numbers(reference), _numbers(answer)
    if wanted:
        if given:
            score = 10 if given[-1] in wanted else 0
            verdict = "matches" if score else "does not match"
            why = f"final number {given[-1]:g} {verdict} the reference"
        else:
            score, why = 0, "the answer has no number"
    else:
        keys = {_key(t) for t in _tokens(reference) if t.lower() not in STOPWORDS}
        used = {_key(t) for t in _tokens(answer)}
        share = len(keys & used) / len(keys) if keys else 0.0
        score = round(10 * share)
        why = f"uses {len(keys & used)} of the reference's {len(keys)} key words"
    return f"SCORE: {score}\n(local stand-in judge: {why})"


def base_generate(
    model_id: str, prompt: str, system: str | None = None, max_tokens: int = 512
) -> str:
    """Answer ``prompt`` as the base model ``model_id`` would in the stand-in.

    Args:
        model_id: A Bedrock model id such as ``amazon.nova-lite-v1:0``; its size sets
            how well it extracts.
        prompt: The user's text; a dialogue with ``#PersonN#:`` turns is summarised.
        system: Read only to tell a grading request (see :func:`judge_answer`).
        max_tokens: Upper bound on whitespace-separated words in the answer.

    Returns:
        A deterministic answer computed from the prompt.
    """
    graded = judge_answer(prompt, system)
    if graded is not None:
        return limit_tokens(graded, max_tokens)
    tier = model_tier(model_id)
    turns = [t for t in _dialogue_turns(prompt) if t.text]
    text = _base_summary(turns, tier) if turns else _base_answer(prompt, tier)
    return limit_tokens(text, max_tokens)


# -- custom models: features ---------------------------------------------------------------


@dataclass
class _Featurised:
    """Token features of one source text, ready for the logistic model."""

    surfaces: list[str]
    keys: list[str]
    dense: np.ndarray  # (tokens, len(_DENSE_FEATURES))
    word_ids: np.ndarray
    previous_ids: np.ndarray


def _source_tokens(prompt: str) -> list[tuple[str, int, int, int]]:
    """(token, speaker, turn index, position in turn) for the text a model selects from."""
    turns = _dialogue_turns(prompt)
    if not turns:
        return [(token, 0, 0, i) for i, token in enumerate(_tokens(prompt))]
    out = []
    for turn_index, turn in enumerate(turns):
        out.append((f"#Person{turn.speaker}#", turn.speaker, turn_index, 0))
        out.extend(
            (token, turn.speaker, turn_index, i)
            for i, token in enumerate(_tokens(turn.text), start=1)
        )
    return out


def _featurise(prompt: str, bits: int) -> _Featurised:
    items = _source_tokens(prompt)
    n = len(items)
    keys = [_key(token) for token, *_ in items]
    counts = Counter(keys)
    last_turn = max((turn for _, _, turn, _ in items), default=0)
    turn_sizes = Counter(turn for _, _, turn, _ in items)
    dense = np.zeros((n, len(_DENSE_FEATURES)))
    seen: set[str] = set()
    previous = "<s>"
    previous_ids = np.zeros(n, dtype=np.int64)
    for i, ((token, speaker, turn, position), key) in enumerate(zip(items, keys, strict=True)):
        is_tag = token.startswith("#")
        dense[i] = (
            1.0,
            i / max(1, n - 1),
            turn / max(1, last_turn),
            turn == 0,
            turn == last_turn,
            speaker == 2,
            position > 1 and token[0].isupper() and not is_tag,
            any(c.isdigit() for c in token) and not is_tag,
            math.log1p(counts[key]),
            key not in seen,
            is_tag,
            min(len(token), 12) / 12,
            position / turn_sizes[turn],
            key in STOPWORDS,
            previous in STOPWORDS,
        )
        seen.add(key)
        previous_ids[i] = _bucket("prev:" + previous, bits)
        previous = key
    word_ids = np.array([_bucket(key, bits) for key in keys], dtype=np.int64)
    return _Featurised([t for t, *_ in items], keys, dense, word_ids, previous_ids)


@dataclass
class _Corpus:
    """Featurised pairs stacked into flat arrays, with each pair's slice."""

    dense: np.ndarray
    word_ids: np.ndarray
    previous_ids: np.ndarray
    labels: np.ndarray
    bounds: list[tuple[int, int]]

    @classmethod
    def build(cls, pairs: list[tuple[str, str]], bits: int) -> _Corpus:
        parts = []
        labels = []
        bounds = []
        start = 0
        for prompt, completion in pairs:
            feats = _featurise(prompt, bits)
            wanted = {_key(t) for t in _tokens(completion)}
            parts.append(feats)
            labels.append(np.array([k in wanted for k in feats.keys], dtype=float))
            bounds.append((start, start + len(feats.keys)))
            start += len(feats.keys)
        if not parts:
            empty = np.zeros(0, dtype=np.int64)
            return cls(np.zeros((0, len(_DENSE_FEATURES))), empty, empty, np.zeros(0), [])
        return cls(
            np.concatenate([p.dense for p in parts]),
            np.concatenate([p.word_ids for p in parts]),
            np.concatenate([p.previous_ids for p in parts]),
            np.concatenate(labels),
            bounds,
        )

    def rows(self, pair_indices: np.ndarray) -> np.ndarray:
        """Token rows of the given pairs."""
        spans = [np.arange(*self.bounds[i]) for i in pair_indices]
        return np.concatenate(spans) if spans else np.zeros(0, dtype=np.int64)


# -- custom models: the logistic model ------------------------------------------------------


class _Weights:
    """Dense weights plus hashed word and previous-word biases, as one flat vector."""

    def __init__(self, bits: int, use_previous: bool) -> None:
        self.bits = bits
        self.use_previous = use_previous
        size = 1 << bits
        self.vector = np.zeros(len(_DENSE_FEATURES) + size + (size if use_previous else 0))

    @property
    def dense(self) -> np.ndarray:
        return self.vector[: len(_DENSE_FEATURES)]

    @property
    def words(self) -> np.ndarray:
        start = len(_DENSE_FEATURES)
        return self.vector[start : start + (1 << self.bits)]

    @property
    def previous(self) -> np.ndarray:
        return self.vector[len(_DENSE_FEATURES) + (1 << self.bits) :]

    def logits(
        self, dense: np.ndarray, word_ids: np.ndarray, previous_ids: np.ndarray
    ) -> np.ndarray:
        out: np.ndarray = dense @ self.dense + self.words[word_ids]
        if self.use_previous:
            out = out + self.previous[previous_ids]
        return out

    def gradient(
        self, dense: np.ndarray, word_ids: np.ndarray, previous_ids: np.ndarray, error: np.ndarray
    ) -> np.ndarray:
        """Gradient of mean cross-entropy, given ``error`` = probability - label per token."""
        n = max(1, len(error))
        size = 1 << self.bits
        parts = [dense.T @ error / n, np.bincount(word_ids, weights=error, minlength=size) / n]
        if self.use_previous:
            parts.append(np.bincount(previous_ids, weights=error, minlength=size) / n)
        grad: np.ndarray = np.concatenate(parts)
        grad[len(_DENSE_FEATURES) :] += WEIGHT_DECAY * self.vector[len(_DENSE_FEATURES) :]
        return grad


def _cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean binary cross-entropy computed from logits without overflow."""
    if not len(labels):
        return 0.0
    return float(np.mean(np.logaddexp(0.0, logits) - labels * logits))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return cast(np.ndarray, 0.5 * (1.0 + np.tanh(0.5 * x)))  # numpy types ufunc results Any


def _evaluate(weights: _Weights, corpus: _Corpus) -> float:
    return _cross_entropy(
        weights.logits(corpus.dense, corpus.word_ids, corpus.previous_ids), corpus.labels
    )


def numeric_hyperparameters(
    hyperparameters: dict[str, str], defaults: dict[str, float | int]
) -> dict[str, float | int]:
    """Bedrock's string values as numbers for the names in ``defaults``, defaults for the rest."""
    out: dict[str, float | int] = dict(defaults)
    for name in defaults:
        if name in hyperparameters:
            try:
                value = float(hyperparameters[name])
            except (TypeError, ValueError):
                raise ValueError(
                    f"Hyperparameter {name} must be a number, got {hyperparameters[name]!r}."
                ) from None
            out[name] = value if name == "learningRate" else int(value)
    return out


def _hyperparameters(hyperparameters: dict[str, str]) -> dict[str, float | int]:
    """Parse Bedrock's string hyperparameters, filling in defaults and ignoring the rest."""
    out = numeric_hyperparameters(hyperparameters, DEFAULT_HYPERPARAMETERS)
    # Claude 3 Haiku sends a multiplier of its default rather than a rate.
    if "learningRateMultiplier" in hyperparameters and "learningRate" not in hyperparameters:
        out["learningRate"] = DEFAULT_HYPERPARAMETERS["learningRate"] * float(
            hyperparameters["learningRateMultiplier"]
        )
    if out["epochCount"] < 1 or out["batchSize"] < 1:
        raise ValueError("epochCount and batchSize must be at least 1.")
    if out["learningRate"] < 0 or out["learningRateWarmupSteps"] < 0:
        raise ValueError("learningRate and learningRateWarmupSteps must not be negative.")
    return out


@dataclass
class _EarlyStopping:
    """Stops after ``patience`` validation passes in a row that improved by < ``threshold``."""

    threshold: float
    patience: int
    best: float = math.inf
    waited: int = 0
    stopped: bool = False

    @classmethod
    def of(cls, hyperparameters: dict[str, str]) -> _EarlyStopping | None:
        """The rule the hyperparameters ask for, or None when they name none."""
        if "earlyStoppingPatience" not in hyperparameters:
            return None
        threshold = float(hyperparameters.get("earlyStoppingThreshold", 0))
        patience = int(float(hyperparameters["earlyStoppingPatience"]))
        if threshold < 0 or patience < 1:
            raise ValueError("earlyStoppingThreshold must be >= 0 and earlyStoppingPatience >= 1.")
        return cls(threshold, patience)

    def should_stop(self, loss: float) -> bool:
        """Record one validation loss; True once patience has run out."""
        if loss < self.best - self.threshold:
            self.best, self.waited = loss, 0
        else:
            self.best = min(self.best, loss)
            self.waited += 1
        self.stopped = self.waited >= self.patience
        return self.stopped


def _length_model(pairs: list[tuple[str, str]]) -> dict[str, float]:
    """Least-squares fit of summary length (words) on source length (tokens)."""
    x = np.array([len(_source_tokens(p)) for p, _ in pairs], dtype=float)
    y = np.array([len(c.split()) for _, c in pairs], dtype=float)
    slope = float(np.cov(x, y, bias=True)[0, 1] / x.var()) if len(x) > 1 and x.var() > 0 else 0.0
    intercept = float(y.mean() - slope * x.mean())
    return {
        "intercept": round(intercept, 4),
        "slope": round(slope, 6),
        "min": int(y.min()),
        "max": int(y.max()),
    }


def _frame(completions: list[str]) -> str:
    """The opening word most training completions share, if at least a third share one."""
    firsts = Counter(c.split()[0] for c in completions if c.split())
    if not firsts:
        return ""
    word, count = min(firsts.items(), key=lambda item: (-item[1], item[0]))
    word = word.rstrip(":,;.")
    return word if count * 3 >= len(completions) and _TAG.fullmatch(word) else ""


def fine_tune(
    train: list[tuple[str, str]],
    validation: list[tuple[str, str]] | None,
    hyperparameters: dict[str, str],
    base_model_id: str,
    seed: int = 0,
) -> TrainingRun:
    """Train a token-selection summariser on (prompt, completion) pairs.

    Args:
        train: Training pairs; prompts holding ``#PersonN#:`` dialogues select from the
            dialogue, other prompts from their whole text.
        validation: Pairs scored after every epoch, or None.
        hyperparameters: Bedrock's string values; ``epochCount``, ``learningRate``,
            ``learningRateWarmupSteps`` and ``batchSize`` are used (the learning rate is
            multiplied by :data:`LEARNING_RATE_SCALE`), and with validation data
            ``earlyStoppingThreshold`` and ``earlyStoppingPatience`` (Claude 3 Haiku's) stop
            training once that many validation passes in a row improved the loss by less
            than the threshold; unknown names are ignored.
        base_model_id: The base model; its tier sets the model's capacity, and prompts
            without a dialogue are later answered as this base model would.
        seed: Seed of the mini-batch order.

    Returns:
        The artifact and the measured training and validation metrics.

    Raises:
        ValueError: If there is no training data or a hyperparameter is invalid.
    """
    if not train:
        raise ValueError("Fine-tuning needs at least one training pair.")
    hp = _hyperparameters(hyperparameters)
    tier = model_tier(base_model_id)
    bits = _TIER_BITS[tier]
    weights = _Weights(bits, use_previous=tier >= 2)
    corpus = _Corpus.build(train, bits)
    held_out = _Corpus.build(validation or [], bits)

    epochs, batch_size = int(hp["epochCount"]), int(hp["batchSize"])
    peak = float(hp["learningRate"]) * LEARNING_RATE_SCALE
    warmup = int(hp["learningRateWarmupSteps"])
    steps_per_epoch = math.ceil(len(train) / batch_size)
    rng = np.random.default_rng(seed)
    m = np.zeros_like(weights.vector)
    v = np.zeros_like(weights.vector)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    step_metrics: list[dict[str, Any]] = []
    validation_metrics: list[dict[str, Any]] = []
    stopping = _EarlyStopping.of(hyperparameters) if held_out.bounds else None
    step = 0
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(train))
        for batch_start in range(0, len(train), batch_size):
            rows = corpus.rows(order[batch_start : batch_start + batch_size])
            dense, words, prev = (
                corpus.dense[rows],
                corpus.word_ids[rows],
                corpus.previous_ids[rows],
            )
            labels = corpus.labels[rows]
            logits = weights.logits(dense, words, prev)
            loss = _cross_entropy(logits, labels)
            grad = weights.gradient(dense, words, prev, _sigmoid(logits) - labels)
            step += 1
            rate = peak * min(1.0, step / (warmup + 1))
            m = beta1 * m + (1 - beta1) * grad
            v = beta2 * v + (1 - beta2) * grad * grad
            m_hat = m / (1 - beta1**step)
            v_hat = v / (1 - beta2**step)
            weights.vector -= rate * m_hat / (np.sqrt(v_hat) + eps)
            step_metrics.append(metric_row(step, epoch, loss, "training_loss", "perplexity"))
        if held_out.bounds:
            validation_metrics.append(
                metric_row(
                    step,
                    epoch,
                    _evaluate(weights, held_out),
                    "validation_loss",
                    "validation_perplexity",
                )
            )
            if stopping and stopping.should_stop(validation_metrics[-1]["validation_loss"]):
                break

    completions = [c for _, c in train]
    artifact = {
        "format": ARTIFACT_FORMAT,
        "base_model_id": base_model_id,
        "config": {
            "bits": bits,
            "use_previous": weights.use_previous,
            "features": list(_DENSE_FEATURES),
            "hyperparameters": {k: hp[k] for k in sorted(hp)},
            "learning_rate_scale": LEARNING_RATE_SCALE,
            "seed": seed,
            "steps": step,
            "steps_per_epoch": steps_per_epoch,
            "stopped_early": bool(stopping and stopping.stopped),
        },
        "frame": _frame(completions),
        "length": _length_model(train),
        "dense": _rounded(weights.dense),
        # Only buckets that training touched are stored, which keeps the artifact small.
        "words": _sparse(weights.words),
        "previous": _sparse(weights.previous) if weights.use_previous else {},
    }
    return TrainingRun(artifact, step_metrics, validation_metrics)


def metric_row(step: int, epoch: int, loss: float, loss_name: str, ppl_name: str) -> dict:
    """One row of a metrics CSV in Bedrock's column names, perplexity from the loss."""
    # Diverged runs can reach losses whose exponential overflows a float.
    perplexity = math.exp(loss) if loss < 700 else float("inf")
    return {
        "step_number": step,
        "epoch_number": epoch,
        loss_name: round(loss, 6),
        ppl_name: round(perplexity, 6) if math.isfinite(perplexity) else perplexity,
    }


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(x), 5) for x in values]


def _sparse(values: np.ndarray) -> dict[str, list]:
    index = np.flatnonzero(np.round(values, 5))
    return {"index": [int(i) for i in index], "value": _rounded(values[index])}


# -- custom models: generation --------------------------------------------------------------


def _load_weights(artifact: dict[str, Any]) -> _Weights:
    config = artifact["config"]
    weights = _Weights(int(config["bits"]), bool(config["use_previous"]))
    weights.dense[:] = artifact["dense"]
    weights.words[artifact["words"]["index"]] = artifact["words"]["value"]
    if weights.use_previous:
        weights.previous[artifact["previous"]["index"]] = artifact["previous"]["value"]
    return weights


def custom_generate(
    artifact: dict[str, Any], prompt: str, system: str | None = None, max_tokens: int = 512
) -> str:
    """Answer ``prompt`` with a custom model's artifact.

    Artifacts of :func:`fine_tune` summarise dialogues; artifacts of
    :func:`continue_pretraining` (``artifact["kind"] == "continued-pretraining"``) continue
    the prompt with domain text (see :func:`continue_pretraining` for when they defer to
    the base model instead).

    Args:
        artifact: The artifact of a :class:`TrainingRun` (or its JSON round trip).
        prompt: The user's text; for a fine-tuned artifact, a dialogue with ``#PersonN#:``
            turns is summarised and any other prompt is answered as the base model would.
        system: Ignored, as for base models.
        max_tokens: Upper bound on whitespace-separated words in the answer.

    Returns:
        The generated text.

    Raises:
        ValueError: If ``artifact`` was not made by this module.
    """
    if artifact.get("kind") == CPT_KIND:
        return _cpt_generate(artifact, prompt, system, max_tokens)
    if artifact.get("format") != ARTIFACT_FORMAT:
        raise ValueError(f"Not a {ARTIFACT_FORMAT} artifact.")
    if not any(t.text for t in _dialogue_turns(prompt)):
        return base_generate(artifact["base_model_id"], prompt, system, max_tokens)
    weights = _load_weights(artifact)
    feats = _featurise(prompt, weights.bits)
    probabilities = _sigmoid(weights.logits(feats.dense, feats.word_ids, feats.previous_ids))

    frame = artifact["frame"]
    length = artifact["length"]
    budget = round(length["intercept"] + length["slope"] * len(feats.keys))
    budget = int(min(length["max"], max(length["min"], budget))) - (1 if frame else 0)

    # Keep each word's most likely occurrence; summaries rarely repeat a word.
    best: dict[str, int] = {}
    for i, key in enumerate(feats.keys):
        if key not in best or probabilities[i] > probabilities[best[key]]:
            best[key] = i
    if frame:
        best.pop(_key(frame), None)
    chosen = sorted(best.values(), key=lambda i: (-probabilities[i], i))[: max(0, budget)]
    words = ([frame] if frame else []) + [feats.surfaces[i] for i in sorted(chosen)]
    text = " ".join(words)
    return limit_tokens(text + ("." if text and text[-1].isalnum() else ""), max_tokens)


# -- continued pre-training: a bigram language model -----------------------------------------

CPT_ARTIFACT_FORMAT = "standin.learner/bigram-lm-v1"
"""Value of ``artifact["format"]`` for :func:`continue_pretraining` artifacts."""

CPT_KIND = "continued-pretraining"
"""Value of ``artifact["kind"]``; :func:`custom_generate` dispatches on it."""

CPT_LEARNING_RATE_SCALE = 5_000.0
"""Multiplies Bedrock's learning rate into the language model's Adam step size.

Titan's default rate (1e-5) becomes a step of 0.05 on the logits, which fits a few
thousand records in a handful of epochs; a rate 1000 times larger (a step of 50) throws
the logits far past any sensible value, and the measured loss ends higher, not lower.
"""

CPT_DEFAULT_HYPERPARAMETERS = {
    "epochCount": 5,
    "learningRate": 1e-5,
    "learningRateWarmupSteps": 5,
    "batchSize": 1,
}
"""Values used when a hyperparameter is missing (Amazon Titan Text's defaults)."""

CPT_WEIGHT_DECAY = 1e-5
"""L2 penalty on the bigram weights (on the per-token mean loss), a light brake on rare pairs."""

MIN_BIGRAM_COUNT = 2
"""A word pair needs this many occurrences in the training text to get a weight of its own;
rarer pairs fall back to the unigram part, as a backed-off n-gram model would."""

_VOCABULARY = {1: 1_000, 2: 2_000, 3: 3_000}
"""Words (besides ``<unk>`` and ``</s>``) a model of each tier keeps: bigger, more words."""

_UNK, _END = 0, 1  # output ids of <unk> and </s>; the start context <s> is row ``len(vocab)``
_LM_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_'’-]*|[.,;:?!()]")
_PUNCTUATION = frozenset(".,;:?!()")


def _lm_tokens(text: str) -> list[str]:
    return _LM_TOKEN.findall(text)


def _cpt_hyperparameters(hyperparameters: dict[str, str]) -> dict[str, float | int]:
    """Titan's string hyperparameters as numbers, with Titan's defaults for missing ones."""
    out = numeric_hyperparameters(hyperparameters, CPT_DEFAULT_HYPERPARAMETERS)
    if out["epochCount"] < 1 or out["batchSize"] < 1:
        raise ValueError("epochCount and batchSize must be at least 1.")
    if out["learningRate"] < 0 or out["learningRateWarmupSteps"] < 0:
        raise ValueError("learningRate and learningRateWarmupSteps must not be negative.")
    return out


def _build_vocabulary(texts: list[str], size: int) -> list[str]:
    """``<unk>``, ``</s>`` and the ``size`` most frequent words (ties alphabetical).

    Words are matched case-insensitively; each keeps its most frequent spelling.
    """
    counts: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = {}
    for text in texts:
        for token in _lm_tokens(text):
            key = token.lower()
            counts[key] += 1
            spellings.setdefault(key, Counter())[token] += 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:size]
    words = [min(spellings[k].items(), key=lambda s: (-s[1], s[0]))[0] for k, _ in ranked]
    return ["<unk>", "</s>", *words]


def _encode(text: str, index: dict[str, int]) -> np.ndarray:
    """Output ids of a record's tokens followed by ``</s>``."""
    ids = [index.get(token.lower(), _UNK) for token in _lm_tokens(text)]
    return np.array([*ids, _END], dtype=np.int64)


@dataclass
class _BigramCounts:
    """(context row, next word) pair counts of some records, as parallel arrays."""

    rows: np.ndarray
    cols: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, records: list[np.ndarray], start_row: int, n_out: int) -> _BigramCounts:
        if not records:
            empty = np.zeros(0, dtype=np.int64)
            return cls(empty, empty, np.zeros(0))
        prev = np.concatenate([np.concatenate(([start_row], r[:-1])) for r in records])
        nxt = np.concatenate(records)
        pairs, counts = np.unique(prev * n_out + nxt, return_counts=True)
        return cls(pairs // n_out, pairs % n_out, counts.astype(float))


class _BigramModel:
    """logit(next | previous) = unigram[next] + bigram[previous, next].

    The bigram weights exist only for pairs seen at least :data:`MIN_BIGRAM_COUNT` times
    in training (a fixed sparse support, rows sorted), so unseen pairs back off to the
    unigram part. Both parts start at zero, i.e. a uniform distribution over the words.
    """

    def __init__(self, n_out: int, n_rows: int, rows: np.ndarray, cols: np.ndarray) -> None:
        self.n_out = n_out
        self.n_rows = n_rows
        self.unigram = np.zeros(n_out)
        self.rows = rows
        self.cols = cols
        self.bigram = np.zeros(len(rows))
        # Row pointers: the support entries of row r are bigram[ptr[r]:ptr[r + 1]].
        self.ptr = np.searchsorted(rows, np.arange(n_rows + 1))

    def entries(self, batch_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Support indices of ``batch_rows`` and the position of each in ``batch_rows``."""
        starts, ends = self.ptr[batch_rows], self.ptr[batch_rows + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        local = np.repeat(np.arange(len(batch_rows)), lengths)
        offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
        return offsets + np.arange(total), local

    def log_probs(self, batch_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Log-probabilities over next words for each row, with the support entries used."""
        idx, local = self.entries(batch_rows)
        logits = np.tile(self.unigram, (len(batch_rows), 1))
        logits[local, self.cols[idx]] += self.bigram[idx]
        logits -= logits.max(axis=1, keepdims=True)
        logits -= np.log(np.exp(logits).sum(axis=1, keepdims=True))
        return logits, idx, local

    def loss(self, counts: _BigramCounts) -> float:
        """Mean cross-entropy (nats per token) of the given pair counts."""
        if not len(counts.counts):
            return 0.0
        used, inverse = np.unique(counts.rows, return_inverse=True)
        logp, _, _ = self.log_probs(used)
        return float(-(counts.counts * logp[inverse, counts.cols]).sum() / counts.counts.sum())


def _batch_gradient(
    model: _BigramModel, counts: _BigramCounts
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Loss of a batch and the gradients of its mean cross-entropy.

    For a softmax row, d(loss)/d(logits) = n_row * p - counts, divided by the tokens.
    """
    used, inverse = np.unique(counts.rows, return_inverse=True)
    logp, idx, local = model.log_probs(used)
    total = counts.counts.sum()
    target = np.zeros_like(logp)
    np.add.at(target, (inverse, counts.cols), counts.counts)
    row_tokens = target.sum(axis=1, keepdims=True)
    error = (row_tokens * np.exp(logp) - target) / total
    loss = float(-(counts.counts * logp[inverse, counts.cols]).sum() / total)
    grad_bigram = error[local, model.cols[idx]] + CPT_WEIGHT_DECAY * model.bigram[idx]
    return loss, error.sum(axis=0), grad_bigram, idx


def _records_counts(
    encoded: list[np.ndarray], picks: np.ndarray, start_row: int, n_out: int
) -> _BigramCounts:
    return _BigramCounts.of([encoded[i] for i in picks], start_row, n_out)


def continue_pretraining(
    train: list[str],
    validation: list[str] | None,
    hyperparameters: dict[str, str],
    base_model_id: str,
    seed: int = 0,
) -> TrainingRun:
    """Fit a bigram language model on unlabeled domain text, as continued pre-training.

    The model predicts each word from the word before it over a bounded vocabulary (the
    most frequent words of ``train`` plus ``<unk>`` and an end-of-record token); its
    logits are a unigram part plus bigram weights for pairs seen in training, fitted by
    mini-batch Adam on next-token cross-entropy. Every reported loss is measured: the
    training loss of each mini-batch before its update, and the loss on ``validation``
    after each epoch. Perplexity is ``exp(loss)``, per token of the bounded vocabulary.

    Args:
        train: Training texts (the ``input`` of each record).
        validation: Texts scored after every epoch, or None.
        hyperparameters: Bedrock's string values; ``epochCount``, ``batchSize`` (records
            per step), ``learningRate`` (multiplied by :data:`CPT_LEARNING_RATE_SCALE`)
            and ``learningRateWarmupSteps`` are used, unknown names are ignored.
        base_model_id: The base model; its tier sets the vocabulary size, and prompts the
            custom model does not continue are answered as this base model would.
        seed: Seed of the mini-batch order.

    Returns:
        The artifact (kind ``continued-pretraining``) and the measured metrics.

    Raises:
        ValueError: If there is no training text or a hyperparameter is invalid.
    """
    texts = [t for t in train if _lm_tokens(t)]
    if not texts:
        raise ValueError("Continued pre-training needs at least one record with words in it.")
    hp = _cpt_hyperparameters(hyperparameters)
    vocabulary = _build_vocabulary(texts, _VOCABULARY[model_tier(base_model_id)])
    index = {word.lower(): i for i, word in enumerate(vocabulary) if i > _END}
    n_out = len(vocabulary)
    start_row = n_out  # context row of <s>: rows 0..n_out-1 are the words themselves
    encoded = [_encode(t, index) for t in texts]
    held_out = _BigramCounts.of(
        [_encode(t, index) for t in validation or [] if _lm_tokens(t)], start_row, n_out
    )

    everything = _BigramCounts.of(encoded, start_row, n_out)
    keep = everything.counts >= MIN_BIGRAM_COUNT
    model = _BigramModel(n_out, n_out + 1, everything.rows[keep], everything.cols[keep])

    epochs, batch_size = int(hp["epochCount"]), int(hp["batchSize"])
    peak = float(hp["learningRate"]) * CPT_LEARNING_RATE_SCALE
    warmup = int(hp["learningRateWarmupSteps"])
    rng = np.random.default_rng(seed)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    m_u, v_u = np.zeros(n_out), np.zeros(n_out)
    m_b, v_b = np.zeros(len(model.bigram)), np.zeros(len(model.bigram))
    step_metrics: list[dict[str, Any]] = []
    validation_metrics: list[dict[str, Any]] = []
    step = 0
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(encoded))
        for batch_start in range(0, len(encoded), batch_size):
            batch = _records_counts(
                encoded, order[batch_start : batch_start + batch_size], start_row, n_out
            )
            loss, grad_u, grad_b, idx = _batch_gradient(model, batch)
            step += 1
            rate = peak * min(1.0, step / (warmup + 1))
            correction1, correction2 = 1 - beta1**step, 1 - beta2**step
            m_u = beta1 * m_u + (1 - beta1) * grad_u
            v_u = beta2 * v_u + (1 - beta2) * grad_u * grad_u
            model.unigram -= rate * (m_u / correction1) / (np.sqrt(v_u / correction2) + eps)
            # Lazy Adam for the sparse bigram weights: only the rows in the batch move.
            m_b[idx] = beta1 * m_b[idx] + (1 - beta1) * grad_b
            v_b[idx] = beta2 * v_b[idx] + (1 - beta2) * grad_b * grad_b
            model.bigram[idx] -= (
                rate * (m_b[idx] / correction1) / (np.sqrt(v_b[idx] / correction2) + eps)
            )
            step_metrics.append(metric_row(step, epoch, loss, "training_loss", "perplexity"))
        if len(held_out.counts):
            validation_metrics.append(
                metric_row(
                    step, epoch, model.loss(held_out), "validation_loss", "validation_perplexity"
                )
            )

    lengths = sorted(len(r) - 1 for r in encoded)
    artifact = {
        "format": CPT_ARTIFACT_FORMAT,
        "kind": CPT_KIND,
        "base_model_id": base_model_id,
        "config": {
            "hyperparameters": {k: hp[k] for k in sorted(hp)},
            "learning_rate_scale": CPT_LEARNING_RATE_SCALE,
            "min_bigram_count": MIN_BIGRAM_COUNT,
            "seed": seed,
            "steps": step,
            "steps_per_epoch": math.ceil(len(encoded) / batch_size),
            "typical_length": lengths[len(lengths) // 2],
        },
        "vocabulary": vocabulary,
        "unigram": _rounded(model.unigram),
        # Sparse rows: the weights of context row r are values[row_starts[r]:row_starts[r+1]].
        "bigram": {
            "row_starts": [int(i) for i in model.ptr],
            "cols": [int(c) for c in model.cols],
            "values": _rounded(model.bigram),
        },
    }
    return TrainingRun(artifact, step_metrics, validation_metrics)


def unigram_baseline(train: list[str], base_model_id: str) -> dict[str, Any]:
    """A continued-pre-training artifact with no bigram weights: add-one unigram frequencies.

    It shares the vocabulary :func:`continue_pretraining` would build from ``train``, so
    :func:`perplexity` compares the two fairly: what the bigram training adds is what a
    word-frequency model of the same domain cannot capture.
    """
    texts = [t for t in train if _lm_tokens(t)]
    vocabulary = _build_vocabulary(texts, _VOCABULARY[model_tier(base_model_id)])
    index = {word.lower(): i for i, word in enumerate(vocabulary) if i > _END}
    counts = np.bincount(
        np.concatenate([_encode(t, index) for t in texts]), minlength=len(vocabulary)
    )
    lengths = sorted(len(_lm_tokens(t)) for t in texts)
    return {
        "format": CPT_ARTIFACT_FORMAT,
        "kind": CPT_KIND,
        "base_model_id": base_model_id,
        "config": {"typical_length": lengths[len(lengths) // 2]},
        "vocabulary": vocabulary,
        "unigram": _rounded(np.log(counts + 1.0)),
        "bigram": {"row_starts": [0] * (len(vocabulary) + 2), "cols": [], "values": []},
    }


def _load_bigram(artifact: dict[str, Any]) -> _BigramModel:
    if artifact.get("format") != CPT_ARTIFACT_FORMAT or artifact.get("kind") != CPT_KIND:
        raise ValueError(f"Not a {CPT_ARTIFACT_FORMAT} artifact.")
    n_out = len(artifact["vocabulary"])
    bigram = artifact["bigram"]
    starts = np.array(bigram["row_starts"], dtype=np.int64)
    rows = np.repeat(np.arange(n_out + 1), np.diff(starts))
    model = _BigramModel(n_out, n_out + 1, rows, np.array(bigram["cols"], dtype=np.int64))
    model.unigram[:] = artifact["unigram"]
    model.bigram[:] = bigram["values"]
    return model


def perplexity(artifact: dict[str, Any], texts: list[str]) -> float:
    """Per-token perplexity of a continued-pre-training artifact on ``texts``.

    Tokens outside the model's vocabulary count as ``<unk>``, and each text ends with an
    end-of-record token, exactly as during training.
    """
    model = _load_bigram(artifact)
    vocabulary = artifact["vocabulary"]
    index = {word.lower(): i for i, word in enumerate(vocabulary) if i > _END}
    counts = _BigramCounts.of(
        [_encode(t, index) for t in texts if _lm_tokens(t)], len(vocabulary), len(vocabulary)
    )
    loss = model.loss(counts)
    return math.exp(loss) if loss < 700 else math.inf


def _join(tokens: list[str], capitalise: bool) -> str:
    """Tokens as text: no space before closing punctuation, capitals after a full stop."""
    text = ""
    for token in tokens:
        if capitalise and token[0].islower():
            token = token[0].upper() + token[1:]
        if not text or token in ".,;:?!)" or text.endswith("("):
            text += token
        else:
            text += " " + token
        capitalise = token in ".?!"
    return text


def _continue(artifact: dict[str, Any], prompt: str, max_tokens: int) -> str | None:
    """Greedy continuation of ``prompt``; None when no prompt word is known or none follows.

    Generation starts from the prompt's last known word. Each next word is the most likely
    one given the word before it among the pairs the model has a weight for (pairs seen
    in training), so every step is a word pair of the domain; a pair is never repeated,
    and a content word (not a stopword or punctuation) appears at most once, prompt
    included. The text stops when the end-of-record token is likeliest (after a few
    words), when no pair is left, at the model's typical record length, or at
    ``max_tokens`` words. Nothing is random: the same prompt gives the same text.
    """
    vocabulary = artifact["vocabulary"]
    index = {word.lower(): i for i, word in enumerate(vocabulary) if i > _END}
    known = [
        index[t.lower()] for t in _lm_tokens(prompt) if t.lower() in index and t not in _PUNCTUATION
    ]
    if not known:
        return None
    model = _load_bigram(artifact)
    budget = max(1, min(max_tokens, max(8, int(artifact["config"]["typical_length"]))))
    previous = known[-1]
    used_words = {vocabulary[i].lower() for i in known}
    used_pairs: set[tuple[int, int]] = set()
    out: list[str] = []
    while sum(t not in _PUNCTUATION for t in out) < budget:
        logp = model.log_probs(np.array([previous]))[0][0]
        allowed = model.cols[model.ptr[previous] : model.ptr[previous + 1]]
        choice = None
        for candidate in sorted(allowed.tolist(), key=lambda c: (-logp[c], c)):
            if candidate == _UNK or (previous, candidate) in used_pairs:
                continue
            if not out and vocabulary[candidate] in _PUNCTUATION:
                continue  # a continuation opens with a word, not a full stop
            if candidate == _END:
                if len(out) >= 4:
                    choice = candidate
                    break
                continue
            word = vocabulary[candidate].lower()
            if word in used_words and word not in _PUNCTUATION and word not in STOPWORDS:
                continue
            choice = candidate
            break
        if choice is None or choice == _END:
            break
        used_pairs.add((previous, choice))
        used_words.add(vocabulary[choice].lower())
        out.append(vocabulary[choice])
        previous = choice
    if not out:
        return None
    stripped = prompt.rstrip()
    return _join(out, capitalise=not stripped or stripped[-1] in ".?!")


def _cpt_generate(
    artifact: dict[str, Any], prompt: str, system: str | None, max_tokens: int
) -> str:
    """Continue ``prompt`` with a continued-pre-training artifact.

    Continued pre-training teaches a domain's language, not a task, so the base model
    still answers the prompts where continuing text makes no sense: dialogues to
    summarise (``#PersonN#:`` turns) and prompts with no word the model has learned (or
    after whose last known word it has learned nothing to say).
    """
    if any(t.text for t in _dialogue_turns(prompt)):
        return base_generate(artifact["base_model_id"], prompt, system, max_tokens)
    text = _continue(artifact, prompt, max_tokens)
    if text is None:
        return base_generate(artifact["base_model_id"], prompt, system, max_tokens)
    return limit_tokens(text, max_tokens)
