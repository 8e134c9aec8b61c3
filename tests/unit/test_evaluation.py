"""Tests for utils.evaluation: runners, generation, fmeval scoring (in-process and Ray), summaries.

Scoring imports fmeval (Ray, torch: 10-20 s once per session). Offline assets are built
once per session in the same folder tests/unit/test_assets.py uses, so running both files
builds them once.
"""

from __future__ import annotations

import math
import os
import pickle
import socket
from collections.abc import Iterator
from typing import Any

import botocore.session
import matplotlib
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from utils import assets, evaluation
from utils.clients import LOCAL_MARKER_HEADER
from utils.errors import WorkshopError
from utils.evaluation import metrics, ray_engine, scoring

matplotlib.use("Agg")

SESSION_ASSETS = "workshop-assets"  # the folder tests/unit/test_assets.py builds into

PAIRS = [
    ("The cat sat on the mat.", "The cat sat on the mat."),
    ("A big dog ran fast across the field.", "A large dog ran quickly across the field."),
    ("Profits at the firm rose during the quarter.", "The company reported higher profits."),
    ("Yesterday she bought three books.", "She purchased three books yesterday."),
    ("The stock market closed lower on Friday.", "Water boils at 100 degrees Celsius."),
    ("", "An empty answer scores zero."),
    ("Running runners ran; the runs were running.", "The runner runs and ran."),
]
OUTPUTS = [out for out, _ in PAIRS]
REFERENCES = [ref for _, ref in PAIRS]


@pytest.fixture(scope="session")
def offline_scoring(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Session assets, and fmeval's pipeline built with downloads and the network forbidden.

    Yields the download or connection attempts seen while fmeval was imported and its
    transforms were built (there must be none).
    """
    import nltk

    root = tmp_path_factory.getbasetemp() / SESSION_ASSETS
    saved = dict(os.environ)
    attempts: list[str] = []

    def no_nltk_download(*args: object, **kwargs: object) -> bool:
        attempts.append(f"nltk.download{args}")
        raise AssertionError("nltk.download called at evaluation time")

    def no_connect(sock: socket.socket, address: Any) -> None:
        attempts.append(f"connect {address}")
        raise OSError("network is off in this test")

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKSHOP_ASSETS_DIR", str(root))
        mp.setattr(assets, "_try_nltk_download", lambda target, timeout: False)
        assets.build()
        mp.setattr(nltk, "download", no_nltk_download)
        with pytest.MonkeyPatch.context() as offline:
            offline.setattr(socket.socket, "connect", no_connect)
            metrics.pipeline.cache_clear()
            metrics.pipeline(False)
        yield attempts
    os.environ.clear()
    os.environ.update(saved)


def test_import_is_cheap() -> None:
    import subprocess
    import sys

    code = (
        "import sys, utils.evaluation\n"
        "heavy = [m for m in ('fmeval', 'pandas', 'matplotlib', 'nltk', 'evaluate', 'ray') "
        "if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_download_or_connection_when_assets_are_present(offline_scoring: list[str]) -> None:
    assert offline_scoring == []
    assert os.environ["HF_EVALUATE_OFFLINE"] == "1"


def test_scores_equal_fmeval_rouge_score_and_nltk(offline_scoring: list[str]) -> None:
    import nltk
    from fmeval.transforms.summarization_accuracy_metrics import MeteorScore, RougeScore
    from nltk.translate.meteor_score import meteor_score
    from rouge_score import rouge_scorer

    ours = evaluation.score(OUTPUTS, REFERENCES)
    assert list(ours.columns) == ["rouge1", "rouge2", "rougeL", "meteor"]
    assert len(ours) == len(PAIRS)

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    transforms = [
        RougeScore(["ref"], ["out"], [kind], False, rouge_type=kind, use_stemmer=True)
        for kind in ("rouge1", "rouge2", "rougeL")
    ]
    transforms.append(MeteorScore(["ref"], ["out"], ["meteor"], False, load_modules=False))
    for i, (output, reference) in enumerate(PAIRS):
        record: dict[str, Any] = {"ref": reference, "out": output}
        for transform in transforms:
            record = transform(record)
        direct = scorer.score(reference, output)
        for kind in ("rouge1", "rouge2", "rougeL"):
            assert ours.loc[i, kind] == pytest.approx(record[kind], abs=1e-9)
            assert ours.loc[i, kind] == pytest.approx(direct[kind].fmeasure, abs=1e-9)
        nltk_meteor = meteor_score([nltk.word_tokenize(reference)], nltk.word_tokenize(output))
        assert ours.loc[i, "meteor"] == pytest.approx(record["meteor"], abs=1e-9)
        assert ours.loc[i, "meteor"] == pytest.approx(nltk_meteor, abs=1e-9)
    assert ours.loc[0, "rouge1"] == 1.0
    assert ours.loc[5].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_offline_rouge_module_follows_the_hub_arguments(offline_scoring: list[str]) -> None:
    import evaluate
    from rouge_score import rouge_scorer

    rouge = evaluate.load("rouge")
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"])
    listed = rouge.compute(predictions=OUTPUTS, references=REFERENCES, use_aggregator=False)
    for kind in ("rouge1", "rouge2", "rougeL", "rougeLsum"):
        direct = [scorer.score(r, o)[kind].fmeasure for o, r in PAIRS]
        assert listed[kind] == pytest.approx(direct, abs=1e-12)
    multi = rouge.compute(
        predictions=["the cat sat"],
        references=[["a dog ran", "the cat sat down"]],
        rouge_types=["rouge1"],
    )
    best = scorer.score_multi(["a dog ran", "the cat sat down"], "the cat sat")["rouge1"]
    assert multi["rouge1"] == pytest.approx(best.fmeasure, abs=1e-12)
    pooled = rouge.compute(predictions=OUTPUTS, references=REFERENCES, rouge_types=["rouge1"])
    mean = sum(listed["rouge1"]) / len(listed["rouge1"])
    assert pooled["rouge1"] == pytest.approx(mean, abs=0.05)  # bootstrap middle value


def test_bertscore_placeholder_explains_the_hub_is_needed(offline_scoring: list[str]) -> None:
    import evaluate

    bertscore = evaluate.load("bertscore")
    with pytest.raises(RuntimeError, match="Hugging Face Hub"):
        bertscore.compute(predictions=["a"], references=["a"])


def test_missing_outputs_score_nan_and_lengths_must_match(offline_scoring: list[str]) -> None:
    frame = evaluation.score([None, "a cat"], ["a cat", "a cat"])
    assert frame.loc[0].isna().all()
    assert frame.loc[1, "rouge1"] == 1.0
    with pytest.raises(WorkshopError, match="2 outputs but 1 references"):
        evaluation.score(["a", "b"], ["a"])


# --- runners and generation -------------------------------------------------------------


def _bedrock_runtime() -> Any:
    return botocore.session.get_session().create_client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _converse_response(*texts: str, local: bool = False) -> dict[str, Any]:
    headers = {LOCAL_MARKER_HEADER: "1"} if local else {}
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": t} for t in texts]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 7, "outputTokens": 3, "totalTokens": 10},
        "metrics": {"latencyMs": 12},
        "ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": headers},
    }


ARN = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123"


def test_converse_runner_sends_the_request_and_joins_the_text() -> None:
    client = _bedrock_runtime()
    runner = evaluation.ConverseRunner(ARN, system="Be brief.", max_tokens=64, client=client)
    expected = {
        "modelId": ARN,
        "messages": [{"role": "user", "content": [{"text": "Hi?"}]}],
        "system": [{"text": "Be brief."}],
        "inferenceConfig": {"maxTokens": 64, "temperature": 0.0},
    }
    with Stubber(client) as stub:
        stub.add_response("converse", _converse_response("Hello ", "there."), expected)
        stub.add_response("converse", _converse_response("Hi.", local=True), expected)
        assert runner.predict("Hi?") == ("Hello there.", None)
        assert runner.last_was_local is False
        reply = runner.generate_one("Hi?")
        stub.assert_no_pending_responses()
    assert reply.text == "Hi."
    assert reply.from_local_standin is True
    assert (reply.input_tokens, reply.output_tokens, reply.stop_reason) == (7, 3, "end_turn")


def test_converse_runner_omits_system_when_not_given() -> None:
    request = evaluation.ConverseRunner("amazon.nova-micro-v1:0").request("x")
    assert "system" not in request
    assert request["inferenceConfig"] == {"maxTokens": 512, "temperature": 0.0}


def test_converse_runner_pickles_without_its_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    monkeypatch.setenv("AWS_REGION", "us-west-2")  # a stand-in fixture may have set it
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    runner = evaluation.ConverseRunner(ARN, system="s", temperature=0.5, client=_bedrock_runtime())
    copy = pickle.loads(pickle.dumps(runner))
    assert (copy.model_id, copy.system, copy.temperature) == (ARN, "s", 0.5)
    assert copy._client is None
    assert copy.client.meta.service_model.service_name == "bedrock-runtime"
    assert copy.client.meta.region_name == "us-west-2"


def test_converse_runner_registers_as_an_fmeval_model_runner(
    offline_scoring: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SageMaker SDK, imported by fmeval's model runners, resolves credentials on import.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    from fmeval.model_runners.model_runner import ModelRunner

    evaluation.register_with_fmeval()
    assert isinstance(evaluation.ConverseRunner("m"), ModelRunner)


def test_generate_retries_throttling_and_keeps_failures() -> None:
    client = _bedrock_runtime()
    runner = evaluation.ConverseRunner("amazon.nova-micro-v1:0", client=client)
    waits: list[float] = []
    with Stubber(client) as stub:
        # One worker runs the calls in order: record 0 is throttled once then answers,
        # record 1 is refused outright, record 2 stays throttled through every attempt.
        stub.add_client_error("converse", "ThrottlingException", "slow down", 429)
        stub.add_response("converse", _converse_response("zero"))
        stub.add_client_error("converse", "ValidationException", "bad input", 400)
        for _ in range(3):
            stub.add_client_error("converse", "ThrottlingException", "slow down", 429)
        frame = evaluation.generate(
            {"nova": runner},
            ["p0", "p1", "p2"],
            max_workers=1,
            attempts=3,
            base_delay=0.5,
            progress=False,
            sleep=waits.append,
        )
        stub.assert_no_pending_responses()
    assert frame["record"].tolist() == [0, 1, 2]
    assert frame["output"].tolist() == ["zero", None, None]
    assert frame["attempts"].tolist() == [1 + 1, 1, 3]
    assert frame.loc[1, "error"] == "ValidationException: bad input"
    assert frame.loc[2, "error"].startswith("ThrottlingException")
    assert frame.attrs["failures"] == 2
    # Full jitter: each wait is drawn below base_delay * 2 ** (retry number - 1).
    assert len(waits) == 3
    assert 0 <= waits[0] <= 0.5 and 0 <= waits[1] <= 0.5 and 0 <= waits[2] <= 1.0


class EchoRunner:
    """An fmeval-style runner that answers with a fixed transformation of the prompt."""

    def __init__(self, fail_on: str | None = None, upper: bool = False) -> None:
        self.fail_on = fail_on
        self.upper = upper

    def predict(self, prompt: str) -> tuple[str | None, float | None]:
        if prompt == self.fail_on:
            raise ClientError(
                {"Error": {"Code": "ModelErrorException", "Message": "boom"}}, "Converse"
            )
        return (prompt.upper() if self.upper else prompt), None


RECORDS = [{"prompt": ref, "reference": ref} for ref in REFERENCES[:5]]


def test_generate_runs_many_models_in_threads_in_stable_order() -> None:
    prompts = [f"prompt {i}" for i in range(12)]
    frame = evaluation.generate(
        {"a": EchoRunner(), "b": EchoRunner(upper=True)}, prompts, max_workers=8, progress=False
    )
    assert frame["model"].tolist() == ["a"] * 12 + ["b"] * 12
    assert frame["record"].tolist() == list(range(12)) * 2
    assert frame.loc[13, "output"] == "PROMPT 1"
    assert frame["error"].isna().all()
    assert frame.attrs["failures"] == 0


def test_compare_scores_models_and_keeps_failed_records(offline_scoring: list[str]) -> None:
    runners = {"echo": EchoRunner(), "flaky": EchoRunner(fail_on=RECORDS[1]["prompt"])}
    result = evaluation.compare(runners, RECORDS, progress=False, n_boot=500)
    assert result.failures == 1
    assert len(result.per_sample) == 10
    failed = result.per_sample[result.per_sample["error"].notna()]
    assert failed["record"].tolist() == [1]
    assert failed[list(evaluation.METRICS)].isna().all(axis=None)
    echo = result.per_sample[result.per_sample["model"] == "echo"]
    assert (echo["rouge1"] == 1.0).all()
    summary = result.summary.set_index(["model", "metric"])
    assert summary.loc[("flaky", "rouge1"), "n_failed"] == 1
    assert summary.loc[("flaky", "rouge1"), "n_scored"] == 4
    assert summary.loc[("echo", "rougeL"), "mean"] == 1.0
    assert result.table().shape == (2, 4)


def test_compare_rejects_records_without_reference() -> None:
    with pytest.raises(WorkshopError, match="lack a 'prompt' or 'reference'"):
        evaluation.compare({"a": EchoRunner()}, [{"prompt": "x"}], progress=False)


# --- summaries and plots ----------------------------------------------------------------


def _per_sample() -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(42)
    rows = []
    for model, centre in (("base", 0.3), ("tuned", 0.6)):
        for i in range(40):
            scores = {m: float(np.clip(rng.normal(centre, 0.15), 0, 1)) for m in evaluation.METRICS}
            if model == "tuned" and i < 3:
                scores = dict.fromkeys(evaluation.METRICS, math.nan)
            rows.append({"model": model, "record": i, **scores})
    return pd.DataFrame(rows)


def test_bootstrap_interval_contains_mean_and_is_reproducible() -> None:
    per_sample = _per_sample()
    first = evaluation.bootstrap_summary(per_sample, n_boot=1000, seed=7)
    again = evaluation.bootstrap_summary(per_sample, n_boot=1000, seed=7)
    other = evaluation.bootstrap_summary(per_sample, n_boot=1000, seed=8)
    assert first.equals(again)
    assert not first["ci_low"].equals(other["ci_low"])
    assert len(first) == 8
    assert ((first["ci_low"] <= first["mean"]) & (first["mean"] <= first["ci_high"])).all()
    assert (first["ci_high"] - first["ci_low"] < 0.2).all()
    tuned = first[first["model"] == "tuned"]
    assert tuned["n_scored"].tolist() == [37] * 4
    assert tuned["n_failed"].tolist() == [3] * 4
    expected = per_sample.loc[per_sample["model"] == "base", "meteor"].mean()
    base_meteor = first[(first["model"] == "base") & (first["metric"] == "meteor")]
    assert base_meteor["mean"].item() == pytest.approx(expected, abs=1e-12)


def test_bootstrap_does_not_depend_on_other_models() -> None:
    per_sample = _per_sample()
    both = evaluation.bootstrap_summary(per_sample, seed=3)
    alone = evaluation.bootstrap_summary(per_sample[per_sample["model"] == "tuned"], seed=3)
    assert both[both["model"] == "tuned"].reset_index(drop=True).equals(alone)


def _result() -> evaluation.EvaluationResult:
    per_sample = _per_sample()
    summary = evaluation.bootstrap_summary(per_sample, n_boot=200)
    return evaluation.EvaluationResult(
        outputs=per_sample[["model", "record"]],
        per_sample=per_sample,
        summary=summary,
        failures=3,
    )


def test_plot_summary_has_a_bar_per_model_and_metric() -> None:
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    fig = evaluation.plot_summary(_result())
    try:
        assert isinstance(fig, Figure)
        (ax,) = fig.axes
        assert len(ax.patches) == 2 * 4
        assert [t.get_text() for t in ax.get_xticklabels()] == list(evaluation.METRICS)
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["base", "tuned"]
        assert len(ax.containers) == 2 * 2  # per model: the bars and their error bars
    finally:
        plt.close(fig)


def test_plot_distributions_has_a_panel_per_metric() -> None:
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    fig = evaluation.plot_distributions(_result(), title="Per-sample scores")
    try:
        assert isinstance(fig, Figure)
        assert len(fig.axes) == 4
        assert [ax.get_title() for ax in fig.axes] == list(evaluation.METRICS)
        first = fig.axes[0]
        assert [t.get_text() for t in first.get_xticklabels()] == ["base", "tuned"]
        dots = [c for c in first.collections if len(c.get_offsets())]
        assert [len(c.get_offsets()) for c in dots] == [40, 37]
    finally:
        plt.close(fig)


def test_score_outputs_marks_missing_outputs_as_failures(offline_scoring: list[str]) -> None:
    result = evaluation.score_outputs(
        {"ref": REFERENCES[:3], "gaps": [None, REFERENCES[1], "nothing alike"]},
        REFERENCES[:3],
        n_boot=200,
    )
    assert result.failures == 1
    assert result.models == ["ref", "gaps"]
    table = result.table()
    assert table.loc["ref", ["rouge1", "rouge2", "rougeL"]].tolist() == [1.0, 1.0, 1.0]
    assert table.loc["ref", "meteor"] > 0.99
    assert table.loc["gaps", "rouge1"] < 1.0
    with pytest.raises(WorkshopError, match="has 1 outputs for 3 references"):
        evaluation.score_outputs({"short": ["x"]}, REFERENCES[:3])


@pytest.mark.slow
def test_bertscore_without_the_hub_is_a_clear_error(offline_scoring: list[str]) -> None:
    try:
        with pytest.raises(WorkshopError, match="BERTScore needs the Hugging Face Hub"):
            evaluation.score(["a cat"], ["a cat"], bertscore=True)
    finally:
        # Back to offline for the tests that follow.
        metrics.pipeline.cache_clear()
        assets.activate()


# --- scoring engines ----------------------------------------------------------------------


@pytest.fixture
def engine_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, str | None]]:
    """Both engines replaced by recorders: (engine, pairs scored, ray address) per call."""
    calls: list[tuple[str, int, str | None]] = []

    def fake(name: str) -> Any:
        def run(pipeline: Any, pairs: Any, columns: Any, address: str | None = None) -> Any:
            calls.append((name, len(pairs), address))
            return [dict.fromkeys(columns, 0.5) for _ in pairs]

        return run

    def local(pairs: Any, columns: Any, bertscore: bool) -> Any:
        return fake("local")(None, pairs, columns)

    monkeypatch.setattr(metrics, "pipeline", lambda bertscore: None)
    monkeypatch.setattr(scoring, "score_here_or_in_scorer", local)
    monkeypatch.setattr(ray_engine, "score_on_ray", fake("ray"))
    return calls


def test_auto_engine_uses_ray_only_above_the_threshold(
    engine_calls: list[tuple[str, int, str | None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scoring, "RAY_THRESHOLD", 3)
    evaluation.score(["a"] * 3, ["a"] * 3)
    evaluation.score(["a"] * 4, ["a"] * 4)
    frame = evaluation.score(["a", None, "a", None, "a"], ["a"] * 5)  # only 3 to score
    evaluation.score(["a"], ["a"], engine="ray")
    evaluation.score(["a"] * 5, ["a"] * 5, engine="local")
    assert [(engine, n) for engine, n, _ in engine_calls] == [
        ("local", 3),
        ("ray", 4),
        ("local", 3),
        ("ray", 1),
        ("local", 5),
    ]
    assert frame["rouge1"].isna().tolist() == [False, True, False, True, False]


def test_default_threshold_keeps_workshop_sizes_in_process() -> None:
    # Measured on 2 cores (benchmarks/eval_speed.py), Ray never beat the in-process path.
    assert scoring.RAY_THRESHOLD == evaluation.RAY_THRESHOLD >= 20_000
    assert scoring.choose_engine("auto", 20_000, None) == "local"
    assert scoring.choose_engine("auto", 20_001, None) == "ray"


def test_unknown_engine_and_contradictory_options_are_refused(
    engine_calls: list[tuple[str, int, str | None]],
) -> None:
    with pytest.raises(WorkshopError, match="Unknown scoring engine 'spark'") as err:
        evaluation.score(["a"], ["a"], engine="spark")
    assert "'auto', 'local', 'ray'" in str(err.value)
    with pytest.raises(WorkshopError, match="ray_address='ray://head:10001' would be ignored"):
        evaluation.score(["a"], ["a"], engine="local", ray_address="ray://head:10001")
    with pytest.raises(WorkshopError, match="Unknown scoring engine"):
        evaluation.compare({"a": EchoRunner()}, RECORDS, progress=False, engine="Ray")
    assert engine_calls == []


def test_engine_and_address_reach_scoring_from_compare_and_score_outputs(
    engine_calls: list[tuple[str, int, str | None]],
) -> None:
    address = "ray://head:10001"
    result = evaluation.score_outputs(
        {"m": ["x", None, "z"]}, ["x", "y", "z"], n_boot=50, engine="ray", ray_address=address
    )
    evaluation.compare(
        {"a": EchoRunner(), "b": EchoRunner()},
        RECORDS,
        progress=False,
        n_boot=50,
        engine="ray",
        ray_address=address,
    )
    assert engine_calls == [("ray", 2, address), ("ray", 10, address)]
    assert result.per_sample["meteor"].tolist()[::2] == [0.5, 0.5]


@pytest.fixture
def fake_ray(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """``ray.init`` and ``ray.shutdown`` replaced by recorders; Ray starts uninitialised."""
    import ray

    calls: list[tuple[str, dict[str, Any]]] = []
    state = {"up": False}

    def init(**kwargs: Any) -> None:
        calls.append(("init", kwargs))
        state["up"] = True

    def shutdown() -> None:
        calls.append(("shutdown", {}))
        state["up"] = False

    monkeypatch.setattr(ray, "is_initialized", lambda: state["up"])
    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray, "shutdown", shutdown)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    return calls


def test_ray_session_connects_to_the_given_cluster(
    fake_ray: list[tuple[str, dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NLTK_DATA", "/assets/nltk_data")
    monkeypatch.setenv("HF_MODULES_CACHE", "/assets/hf_modules")
    with ray_engine.ray_session("ray://head:10001"):
        fake_ray.append(("inside", {}))
    (_, kwargs), inside, shutdown = fake_ray
    assert kwargs["address"] == "ray://head:10001"
    assert "num_cpus" not in kwargs  # Ray refuses resource options for an existing cluster
    env = kwargs["runtime_env"]["env_vars"]
    assert env["NLTK_DATA"] == "/assets/nltk_data"
    assert env["HF_MODULES_CACHE"] == "/assets/hf_modules"
    assert kwargs["log_to_driver"] is False
    assert (inside[0], shutdown[0]) == ("inside", "shutdown")


def test_ray_session_starts_a_small_local_instance_and_stops_it(
    fake_ray: list[tuple[str, dict[str, Any]]],
) -> None:
    with pytest.raises(RuntimeError, match="scoring failed"), ray_engine.ray_session(None):
        raise RuntimeError("scoring failed")
    (_, kwargs), (name, _) = fake_ray
    assert "address" not in kwargs
    assert kwargs["num_cpus"] == evaluation.RAY_LOCAL_CPUS == 2
    assert kwargs["include_dashboard"] is False
    assert kwargs["log_to_driver"] is False
    assert name == "shutdown"  # stopped even when scoring fails


def test_ray_session_reads_ray_address_and_leaves_existing_connections(
    fake_ray: list[tuple[str, dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.5:6379")
    with ray_engine.ray_session(None):
        pass
    assert fake_ray[0][1]["address"] == "10.0.0.5:6379"
    fake_ray.clear()
    import ray

    monkeypatch.setattr(ray, "is_initialized", lambda: True)
    with ray_engine.ray_session("ray://elsewhere:10001"):
        pass
    assert fake_ray == []  # neither connects again nor shuts down a session it did not open


@pytest.mark.slow
def test_ray_engine_gives_the_in_process_scores(offline_scoring: list[str]) -> None:
    # Real Ray, fmeval's transforms in one actor pool: about 15 s on 2 cores, so a handful.
    # A repeated pair and a missing output check how results are matched back to inputs.
    outputs = [*OUTPUTS[:6], None, OUTPUTS[1]]
    references = [*REFERENCES[:6], "no output here", REFERENCES[1]]
    local = evaluation.score(outputs, references, engine="local")
    on_ray = evaluation.score(outputs, references, engine="ray")
    import ray

    assert not ray.is_initialized()  # the instance it started is gone
    assert list(on_ray.columns) == list(local.columns)
    assert on_ray.loc[6].isna().all()
    for metric in evaluation.METRICS:
        for i in (0, 1, 2, 3, 4, 5, 7):
            assert on_ray.loc[i, metric] == pytest.approx(local.loc[i, metric], abs=1e-9)


def test_record_scores_files_each_models_means_in_the_run_summary(
    offline_scoring: list[str], tmp_path: Any
) -> None:
    from utils.state import State

    result = evaluation.score_outputs(
        {"copy": REFERENCES, "other": OUTPUTS}, REFERENCES, n_boot=200
    )
    state = State(tmp_path / "state.json")
    summary = evaluation.record_scores(result, state)
    recorded = state.results("interactive")["scores"]
    assert recorded["copy"]["rouge1"] == 1.0  # a model that answers with the references
    assert recorded["other"]["rougeL"] == round(float(result.table().loc["other", "rougeL"]), 4)
    assert recorded["other"]["rougeL"] < 1.0
    assert set(summary["model"]) == {"copy", "other"}
