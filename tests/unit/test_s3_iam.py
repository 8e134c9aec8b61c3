"""The workshop bucket and the Bedrock service role, against the stand-in."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from botocore.stub import Stubber

from standin import StandIn
from utils import clients, iam, s3
from utils.errors import WorkshopError
from utils.state import State

ACCOUNT = "123456789012"


def test_bucket_is_created_once_and_locked_down(aws: StandIn, state: State) -> None:
    name = s3.bucket_name(ACCOUNT, "us-east-1", state.workshop_id)
    assert s3.ensure_bucket(name, "us-east-1", state) == name
    assert s3.ensure_bucket(name, "us-east-1", state) == name  # re-run: nothing new
    api = clients.client("s3")
    assert [b["Name"] for b in api.list_buckets()["Buckets"]] == [name]
    block = api.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    rules = api.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    tags = api.get_bucket_tagging(Bucket=name)["TagSet"]
    assert {"Key": "workshop-id", "Value": state.workshop_id} in tags
    assert state.find_resource("s3-bucket", name)["status"] == "created"


@pytest.fixture
def plain_http(aws: StandIn) -> Iterator[str]:
    """A second, plain-HTTP listener on the same stand-in: the way a non-TLS client arrives."""
    from werkzeug.serving import make_server

    from standin.server import request_handler

    server = make_server(
        "127.0.0.1", 0, aws._server.app, threaded=True, request_handler=request_handler()
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_bucket_refuses_requests_without_tls(aws: StandIn, state: State, plain_http: str) -> None:
    import boto3
    from botocore.exceptions import ClientError

    name = s3.ensure_bucket(
        s3.bucket_name(ACCOUNT, "us-east-1", state.workshop_id), "us-east-1", state
    )
    policy = json.loads(clients.client("s3").get_bucket_policy(Bucket=name)["Policy"])
    assert policy["Statement"] == [s3.tls_statement(name)]
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}

    secure = clients.client("s3")
    secure.put_object(Bucket=name, Key="data/ok.txt", Body=b"over TLS")
    insecure = boto3.client(
        "s3", endpoint_url=plain_http, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    for call in (
        lambda: insecure.get_object(Bucket=name, Key="data/ok.txt"),
        lambda: insecure.put_object(Bucket=name, Key="data/no.txt", Body=b"plain"),
        lambda: insecure.list_objects_v2(Bucket=name),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert secure.get_object(Bucket=name, Key="data/ok.txt")["Body"].read() == b"over TLS"
    assert [o["Key"] for o in secure.list_objects_v2(Bucket=name)["Contents"]] == ["data/ok.txt"]
    # Without the policy, the same plain request goes through: the policy made the difference.
    other = "bucket-without-policy"
    secure.create_bucket(Bucket=other)
    insecure.put_object(Bucket=other, Key="x", Body=b"plain")


def test_bucket_policy_statements_live_together(aws: StandIn, state: State) -> None:
    from utils import invocation_logs

    name = s3.ensure_bucket("workshop-policy-bucket", "us-east-1", state)
    invocation_logs.allow_bedrock_logging(name, "logs", ACCOUNT, "us-east-1")
    s3.ensure_bucket(name, "us-east-1", state)  # a re-run of setup keeps the logging grant
    sids = [st["Sid"] for st in json.loads(
        clients.client("s3").get_bucket_policy(Bucket=name)["Policy"])["Statement"]]  # fmt: skip
    assert sids == [invocation_logs.POLICY_SID, s3.TLS_SID]
    assert s3.delete_bucket(name)
    # A bucket made again under the same name starts without the old policy.
    clients.client("s3").create_bucket(Bucket=name)
    with pytest.raises(Exception, match="NoSuchBucketPolicy"):
        clients.client("s3").get_bucket_policy(Bucket=name)


def test_bucket_outside_us_east_1_gets_its_location(aws: StandIn, state: State) -> None:
    s3.ensure_bucket("workshop-eu-bucket", "eu-west-1", state)
    where = clients.client("s3").get_bucket_location(Bucket="workshop-eu-bucket")
    assert where["LocationConstraint"] == "eu-west-1"


def test_someone_elses_bucket_is_an_error(state: State) -> None:
    api = clients.client("s3", "us-east-1")
    with Stubber(api) as stub:
        stub.add_client_error("create_bucket", "BucketAlreadyExists", http_status_code=409)
        with pytest.raises(WorkshopError, match="taken by another AWS account"):
            s3.ensure_bucket("taken-bucket", "us-east-1", state)
    assert state.resources("s3-bucket") == []


def test_empty_bucket_removes_versions_and_uploads(aws: StandIn) -> None:
    api = clients.client("s3")
    api.create_bucket(Bucket="versioned-bucket")
    api.put_bucket_versioning(
        Bucket="versioned-bucket", VersioningConfiguration={"Status": "Enabled"}
    )
    for body in (b"1", b"2"):
        api.put_object(Bucket="versioned-bucket", Key="a.txt", Body=body)
    api.delete_object(Bucket="versioned-bucket", Key="a.txt")
    api.create_multipart_upload(Bucket="versioned-bucket", Key="big.bin")
    assert s3.delete_bucket("versioned-bucket") is True
    assert api.list_buckets()["Buckets"] == []
    assert s3.delete_bucket("versioned-bucket") is False


def test_jsonl_csv_and_existence_round_trip(aws: StandIn) -> None:
    clients.client("s3").create_bucket(Bucket="data-bucket")
    target = s3.upload_jsonl([{"a": 1}, {"a": "é"}], "s3://data-bucket/x/data.jsonl")
    assert s3.read_bytes(target).decode() == '{"a": 1}\n{"a": "é"}\n'
    clients.client("s3").put_object(Bucket="data-bucket", Key="m.csv", Body=b"step,loss\n1,2.5\n")
    assert s3.read_csv("s3://data-bucket/m.csv")["loss"].tolist() == [2.5]
    assert s3.exists(target) and not s3.exists("s3://data-bucket/none")
    assert s3.list_keys("data-bucket", "x/") == ["x/data.jsonl"]
    with pytest.raises(WorkshopError, match="not an S3 URI"):
        s3.split_uri("/local/path")


def test_role_trust_and_policy_are_least_privilege(aws: StandIn, state: State) -> None:
    arn = iam.ensure_role("ws-role", "ws-policy", ACCOUNT, "us-east-1", "ws-bucket", state)
    again = iam.ensure_role("ws-role", "ws-policy", ACCOUNT, "us-east-1", "ws-bucket", state)
    assert arn == again == f"arn:aws:iam::{ACCOUNT}:role/ws-role"
    api = clients.client("iam")
    trust = api.get_role(RoleName="ws-role")["Role"]["AssumeRolePolicyDocument"]
    cond = trust["Statement"][0]["Condition"]
    assert cond["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert cond["ArnLike"]["aws:SourceArn"] == [
        f"arn:aws:bedrock:us-east-1:{ACCOUNT}:model-customization-job/*",
        f"arn:aws:bedrock:us-east-1:{ACCOUNT}:model-invocation-job/*",
        f"arn:aws:bedrock:us-east-1:{ACCOUNT}:model-import-job/*",
    ]
    attached = api.list_attached_role_policies(RoleName="ws-role")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["ws-policy"]
    version = api.get_policy_version(PolicyArn=attached[0]["PolicyArn"], VersionId="v1")[
        "PolicyVersion"
    ]["Document"]
    resources = {r for st in version["Statement"] for r in st["Resource"]}
    assert resources == {"arn:aws:s3:::ws-bucket", "arn:aws:s3:::ws-bucket/*"}
    assert {r["kind"] for r in state.resources()} == {"iam-role", "iam-policy"}


def test_role_and_policy_deletion_tolerates_gone(aws: StandIn, state: State) -> None:
    iam.ensure_role("ws-role", "ws-policy", ACCOUNT, "us-east-1", "ws-bucket", state)
    policy_arn = f"arn:aws:iam::{ACCOUNT}:policy/ws-policy"
    assert iam.delete_role("ws-role") is True
    assert iam.delete_policy(policy_arn) is True
    assert iam.delete_role("ws-role") is False
    assert iam.delete_policy(policy_arn) is False
    assert clients.client("iam").list_policies(Scope="Local")["Policies"] == []


def test_remove_role_deletes_recorded_policies_and_only_detaches_others(
    aws: StandIn, state: State
) -> None:
    iam.ensure_role("ws-role", "ws-policy", ACCOUNT, "us-east-1", "ws-bucket", state)
    api = clients.client("iam")
    theirs = api.create_policy(PolicyName="not-ours", PolicyDocument=json.dumps(iam.s3_policy("b")))
    api.attach_role_policy(RoleName="ws-role", PolicyArn=theirs["Policy"]["Arn"])

    assert iam.remove_role("ws-role", state) is True
    names = [p["PolicyName"] for p in api.list_policies(Scope="Local")["Policies"]]
    assert names == ["not-ours"]  # the workshop's is deleted, the other only detached
    assert api.list_entities_for_policy(PolicyArn=theirs["Policy"]["Arn"])["PolicyRoles"] == []
    assert api.list_roles()["Roles"] == []
    assert state.resources() == []
    assert iam.remove_role("ws-role", state) is False


def test_key_and_vpc_widen_the_role_policy_exactly_that_far(aws: StandIn, state: State) -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    vpc = {"subnetIds": ["subnet-1"], "securityGroupIds": ["sg-1"]}
    plain = iam.s3_policy("ws-bucket")
    wide = iam.s3_policy("ws-bucket", key, vpc)
    assert wide["Statement"][:2] == plain["Statement"]
    kms_statement, describe, interfaces, tagging = wide["Statement"][2:]
    assert kms_statement["Resource"] == [key]
    assert describe["Resource"] == "*" and all(
        a.startswith("ec2:Describe") for a in describe["Action"]
    )
    assert interfaces["Resource"] == [
        "arn:aws:ec2:*:*:network-interface/*",
        "arn:aws:ec2:*:*:subnet/subnet-1",
        "arn:aws:ec2:*:*:security-group/sg-1",
    ]
    assert tagging == {
        "Effect": "Allow",
        "Action": ["ec2:CreateTags"],
        "Resource": ["arn:aws:ec2:*:*:network-interface/*"],
        "Condition": {"StringEquals": {"ec2:CreateAction": "CreateNetworkInterface"}},
    }

    # A re-run of setup with a key updates the existing policy instead of failing.
    iam.ensure_role("ws-role", "ws-policy", ACCOUNT, "us-east-1", "ws-bucket", state)
    iam.ensure_role(
        "ws-role", "ws-policy", ACCOUNT, "us-east-1", "ws-bucket", state, kms_key_arn=key
    )
    api = clients.client("iam")
    arn = f"arn:aws:iam::{ACCOUNT}:policy/ws-policy"
    default = api.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    doc = api.get_policy_version(PolicyArn=arn, VersionId=default)["PolicyVersion"]["Document"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    assert doc == iam.s3_policy("ws-bucket", key)
    for _ in range(6):  # IAM keeps five versions; updates keep working past that
        iam.ensure_role("ws-role", "ws-policy", ACCOUNT, "us-east-1", "ws-bucket", state)
        iam.ensure_role(
            "ws-role", "ws-policy", ACCOUNT, "us-east-1", "ws-bucket", state, kms_key_arn=key
        )
    assert len(api.list_policy_versions(PolicyArn=arn)["Versions"]) <= 5


def test_the_import_role_trusts_only_import_jobs_and_reads_only_the_model_prefix(
    aws: StandIn, state: State
) -> None:
    arn = iam.ensure_import_role(
        "ws-import-role", "ws-import-policy", ACCOUNT, "us-east-1", "ws-bucket", state
    )
    assert arn == f"arn:aws:iam::{ACCOUNT}:role/ws-import-role"
    api = clients.client("iam")
    trust = api.get_role(RoleName="ws-import-role")["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Condition"]["ArnLike"]["aws:SourceArn"] == [
        f"arn:aws:bedrock:us-east-1:{ACCOUNT}:model-import-job/*"
    ]
    policy_arn = f"arn:aws:iam::{ACCOUNT}:policy/ws-import-policy"
    doc = api.get_policy_version(PolicyArn=policy_arn, VersionId="v1")["PolicyVersion"]["Document"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    assert doc == iam.import_s3_policy("ws-bucket", "models/")
    actions = {a for st in doc["Statement"] for a in st["Action"]}
    assert actions == {"s3:GetObject", "s3:ListBucket"}  # nothing that writes
    get, listing = doc["Statement"]
    assert get["Resource"] == ["arn:aws:s3:::ws-bucket/models/*"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["models/", "models/*"]}}
    # A re-run with another prefix narrows the same policy instead of failing.
    iam.ensure_import_role(
        "ws-import-role", "ws-import-policy", ACCOUNT, "us-east-1", "ws-bucket", state,
        prefix="models/tiny",
    )  # fmt: skip
    default = api.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
    doc = api.get_policy_version(PolicyArn=policy_arn, VersionId=default)["PolicyVersion"][
        "Document"
    ]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    assert doc["Statement"][0]["Resource"] == ["arn:aws:s3:::ws-bucket/models/tiny/*"]
    assert {r["id"] for r in state.resources()} == {"ws-import-role", "ws-import-policy"}


def test_the_workshop_policy_keeps_read_write_for_other_jobs() -> None:
    plain = iam.s3_policy("ws-bucket")
    assert plain["Statement"][0]["Action"] == ["s3:GetObject", "s3:PutObject"]
    assert "Condition" not in plain["Statement"][1]
