"""The stand-in runs REINFORCEMENT_FINE_TUNING jobs, graded by the job's own Lambda function."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import textwrap
import threading
import time
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError

from standin import StandIn, rft
from tests.helpers import ACCOUNT_ID, REGION, checked, make_bucket, make_role, put_jsonl
from utils import clients, lambdas, rft_data

BEDROCK = botocore.session.get_session().get_service_model("bedrock")
BASE = "amazon.nova-2-lite-v1:0:256k"
REWARD_FILE = Path(__file__).parents[2] / "fine-tuning" / "rewards" / "arithmetic_reward.py"

SUM_GRADER = """
import re

def lambda_handler(event, context):
    out = []
    for sample in event:
        user = [m["content"] for m in sample["messages"] if m["role"] == "user"][-1]
        nums = [int(n) for n in re.findall(r"-?\\d+", user)]
        found = re.findall(r"-?\\d+", sample["messages"][-1]["content"])
        right = len(nums) >= 2 and bool(found) and int(found[-1]) == nums[0] + nums[1]
        out.append({"id": sample["id"], "aggregate_reward_score": 1.0 if right else 0.0})
    return out
"""

CONSTANT_GRADER = """
def lambda_handler(event, context):
    return [{"id": s["id"], "aggregate_reward_score": 0.5} for s in event]
"""

RAISING_GRADER = """
def lambda_handler(event, context):
    raise KeyError("reference_answer")
"""

WRONG_ID_GRADER = """
def lambda_handler(event, context):
    return [{"id": "not-" + s["id"], "aggregate_reward_score": 1.0} for s in event]
"""


def _reward_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("arithmetic_reward", REWARD_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REWARD = _reward_module()


def _zip(name: str, source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, source)
    return buffer.getvalue()


def _grader(name: str, source: str | None = None) -> str:
    """A Python Lambda grader (the project's own when ``source`` is None); returns its ARN."""
    iam = clients.client("iam")
    try:
        role = iam.get_role(RoleName="grader-role")["Role"]["Arn"]
    except ClientError:
        role = iam.create_role(
            RoleName="grader-role", AssumeRolePolicyDocument=json.dumps(lambdas.trust_policy())
        )["Role"]["Arn"]
    text = REWARD_FILE.read_text() if source is None else textwrap.dedent(source)
    api = clients.client("lambda")
    made = api.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="grader.lambda_handler",
        Code={"ZipFile": _zip("grader.py", text)},
        Timeout=30,
    )
    api.get_waiter("function_active_v2").wait(FunctionName=name)
    return str(made["FunctionArn"])


def _bedrock_role(invoke: bool = True) -> str:
    """A service role Bedrock may assume; with ``invoke``, allowed to call any grader."""
    arn = make_role()
    if invoke:
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "lambda:InvokeFunction",
                    "Resource": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:*",
                }
            ],
        }
        clients.client("iam").put_role_policy(
            RoleName=arn.rsplit("/", 1)[-1], PolicyName="grader", PolicyDocument=json.dumps(policy)
        )
    return arn


class Lab:
    """Data in S3 and a role, for the jobs of one test."""

    def __init__(self, train: int = 120, invoke: bool = True) -> None:
        self.bucket = make_bucket()
        self.splits = rft_data.make_splits(train, 30, 40, seed=0)
        self.train = put_jsonl(self.bucket, "rft/train.jsonl", self.splits["train"])
        self.validation = put_jsonl(self.bucket, "rft/val.jsonl", self.splits["validation"])
        self.role = _bedrock_role(invoke)

    def request(self, name: str, grader: str, **hyper: Any) -> dict[str, Any]:
        return {
            "jobName": name,
            "customModelName": f"{name}-model",
            "roleArn": self.role,
            "baseModelIdentifier": BASE,
            "customizationType": "REINFORCEMENT_FINE_TUNING",
            "trainingDataConfig": {"s3Uri": self.train},
            "validationDataConfig": {"validators": [{"s3Uri": self.validation}]},
            "outputDataConfig": {"s3Uri": f"s3://{self.bucket}/out/"},
            "customizationConfig": {
                "rftConfig": {
                    "graderConfig": {"lambdaGrader": {"lambdaArn": grader}},
                    "hyperParameters": {
                        "epochCount": 3,
                        "batchSize": 16,
                        "learningRate": 1e-5,
                        "trainingSamplePerPrompt": 4,
                        "evalInterval": 1,
                        "inferenceMaxTokens": 64,
                        "reasoningEffort": "medium",
                        **hyper,
                    },
                }
            },
        }

    def run(self, name: str, grader: str, **hyper: Any) -> dict[str, Any]:
        """Create the job and wait for its end; the job's description."""
        bedrock = clients.client("bedrock")
        arn = bedrock.create_model_customization_job(**self.request(name, grader, **hyper))[
            "jobArn"
        ]
        deadline = time.monotonic() + 30
        while (job := bedrock.get_model_customization_job(jobIdentifier=arn))["status"] not in {
            "Completed",
            "Failed",
        }:
            assert time.monotonic() < deadline, job["status"]
            time.sleep(0.05)
        checked(BEDROCK, "GetModelCustomizationJob", job)
        return dict(job)

    def metrics(self, job: dict[str, Any], name: str) -> list[dict[str, float]]:
        """The rows of one of the job's metrics files, as numbers."""
        job_id = job["jobArn"].rsplit("/", 1)[-1]
        key = f"out/model-customization-job-{job_id}/{name}"
        body = clients.client("s3").get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return [
            {k: float(v) for k, v in row.items()}
            for row in csv.DictReader(io.StringIO(body.decode()))
        ]

    def prompts(self) -> list[str]:
        return [rft.prompt_text(r["messages"]) for r in self.splits["test"]]


def _answers(job: dict[str, Any], prompts: list[str], max_tokens: int = 200) -> list[str]:
    """The custom model's answers through an on-demand deployment and ``converse``."""
    assert job["status"] == "Completed", job.get("failureMessage")
    bedrock = clients.client("bedrock")
    dep = bedrock.create_custom_model_deployment(
        modelDeploymentName=f"{job['jobName']}-dep", modelArn=job["outputModelArn"]
    )["customModelDeploymentArn"]
    deadline = time.monotonic() + 20
    while (
        bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=dep)["status"]
        != "Active"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    runtime = clients.client("bedrock-runtime")
    out = []
    for prompt in prompts:
        resp = runtime.converse(
            modelId=dep,
            messages=[{"role": "user", "content": [{"text": prompt}]}],
            inferenceConfig={"maxTokens": max_tokens},
        )
        out.append(resp["output"]["message"]["content"][0]["text"])
    return out


def _accuracy(answers: list[str], records: list[dict[str, Any]]) -> float:
    right = sum(
        REWARD.final_number(a) == r["reference_answer"]["answer"]
        for a, r in zip(answers, records, strict=True)
    )
    return right / len(records)


def _base_answers(prompts: list[str], **hyper: Any) -> list[str]:
    """What the untrained policy (all weights 0) answers."""
    base = rft.base_artifact("amazon.nova-2-lite-v1:0", {"inferenceMaxTokens": 64, **hyper})
    return [rft.generate(base, p, 200) for p in prompts]


def test_a_job_learns_from_the_real_grader(aws: StandIn) -> None:
    lab = Lab()
    job = lab.run("rft-learns", _grader("arithmetic", None))
    assert job["status"] == "Completed", job.get("failureMessage")
    steps = lab.metrics(job, "training_artifacts/step_wise_training_metrics.csv")
    validation = lab.metrics(job, "validation_artifacts/validation_metrics.csv")
    assert len(steps) == 23 and set(steps[0]) == {
        "step_number", "epoch_number", "train_reward_mean", "train_reward_std"
    }  # fmt: skip
    assert steps[-1]["epoch_number"] == 3
    assert validation[-1]["validation_reward_mean"] > validation[0]["validation_reward_mean"]
    assert steps[-1]["train_reward_mean"] > steps[0]["train_reward_mean"]
    test = lab.splits["test"]
    trained = _accuracy(_answers(job, lab.prompts()), test)
    base = _accuracy(_base_answers(lab.prompts()), test)
    print(
        f"validation {validation[0]} -> {validation[-1]}; held-out base {base}, trained {trained}"
    )
    assert trained > base + 0.5


def test_two_graders_teach_two_models(aws: StandIn) -> None:
    lab = Lab()
    real = lab.run("rft-real", _grader("arithmetic", None))
    summing = lab.run("rft-sum", _grader("summing", SUM_GRADER))
    prompts = lab.prompts()
    by_real, by_sum = _answers(real, prompts), _answers(summing, prompts)
    assert sum(a != b for a, b in zip(by_real, by_sum, strict=True)) > len(prompts) // 2
    # Only two-number prompts have an a+b program; there the summing model writes a+b.
    sums = [rft.numbers(p)[0] + rft.numbers(p)[1] for p in prompts]

    def hits(answers: list[str]) -> int:
        return sum(REWARD.final_number(a) == s for a, s in zip(answers, sums, strict=True))

    assert hits(by_sum) > hits(by_real) + 5


def test_equal_rewards_teach_nothing(aws: StandIn) -> None:
    lab = Lab()
    job = lab.run("rft-flat", _grader("constant", CONSTANT_GRADER))
    prompts = lab.prompts()
    assert _answers(job, prompts) == _base_answers(prompts)


def test_too_few_inference_tokens_cut_the_answer_off(aws: StandIn) -> None:
    lab = Lab()
    job = lab.run("rft-short", _grader("arithmetic", None), inferenceMaxTokens=3)
    assert job["status"] == "Completed", job.get("failureMessage")
    steps = lab.metrics(job, "training_artifacts/step_wise_training_metrics.csv")
    validation = lab.metrics(job, "validation_artifacts/validation_metrics.csv")
    assert max(s["train_reward_mean"] for s in steps) < 0.1
    assert max(v["validation_reward_mean"] for v in validation) < 0.1


def test_a_learning_rate_too_large_collapses(aws: StandIn) -> None:
    # Seeds come from the job names; rft.ETA_PER_LEARNING_RATE says why 1e-3 collapses and
    # how often (8 of 10 seeds lower, never higher).
    lab = Lab()
    grader = _grader("arithmetic", None)
    gentle = lab.run("rft-lr-gentle", grader, learningRate=1e-5)
    harsh = lab.run("rft-lr-harsh", grader, learningRate=1e-3)
    name = "validation_artifacts/validation_metrics.csv"
    gentle_rows, harsh_rows = lab.metrics(gentle, name), lab.metrics(harsh, name)
    print(
        "1e-5", gentle_rows[0]["validation_reward_mean"], gentle_rows[-1]["validation_reward_mean"],
        "1e-3", harsh_rows[0]["validation_reward_mean"], harsh_rows[-1]["validation_reward_mean"],
    )  # fmt: skip
    assert harsh_rows[-1]["validation_reward_mean"] < gentle_rows[-1]["validation_reward_mean"]


def test_jobs_fail_the_way_bedrock_names(aws: StandIn) -> None:
    lab = Lab()
    grader = _grader("arithmetic", None)
    no_invoke = Lab.__new__(Lab)
    no_invoke.__dict__.update(lab.__dict__)
    no_invoke.role = make_role("no-invoke-role")  # trusted by Bedrock, may call nothing
    job = no_invoke.run("rft-no-invoke", grader)
    assert job["status"] == "Failed"
    assert f"is not allowed lambda:InvokeFunction on {grader}" in job["failureMessage"]

    job = lab.run("rft-raising", _grader("raising", RAISING_GRADER))
    assert job["status"] == "Failed"
    assert "KeyError" in job["failureMessage"] and "reference_answer" in job["failureMessage"]

    job = lab.run("rft-wrong-id", _grader("wrong-id", WRONG_ID_GRADER))
    assert job["status"] == "Failed"
    assert (
        "sample step-1-prompt-0-sample-0 has id 'not-step-1-prompt-0-sample-0'"
        in (job["failureMessage"])
    )

    few = put_jsonl(lab.bucket, "rft/few.jsonl", lab.splits["train"][:99])
    short = Lab.__new__(Lab)
    short.__dict__.update(lab.__dict__)
    short.train = few
    job = short.run("rft-few", grader)
    assert job["status"] == "Failed"
    assert job["failureMessage"] == (
        f"The training data at {few} failed validation: train data has 99 records; at least "
        "100 are needed"
    )

    records = [dict(r) for r in lab.splits["train"]]
    del records[6]["reference_answer"]
    records[9] = {
        **records[9],
        "messages": [m for m in records[9]["messages"] if m["role"] != "user"],
    }
    broken = put_jsonl(lab.bucket, "rft/broken.jsonl", records)
    short.train = broken
    job = short.run("rft-broken", grader)
    assert job["status"] == "Failed"
    assert job["failureMessage"] == (
        f"The training data at {broken} failed validation: 2 of 120 records invalid: line 7: "
        "the record has no 'reference_answer'; add what the grader scores the answer against, "
        "such as {\"answer\": 42}; line 10: no message has role 'user'; a prompt needs a user "
        "turn for the model to answer"
    )

    bedrock = clients.client("bedrock")
    request = lab.request("rft-top-level", grader)
    request["hyperParameters"] = {"epochCount": "2"}
    with pytest.raises(ClientError) as caught:
        bedrock.create_model_customization_job(**request)
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert "customizationConfig.rftConfig.hyperParameters" in error["Message"]


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        ({"id": "s-1"}, "1 samples"),
        ([], "answered 0 entries for 1 samples"),
        ([{"id": "s-1", "error": "no reference"}], "could not score sample s-1: no reference"),
        ([{"id": "s-1"}], "gave sample s-1 no number aggregate_reward_score"),
        ([{"id": "s-1", "aggregate_reward_score": True}], "no number"),
        ([{"id": "s-1", "aggregate_reward_score": float("nan")}], "the score nan"),
    ],
)
def test_a_grader_answer_that_cannot_be_used_is_named(answer: Any, named: str) -> None:
    with pytest.raises(rft.GraderError, match=named):
        rft.check_response([{"id": "s-1"}], answer)


def test_without_a_lambda_runner_an_rft_job_fails_saying_so() -> None:
    from standin.bedrock import DataError, LocalBedrock

    bedrock = LocalBedrock(job_seconds=0)
    job: Any = type("J", (), {})()
    lab = Lab.__new__(Lab)  # no S3: the runner is missing before any data is read
    lab.role, lab.bucket = "arn:aws:iam::1:role/r", "b"
    lab.train, lab.validation = "s3://b/train.jsonl", "s3://b/val.jsonl"
    job.request = lab.request("x", "arn:aws:lambda:us-east-1:1:function:g")
    with pytest.raises(DataError, match="no Lambda runner"):
        bedrock._finish_rft(job, "us-east-1")


def test_a_judge_grader_that_calls_bedrock_back_trains_a_job(aws: StandIn) -> None:
    # The judge's Converse calls reach this stand-in while the job trains: were the job
    # trained under the stand-in's lock, they would wait for it until the grader timed out.
    judge_file = REWARD_FILE.with_name("judge_reward.py")
    iam = clients.client("iam")
    role = iam.create_role(
        RoleName="judge-role", AssumeRolePolicyDocument=json.dumps(lambdas.trust_policy())
    )["Role"]["Arn"]
    api = clients.client("lambda")
    judge = api.create_function(
        FunctionName="judge",
        Runtime="python3.12",
        Role=role,
        Handler="judge_reward.lambda_handler",
        Code={"ZipFile": _zip("judge_reward.py", judge_file.read_text())},
        Timeout=60,
        Environment={"Variables": {"JUDGE_MODEL_ID": "amazon.nova-pro-v1:0"}},
    )["FunctionArn"]
    api.get_waiter("function_active_v2").wait(FunctionName="judge")
    lab = Lab(train=100)
    job = lab.run("rft-judged", judge, epochCount=1, trainingSamplePerPrompt=2, evalInterval=3)
    assert job["status"] == "Completed", job.get("failureMessage")
    steps = lab.metrics(job, "training_artifacts/step_wise_training_metrics.csv")
    assert len(steps) == 7  # 100 prompts in batches of 16
    assert steps[-1]["train_reward_mean"] > steps[0]["train_reward_mean"]


def test_a_job_stopped_while_it_trains_stays_stopped(aws: StandIn, tmp_path: Path) -> None:
    proof = tmp_path / "graded"
    slow = f"""
    import pathlib, time

    def lambda_handler(event, context):
        pathlib.Path({str(proof)!r}).touch()
        time.sleep(0.1)
        return [{{"id": s["id"], "aggregate_reward_score": 1.0}} for s in event]
    """
    lab = Lab()
    bedrock = clients.client("bedrock")
    request = lab.request("rft-stop", _grader("slow", slow))
    arn = bedrock.create_model_customization_job(**request)["jobArn"]
    deadline = time.monotonic() + 30
    while not proof.exists():  # polling advances the job; the grader's first call is proof
        assert time.monotonic() < deadline, "the job never called its grader"
        bedrock.get_model_customization_job(jobIdentifier=arn)
        time.sleep(0.05)
    bedrock.stop_model_customization_job(jobIdentifier=arn)
    while (job := bedrock.get_model_customization_job(jobIdentifier=arn))["status"] != "Stopped":
        assert time.monotonic() < deadline, job["status"]
        time.sleep(0.05)
    training = [t for t in threading.enumerate() if t.name.endswith(arn.rsplit("/", 1)[-1])]
    assert len(training) == 1
    training[0].join(timeout=30)  # it trains on, then must leave the stopped job alone
    assert not training[0].is_alive()
    job = bedrock.get_model_customization_job(jobIdentifier=arn)
    assert job["status"] == "Stopped" and "outputModelArn" not in job
    assert bedrock.list_custom_models()["modelSummaries"] == []
