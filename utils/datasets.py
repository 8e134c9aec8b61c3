"""Prepare training data: load dialogues, format them for each model family, split and chunk.

Every Bedrock customization job reads JSON Lines: one JSON object per line. The
functions here turn dialogue rows (``id``, ``topic``, ``dialogue``, ``summary``) into
the record shapes each model family expects, split them reproducibly into
train/validation/test sets and write them out. :mod:`utils.validation` then checks the
files before they are uploaded.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from utils import models, paths
from utils.errors import WorkshopError
from utils.token_estimate import CHARS_PER_TOKEN
from utils.token_estimate import estimate_tokens as estimate_tokens  # notebooks call it here

if TYPE_CHECKING:
    import pandas as pd

DIALOGSUM_HUB_ID = "knkarthick/dialogsum"
"""The public DialogSum dataset on the Hugging Face Hub."""

BUNDLED_DIALOGUES = "dialogues.jsonl"
"""File name of the bundled dialogues under :data:`utils.paths.DATA_DIR`."""

CONVERSATION_SCHEMA = "bedrock-conversation-2024"
"""``schemaVersion`` of the conversation format (Amazon Nova, Llama 3.2, distillation)."""

SUMMARY_SYSTEM = "You are an assistant that writes short, factual summaries of conversations."
"""System prompt used for every dialogue-summarization record."""

SUMMARY_INSTRUCTION = "Summarize the following conversation."
"""Instruction placed above the dialogue in every prompt."""

HUB_TIMEOUT_SECONDS = 3.0
"""How long to wait for the Hugging Face Hub before falling back to the bundled data."""

Source = Literal["auto", "bundled", "hub"]


# --------------------------------------------------------------------------- JSON Lines


def read_jsonl(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Yield the JSON objects of a JSON Lines file, one per non-blank line.

    Raises:
        WorkshopError: The file is missing, or a line is not a JSON object.
    """
    path = Path(path)
    try:
        # utf-8-sig: files saved by some editors start with a byte-order mark.
        fh = path.open(encoding="utf-8-sig")
    except OSError as exc:
        raise WorkshopError(
            f"Cannot open {path}: {exc.strerror or exc}.", "Check the path."
        ) from exc
    with fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise WorkshopError(
                    f"{path}:{number}: not valid JSON ({exc.msg}).",
                    f"Run `python -m utils.validation {path}` to list every problem.",
                ) from exc
            if not isinstance(row, dict):
                raise WorkshopError(
                    f"{path}:{number}: expected a JSON object, found {type(row).__name__}.",
                    "Write one JSON object per line.",
                )
            yield row


def write_jsonl(rows: Iterable[dict[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Write rows as UTF-8 JSON Lines (compact, non-ASCII kept, final newline) and return the path.

    The file is replaced atomically, so an interrupted run never leaves half a dataset.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
                fh.write("\n")
        # mkstemp creates the file private (0600); give it the usual mode of a data file.
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# --------------------------------------------------------------------------- loading


def bundled_dialogues_path() -> Path:
    """Path of the bundled dialogue dataset (``data/dialogues.jsonl``)."""
    return paths.DATA_DIR / BUNDLED_DIALOGUES


def load_bundled_dialogues() -> list[dict[str, Any]]:
    """Load the bundled dialogues: rows with ``id``, ``topic``, ``dialogue`` and ``summary``.

    Raises:
        WorkshopError: The bundled file is missing.
    """
    path = bundled_dialogues_path()
    if not path.is_file():
        raise WorkshopError(
            f"The bundled dataset {path} is missing.",
            "Restore it with `git checkout -- data/dialogues.jsonl` "
            "or regenerate it with `python -m tools.synthetic`.",
        )
    return list(read_jsonl(path))


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def hub_offline() -> bool:
    """True when ``HF_DATASETS_OFFLINE`` or ``HF_HUB_OFFLINE`` asks for no Hub access."""
    return _truthy(os.environ.get("HF_DATASETS_OFFLINE")) or _truthy(
        os.environ.get("HF_HUB_OFFLINE")
    )


def _hub_reachable(timeout: float = HUB_TIMEOUT_SECONDS) -> bool:
    # A quick probe first: `datasets` retries for a long time before giving up,
    # which would freeze a notebook on a machine without internet access.
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    url = f"{endpoint}/api/datasets/{DIALOGSUM_HUB_ID}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return 200 <= cast(int, resp.status) < 400  # typeshed: urlopen's response is Any
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _load_from_hub(split: str, limit: int | None) -> list[dict[str, Any]]:
    import datasets as hf_datasets  # the Hugging Face library, imported only when needed

    selection = split if limit is None else f"{split}[:{limit}]"
    table = hf_datasets.load_dataset(DIALOGSUM_HUB_ID, split=selection)
    return [
        {
            "id": str(item.get("fname") or item.get("id") or f"{split}_{index}"),
            "topic": str(item.get("topic") or ""),
            "dialogue": str(item["dialogue"]),
            "summary": str(item["summary"]),
        }
        for index, item in enumerate(table)
    ]


def load_dialogsum(
    source: Source | str = "auto", limit: int | None = None, split: str = "train"
) -> tuple[list[dict[str, Any]], str]:
    """Load dialogue/summary rows and say where they came from.

    Args:
        source: ``"hub"`` loads DialogSum from the Hugging Face Hub, ``"bundled"`` loads
            ``data/dialogues.jsonl``, ``"auto"`` tries the Hub and falls back to the bundled
            data when offline (``HF_DATASETS_OFFLINE``/``HF_HUB_OFFLINE`` set) or unreachable.
        limit: Keep at most this many rows.
        split: DialogSum split to load from the Hub (``train``, ``validation`` or ``test``).

    Returns:
        The rows (``id``, ``topic``, ``dialogue``, ``summary``) and ``"hub"`` or ``"bundled"``.

    Raises:
        WorkshopError: ``source`` is unknown, or the forced source cannot be loaded.
    """
    if source not in ("auto", "bundled", "hub"):
        raise WorkshopError(
            f"Unknown dataset source {source!r}.", "Use 'auto', 'hub' or 'bundled'."
        )
    if limit is not None and limit < 0:
        raise WorkshopError(f"limit must be 0 or more, not {limit}.", "Pass a positive limit.")
    if source in ("auto", "hub"):
        reason = None
        if hub_offline():
            reason = "HF_DATASETS_OFFLINE or HF_HUB_OFFLINE is set"
        elif not _hub_reachable():
            reason = "the Hugging Face Hub cannot be reached"
        else:
            try:
                return _load_from_hub(split, limit), "hub"
            except Exception as exc:  # any failure of a third-party download means: fall back
                reason = f"loading {DIALOGSUM_HUB_ID} failed ({type(exc).__name__}: {exc})"
        if source == "hub":
            raise WorkshopError(
                f"Cannot load {DIALOGSUM_HUB_ID} from the Hugging Face Hub: {reason}.",
                "Connect to the internet and unset the offline variables, or use source='bundled'.",
            )
    rows = load_bundled_dialogues()
    return (rows if limit is None else rows[:limit]), "bundled"


# --------------------------------------------------------------------------- formatting


def summary_prompt(dialogue: str) -> str:
    """The user prompt for one dialogue: the instruction, a blank line, then the dialogue."""
    return f"{SUMMARY_INSTRUCTION}\n\n{dialogue.strip()}"


def to_conversation(
    prompt: str, completion: str, system: str | None = SUMMARY_SYSTEM
) -> dict[str, Any]:
    """A ``bedrock-conversation-2024`` record (Amazon Nova); ``system=None`` leaves it out."""
    record: dict[str, Any] = {"schemaVersion": CONVERSATION_SCHEMA}
    if system is not None:
        record["system"] = [{"text": system}]
    record["messages"] = [
        {"role": "user", "content": [{"text": prompt}]},
        {"role": "assistant", "content": [{"text": completion}]},
    ]
    return record


def to_prompt_completion(prompt: str, completion: str) -> dict[str, str]:
    """A prompt/completion record (Amazon Titan Text, Meta Llama 3.1 fine-tuning)."""
    return {"prompt": prompt, "completion": completion}


def to_claude_haiku(prompt: str, completion: str, system: str = SUMMARY_SYSTEM) -> dict[str, Any]:
    """A Claude 3 Haiku fine-tuning record: string ``system`` and string message contents."""
    return {
        "system": system,
        "messages": [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": completion},
        ],
    }


def to_continued_pretraining(text: str) -> dict[str, str]:
    """A continued pre-training record: ``{"input": text}``."""
    return {"input": text}


def for_model(model_id: str, prompt: str, completion: str) -> dict[str, Any]:
    """A training record in the data format of ``model_id``'s family (from the model registry)."""
    data_format = models.family(model_id).data_format
    if data_format == models.CONVERSATION:
        return to_conversation(prompt, completion)
    if data_format == models.CLAUDE_MESSAGES:
        return to_claude_haiku(prompt, completion)
    if data_format == models.PROMPT_COMPLETION:
        return to_prompt_completion(prompt, completion)
    raise WorkshopError(f"{model_id} is not fine-tuned on prompt/answer pairs ({data_format}).")


def summarization_records(rows: Iterable[dict[str, Any]], model_id: str) -> list[dict[str, Any]]:
    """Dialogue rows (``dialogue``, ``summary``) as training records for ``model_id``."""
    return [for_model(model_id, summary_prompt(r["dialogue"]), r["summary"]) for r in rows]


# --------------------------------------------------------------------------- splitting


def _split_sizes(n: int, fractions: Sequence[float]) -> list[int]:
    # Largest-remainder rounding: sizes always add up to n and stay within one
    # row of the exact share.
    exact = [n * f for f in fractions]
    sizes = [math.floor(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - sizes[i]), i))
    for i in order[: n - sum(sizes)]:
        sizes[i] += 1
    return sizes


def _row_key(row: Any, seed: int) -> str:
    text = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(f"{seed}\x00{text}".encode()).hexdigest()


def split(
    rows: Sequence[Any], fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 42
) -> tuple[list[Any], list[Any], list[Any]]:
    """Split rows into train, validation and test sets, reproducibly.

    Each row is ranked by a hash of the seed and its content (JSON with sorted keys),
    so the result depends only on the rows and the seed, not on their input order:
    the same rows and seed always give the same three lists, in the same order.
    Sizes use largest-remainder rounding and add up to ``len(rows)``.

    Args:
        rows: The rows (JSON-serializable values, usually dicts).
        fractions: Shares of train, validation and test; non-negative, summing to 1.
        seed: Changes the assignment; keep it fixed to reproduce a split.

    Raises:
        ValueError: ``fractions`` is not three non-negative numbers summing to 1.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f"fractions must be 3 non-negative numbers summing to 1, not {fractions}")
    # Identical rows hash alike; the input position breaks the tie deterministically.
    ranked = sorted(range(len(rows)), key=lambda i: (_row_key(rows[i], seed), i))
    n_train, n_val, _ = _split_sizes(len(rows), fractions)
    ordered = [rows[i] for i in ranked]
    return ordered[:n_train], ordered[n_train : n_train + n_val], ordered[n_train + n_val :]


# --------------------------------------------------------------------------- tokens


DISTILLATION_SPLIT = (0.85, 0.0, 0.15)
DISTILLATION_SEED = 7


def distillation_split(
    rows: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The prompt pool and the held-out dialogues both distillation lessons use.

    One split for both, so the held-out set that scores the students is the same and no
    student ever trained on it.
    """
    pool, _, held_out = split(rows, DISTILLATION_SPLIT, seed=DISTILLATION_SEED)
    return pool, held_out


_PIECE = re.compile(r"\S+\s*")
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*$")


def _pieces(text: str, max_chars: int) -> list[str]:
    # Words with their trailing whitespace, so chunks keep the original spacing;
    # a word longer than the whole budget is cut so that every chunk can fit.
    out: list[str] = []
    for match in _PIECE.finditer(text):
        piece = match.group()
        while len(piece.rstrip()) > max_chars:
            out.append(piece[:max_chars])
            piece = piece[max_chars:]
        out.append(piece)
    return out


def _ends_sentence(piece: str) -> bool:
    return "\n" in piece or bool(_SENTENCE_END.search(piece.rstrip()))


def chunk_text(text: str, max_tokens: int, overlap_tokens: int = 0) -> list[str]:
    """Cut text into chunks of at most ``max_tokens`` (see :func:`estimate_tokens`).

    Chunks end at a sentence or line boundary when one falls in the second half of
    the chunk, else between words; words longer than the budget are cut. Each chunk
    after the first starts with the last words of the previous one, at most
    ``overlap_tokens`` of them, so context carries across the cut.

    Raises:
        ValueError: ``max_tokens`` < 1, or ``overlap_tokens`` not in ``[0, max_tokens)``.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, not {max_tokens}")
    if not 0 <= overlap_tokens < max_tokens:
        raise ValueError(f"overlap_tokens must be in [0, {max_tokens}), not {overlap_tokens}")
    max_chars = max_tokens * CHARS_PER_TOKEN
    overlap_chars = overlap_tokens * CHARS_PER_TOKEN
    pieces = _pieces(text, max_chars)
    chunks: list[str] = []
    start = 0
    while start < len(pieces):
        end, size = start, 0
        while end < len(pieces):
            # The trailing whitespace of the last piece is stripped, so it does not count.
            if size + len(pieces[end].rstrip()) > max_chars:
                break
            size += len(pieces[end])
            end += 1
        if end < len(pieces):
            for cut in range(end, start + max(1, (end - start) // 2), -1):
                if _ends_sentence(pieces[cut - 1]):
                    end = cut
                    break
        chunks.append("".join(pieces[start:end]).strip())
        if end >= len(pieces):
            break
        next_start, kept = end, 0
        while next_start - 1 > start:
            extra = len(pieces[next_start - 1]) if kept else len(pieces[next_start - 1].rstrip())
            if kept + extra > overlap_chars:
                break
            kept += extra
            next_start -= 1
        start = next_start
    return chunks


def continuation_records(
    texts: Iterable[str], prompt_words: int = 12, reference_words: int = 40
) -> list[dict[str, str]]:
    """Evaluation records for continued pre-training: a text's opening and what follows it.

    Each text long enough to split (at least ``prompt_words`` words, then at least a
    quarter as many more) gives ``{"prompt": the first prompt_words words, "reference":
    the next words, at most reference_words}``; shorter texts are skipped. A model that
    has learned the domain's language should continue the prompt closer to the reference.

    Raises:
        ValueError: ``prompt_words`` or ``reference_words`` is less than 1.
    """
    if prompt_words < 1 or reference_words < 1:
        raise ValueError("prompt_words and reference_words must be at least 1")
    minimum = max(1, prompt_words // 4)
    out = []
    for text in texts:
        words = text.split()
        if len(words) >= prompt_words + minimum:
            out.append(
                {
                    "prompt": " ".join(words[:prompt_words]),
                    "reference": " ".join(words[prompt_words : prompt_words + reference_words]),
                }
            )
    return out


# --------------------------------------------------------------------------- display


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for item in content if isinstance(content, list) else []:
        if not isinstance(item, dict):
            continue
        if "text" in item:
            parts.append(str(item["text"]))
        for kind in ("image", "video", "document"):
            if kind in item:
                uri = (
                    item[kind].get("source", {}).get("s3Location", {}).get("uri", "")
                    if isinstance(item[kind], dict)
                    else ""
                )
                parts.append(f"[{kind}: {uri}]" if uri else f"[{kind}]")
    return "\n".join(parts)


def _flatten(record: Any) -> dict[str, Any]:
    if not isinstance(record, dict):
        return {"value": record}
    if "messages" not in record:
        return dict(record)
    system = record.get("system", "")
    turns: dict[str, list[str]] = {"user": [], "assistant": []}
    for message in record.get("messages") or []:
        if isinstance(message, dict) and message.get("role") in turns:
            turns[message["role"]].append(_content_text(message.get("content")))
    return {
        "system": _content_text(system),
        "user": "\n\n".join(turns["user"]),
        "assistant": "\n\n".join(turns["assistant"]),
    }


def preview(records: Iterable[Any], n: int = 5) -> pd.DataFrame:
    """The first ``n`` records as a table; conversation records become system/user/assistant."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for record in records:
        if len(rows) >= n:
            break
        rows.append(_flatten(record))
    return pd.DataFrame(rows)
