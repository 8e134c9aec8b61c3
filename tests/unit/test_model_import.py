"""The Custom Model Import folder check, on tiny models saved by transformers in the test."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
)

from tests.helpers import TINY_LLAMA, save_tokenizer
from utils import model_import
from utils.errors import WorkshopError


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """One tiny Llama saved four ways (fp32, bf16, sharded, pickle-only) and a GPT-2."""
    root = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**TINY_LLAMA))
    good = root / "good"
    model.save_pretrained(good, safe_serialization=True)
    save_tokenizer(good)
    bf16 = root / "bf16"
    model.to(torch.bfloat16).save_pretrained(bf16, safe_serialization=True)
    save_tokenizer(bf16)
    model.to(torch.float32)
    sharded = root / "sharded"
    model.save_pretrained(sharded, safe_serialization=True, max_shard_size="20KB")
    save_tokenizer(sharded)
    pickled = root / "pickled"
    model.save_pretrained(pickled, safe_serialization=False)
    save_tokenizer(pickled)
    gpt2 = root / "gpt2"
    GPT2LMHeadModel(GPT2Config(n_embd=32, n_layer=1, n_head=2, vocab_size=128)).save_pretrained(
        gpt2, safe_serialization=True
    )
    save_tokenizer(gpt2)
    yield {
        "good": good,
        "bf16": bf16,
        "sharded": sharded,
        "pickled": pickled,
        "gpt2": gpt2,
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def copy_of(folder: object, tmp_path: Path) -> Path:
    """A private copy of a built folder, for a test that breaks it."""
    assert isinstance(folder, Path)
    return Path(shutil.copytree(folder, tmp_path / folder.name))


def test_a_good_folder_passes_with_its_architecture_dtype_and_parameter_count(
    built: dict[str, object],
) -> None:
    report = model_import.check_folder(built["good"])  # type: ignore[arg-type]
    assert report.problems == []
    assert report.ok
    assert report.architecture == "LlamaForCausalLM"
    assert report.model_type == "llama"
    assert report.dtype == "float32"
    assert report.config_dtype == "float32"
    assert report.parameters == built["parameters"]
    assert report.weight_files == ["model.safetensors"]
    # fp32: four bytes a parameter, plus the header
    assert 4 * report.parameters < report.weight_bytes < 4 * report.parameters + 20_000
    assert report.total_bytes > report.weight_bytes
    assert report.converse is True
    assert report.raise_for_problems() is report
    frame = report.to_frame()
    assert dict(zip(frame["item"], frame["value"], strict=True))["architecture"] == (
        "LlamaForCausalLM"
    )
    assert "LlamaForCausalLM" in report._repr_html_()
    assert report.problems_frame().empty
    assert "READY" in report.summary()


def test_a_bf16_save_reports_bf16_and_half_the_bytes(built: dict[str, object]) -> None:
    fp32 = model_import.check_folder(built["good"])  # type: ignore[arg-type]
    report = model_import.check_folder(built["bf16"])  # type: ignore[arg-type]
    assert report.ok, report.problems
    assert (report.dtype, report.config_dtype) == ("bfloat16", "bfloat16")
    assert report.parameters == built["parameters"]
    assert report.weight_bytes < fp32.weight_bytes * 0.55


def test_a_sharded_save_passes_and_counts_every_shard(built: dict[str, object]) -> None:
    report = model_import.check_folder(built["sharded"])  # type: ignore[arg-type]
    assert report.ok, report.problems
    assert len(report.weight_files) > 1
    assert all(name.startswith("model-000") for name in report.weight_files)
    assert report.parameters == built["parameters"]


def test_a_missing_shard_is_named(built: dict[str, object], tmp_path: Path) -> None:
    folder = copy_of(built["sharded"], tmp_path)
    gone = sorted(folder.glob("model-000*.safetensors"))[-1]
    gone.unlink()
    report = model_import.check_folder(folder)
    assert [p.rule for p in report.problems] == ["weights.shard_missing"]
    assert gone.name in report.problems[0].problem


def test_an_unsupported_architecture_is_refused_by_name(built: dict[str, object]) -> None:
    report = model_import.check_folder(built["gpt2"])  # type: ignore[arg-type]
    assert [p.rule for p in report.problems] == ["config.architecture"]
    assert "GPT2LMHeadModel" in report.problems[0].problem
    assert "LlamaForCausalLM" in report.problems[0].fix
    assert report.converse is None
    with pytest.raises(WorkshopError, match="GPT2LMHeadModel"):
        report.raise_for_problems()


def test_pickle_only_weights_are_refused_with_the_safetensors_fix(
    built: dict[str, object],
) -> None:
    report = model_import.check_folder(built["pickled"])  # type: ignore[arg-type]
    assert [p.rule for p in report.problems] == ["weights.pickle"]
    assert "pytorch_model.bin" in report.problems[0].problem
    assert "safe_serialization=True" in report.problems[0].fix
    assert report.parameters == 0


def test_an_adapter_only_folder_is_refused_with_the_merge_fix(tmp_path: Path) -> None:
    folder = tmp_path / "adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(
        json.dumps({"peft_type": "LORA", "r": 8, "target_modules": ["q_proj", "v_proj"]})
    )
    save_file({"base_model.model.q_proj.lora_A.weight": torch.zeros(8, 32)},
              str(folder / "adapter_model.safetensors"))  # fmt: skip
    save_tokenizer(folder)
    report = model_import.check_folder(folder)
    rules = [p.rule for p in report.problems]
    assert rules == ["config.missing", "adapter"]
    adapter = report.problems[1]
    assert "adapter_config.json" in adapter.problem and "only a LoRA adapter" in adapter.problem
    assert "merge_and_unload()" in adapter.fix and "save_pretrained" in adapter.fix


def test_an_adapter_beside_a_whole_model_is_refused_too(
    built: dict[str, object], tmp_path: Path
) -> None:
    folder = copy_of(built["good"], tmp_path)
    (folder / "adapter_config.json").write_text("{}")
    report = model_import.check_folder(folder)
    assert [p.rule for p in report.problems] == ["adapter"]
    assert "beside the model" in report.problems[0].problem
    assert report.parameters == built["parameters"]  # the adapter is not counted


def test_a_missing_tokenizer_is_refused(built: dict[str, object], tmp_path: Path) -> None:
    folder = copy_of(built["good"], tmp_path)
    (folder / "tokenizer.json").unlink()
    report = model_import.check_folder(folder)
    assert [p.rule for p in report.problems] == ["tokenizer.missing"]
    assert "tokenizer.json" in report.problems[0].problem
    (folder / "tokenizer_config.json").unlink()
    report = model_import.check_folder(folder)
    assert "tokenizer_config.json" in report.problems[0].problem
    assert "tokenizer.save_pretrained" in report.problems[0].fix


def test_an_int8_tensor_is_refused_naming_its_file_and_tensor(
    built: dict[str, object], tmp_path: Path
) -> None:
    folder = copy_of(built["good"], tmp_path)
    save_file({"model.layers.0.mlp.up_proj.qweight": torch.zeros(4, 8, dtype=torch.int8)},
              str(folder / "model.safetensors"))  # fmt: skip
    report = model_import.check_folder(folder)
    dtype = [p for p in report.problems if p.rule == "weights.dtype"]
    assert len(dtype) == 1
    assert "I8" in dtype[0].problem
    assert "model.safetensors:model.layers.0.mlp.up_proj.qweight" in dtype[0].problem
    assert report.parameters == 32
    assert report.dtype == "I8"


def test_a_config_dtype_that_disagrees_with_the_weights_is_refused(
    built: dict[str, object], tmp_path: Path
) -> None:
    folder = copy_of(built["bf16"], tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config.pop("torch_dtype", None)
    config["dtype"] = "float16"
    (folder / "config.json").write_text(json.dumps(config))
    report = model_import.check_folder(folder)
    assert [p.rule for p in report.problems] == ["config.dtype"]
    assert "float16" in report.problems[0].problem and "bfloat16" in report.problems[0].problem


def test_a_header_is_read_without_loading_tensors(tmp_path: Path) -> None:
    path = tmp_path / "x.safetensors"
    save_file({"a": torch.zeros(3, 5, dtype=torch.float16), "b": torch.zeros(7)}, str(path))
    tensors = {t.name: t for t in model_import.read_safetensors_header(path)}
    assert (tensors["a"].dtype, tensors["a"].shape, tensors["a"].numel) == ("F16", (3, 5), 15)
    assert (tensors["b"].dtype, tensors["b"].shape) == ("F32", (7,))
    path.write_bytes((10**9).to_bytes(8, "little") + b"{}")
    with pytest.raises(ValueError, match="header"):
        model_import.read_safetensors_header(path)


def test_a_broken_or_absent_config_and_a_missing_folder_are_named(
    built: dict[str, object], tmp_path: Path
) -> None:
    folder = copy_of(built["good"], tmp_path)
    (folder / "config.json").write_text("{not json")
    assert [p.rule for p in model_import.check_folder(folder).problems] == ["config.json"]
    report = model_import.check_folder(tmp_path / "nowhere")
    assert [p.rule for p in report.problems] == ["folder.missing"]


def test_converse_support_follows_the_docs() -> None:
    archs = model_import.ARCHITECTURES
    assert archs["LlamaForCausalLM"].converse is True
    assert archs["GptOssForCausalLM"].converse is False
    assert archs["Qwen2_5_VLForConditionalGeneration"].converse is False
    assert archs["Qwen2ForCausalLM"].converse is None  # Qwen2 and Qwen2.5 share the class
    assert set(model_import.DTYPES.values()) == {"float32", "float16", "bfloat16"}
