"""No credential or real account id is committed: notebooks, code, docs and data alike."""

from __future__ import annotations

import re
import subprocess

from utils import paths

# moto's default account and two ids the tests use for "another account" on purpose.
ALLOWED_ACCOUNTS = {"123456789012", "999999999999", "111111111111"}
ACCESS_KEY = re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")
SECRET_KEY = re.compile(r"aws_secret_access_key\s*[=:]\s*['\"]?(?!testing\b)[A-Za-z0-9/+]{40}")
ACCOUNT_IN_ARN = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):")


def _committed_text_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=paths.ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [name for name in listed if not name.endswith((".png", ".gz", ".jsonl"))]


def test_no_access_keys_or_foreign_account_ids_are_committed() -> None:
    problems = []
    for name in _committed_text_files():
        text = (paths.ROOT / name).read_text(encoding="utf-8", errors="replace")
        if ACCESS_KEY.search(text) or SECRET_KEY.search(text):
            problems.append(f"{name}: looks like an AWS credential")
        accounts = set(ACCOUNT_IN_ARN.findall(text)) - ALLOWED_ACCOUNTS
        if accounts:
            problems.append(f"{name}: account id(s) {sorted(accounts)}")
    assert problems == []


def test_the_scan_would_catch_them() -> None:
    # Built from pieces so that this file does not hold what it looks for.
    fake_key, fake_account = "AKIA" + "ABCDEFGHIJKLMNOP", "2109876" + "54321"
    assert ACCESS_KEY.search(f"key = {fake_key}")
    assert ACCOUNT_IN_ARN.findall(f"arn:aws:iam::{fake_account}:role/x") == [fake_account]
    assert not SECRET_KEY.search('aws_secret_access_key="testing"')
