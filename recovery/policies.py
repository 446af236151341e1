"""The suite's IAM policies (`policies/*.json`) and which file grants an action.

Good: health runs under `policies/health.json` alone; the drill under `health.json` plus
`drill.json` plus the optional files its options need. One definition of how an IAM action
name is formed from an API call (`iam_action`) and of how a policy's Action/Resource patterns
match (`matches`), shared by the twin's enforcement, the tests and the AccessDenied message.

Conditions are not evaluated here (the twin cannot know resource tags the way IAM does); the
tests prove the tag conditions another way (every mutating call of a drill targets a resource
named and tagged for that drill).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

READ_PREFIXES = (
    "ESHttpGet",
    "ESHttpHead",
    "Describe",
    "List",
    "Get",
    "Head",
    "Filter",
    "Search",
    "Lookup",
    "Select",
    "Check",
)
POLICY_DIR = Path(__file__).resolve().parent.parent / "policies"

# The file each mode's principal holds, in the order a missing action is attributed to them.
HEALTH = "health.json"
DRILL = "drill.json"
OPTIONAL = {
    "drill-storage-clone.json": "TURATH_DRILL_STORAGE=clone: copy production files into a drill bucket",
    "drill-kms.json": "a customer-managed KMS key on the instance or buckets (restore needs a grant)",
    "drill-terraform.json": "TURATH_PROVISIONER=terraform: state backend and the provider's reads",
    "drill-search.json": "the search data plane: list and delete the drill's own indices",
}
TOOLS = "tools.json"  # the plan's backup scripts (python -m recovery snapshot, s3-backup, restore-guide)
MODES: dict[str, tuple[str, ...]] = {
    "health": (HEALTH,),
    "drill": (HEALTH, DRILL, *OPTIONAL),
    "tools": (TOOLS,),
}

# IAM service prefix of a botocore signing name, where they differ.
_PREFIX = {"tagging": "tag", "monitoring": "cloudwatch", "opensearch": "es"}

# S3 API operations whose IAM action has another name (s3:GetBucket* does not cover the
# replication and encryption configurations; listing and HEAD are s3:ListBucket).
S3_ACTIONS = {
    "HeadBucket": "ListBucket",
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "ListMultipartUploads": "ListBucketMultipartUploads",
    "ListParts": "ListMultipartUploadParts",
    "ListBuckets": "ListAllMyBuckets",
    "HeadObject": "GetObject",
    "CopyObject": "PutObject",
    "UploadPart": "PutObject",
    "UploadPartCopy": "PutObject",
    "CreateMultipartUpload": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "DeleteObjects": "DeleteObject",
    "GetBucketReplication": "GetReplicationConfiguration",
    "PutBucketReplication": "PutReplicationConfiguration",
    "DeleteBucketReplication": "PutReplicationConfiguration",
    "GetBucketEncryption": "GetEncryptionConfiguration",
    "PutBucketEncryption": "PutEncryptionConfiguration",
    "DeleteBucketEncryption": "PutEncryptionConfiguration",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "PutLifecycleConfiguration",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "GetBucketCors": "GetBucketCORS",
    "PutBucketCors": "PutBucketCORS",
    "DeleteBucketTagging": "PutBucketTagging",
}


# S3 Control (account-level settings) signs as "s3" but names its actions after the account.
S3CONTROL_ACTIONS = {
    "GetPublicAccessBlock": "GetAccountPublicAccessBlock",
    "PutPublicAccessBlock": "PutAccountPublicAccessBlock",
    "DeletePublicAccessBlock": "PutAccountPublicAccessBlock",
}


def iam_action(signing_name: str, operation: str, service: str = "") -> str:
    """The IAM action an API call is authorised as, e.g. ('elasticloadbalancing', 'AddTags')."""
    prefix = _PREFIX.get(signing_name, signing_name)
    if service == "s3control":
        return f"s3:{S3CONTROL_ACTIONS.get(operation, operation)}"
    if prefix == "s3":
        operation = S3_ACTIONS.get(operation, operation)
    return f"{prefix}:{operation}"


@cache
def _pattern(text: str, case: bool) -> re.Pattern[str]:
    """IAM wildcards: `*` any run of characters, `?` exactly one; nothing else is special."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    return re.compile(f"^{body}$", 0 if case else re.IGNORECASE)


def matches(patterns: str | list[str], value: str, *, case: bool = True) -> bool:
    """True if `value` matches one of the patterns (actions: case-insensitive; ARNs: sensitive)."""
    items = [patterns] if isinstance(patterns, str) else patterns
    return any(_pattern(p, case).match(value) for p in items)


@dataclass(frozen=True)
class Policy:
    """One policy file: its name (`drill.json`) and document."""

    file: str
    document: dict[str, Any]

    @property
    def statements(self) -> list[dict[str, Any]]:
        stmts = self.document.get("Statement", [])
        return [stmts] if isinstance(stmts, dict) else list(stmts)

    def allows(self, action: str, resource: str = "*") -> bool:
        """An Allow statement names the action and the resource and no Deny does (conditions ignored)."""
        allowed = False
        for s in self.statements:
            if "Action" in s:
                named = matches(s["Action"], action, case=False)
            else:
                named = not matches(s.get("NotAction", []), action, case=False)
            if not named:
                continue
            if "Resource" in s:
                on = resource == "*" or matches(s["Resource"], resource)
            else:
                on = not matches(s.get("NotResource", []), resource)
            if not on:
                continue
            if s.get("Effect") == "Deny":
                return False
            allowed = True
        return allowed

    def actions(self) -> list[str]:
        """Every action pattern the file allows."""
        out: list[str] = []
        for s in self.statements:
            if s.get("Effect") == "Allow":
                acts = s.get("Action", [])
                out += [acts] if isinstance(acts, str) else acts
        return out


@cache
def load(file: str, directory: str = "") -> Policy:
    path = Path(directory) / file if directory else POLICY_DIR / file
    return Policy(file, json.loads(path.read_text()))


def policy_file_for(action: str, resource: str, mode: str) -> tuple[str, bool]:
    """(file, granted): the policy file that grants `action` on `resource`, or the one to add it to.

    `granted` is True when a file already allows it (then the role lacks that file, or its
    conditions do not hold). Otherwise a read goes to health.json in a health run, anything else
    to drill.json. Files that cannot be read are skipped: the message still names one.
    """
    for file in MODES["drill"]:
        try:
            if load(file).allows(action, resource):
                return f"policies/{file}", True
        except (OSError, ValueError):
            continue
    read = action.split(":", 1)[-1].startswith(READ_PREFIXES)
    return f"policies/{HEALTH if mode == 'health' and read else DRILL}", False
