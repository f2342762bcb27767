"""An S3 POST-policy evaluator: would S3 accept this form upload?

moto accepts any presigned POST whatever its policy says, so the tests judge uploads with this oracle,
written from the documented S3 rules (Amazon S3 API reference, "Creating a POST policy" and "Authenticating
Requests in Browser-Based Uploads Using POST (AWS Signature Version 4)"):

- the policy is base64 JSON with an ISO 8601 ``expiration`` and a list of ``conditions``;
- a condition is ``{"field": "value"}`` (exact), ``["eq", "$field", v]``, ``["starts-with", "$field", p]``
  or ``["content-length-range", min, max]`` (inclusive bounds on the file's bytes);
- field names match case-insensitively; ``bucket`` is the target bucket;
- every form field must be covered by a condition, except ``x-amz-signature``, ``file``, ``policy`` and
  fields prefixed ``x-ignore-``;
- a ``Content-MD5`` field is the base64 MD5 of the file: S3 refuses other bytes (POST Object, "use the
  Content-MD5 form field ... Amazon S3 checks the object against the provided MD5 value");
- ``x-amz-algorithm`` is ``AWS4-HMAC-SHA256`` and ``x-amz-signature`` is the SigV4 HMAC of the base64
  policy with the key derived from the secret, date, region and service ``s3``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

_EXEMPT = {"x-amz-signature", "file", "policy"}


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str = ""


def decode_policy(fields: dict[str, str]) -> dict[str, Any]:
    policy: dict[str, Any] = json.loads(base64.b64decode(fields["policy"]))
    return policy


def evaluate(
    fields: dict[str, str],
    *,
    bucket: str,
    file_size: int,
    now: datetime,
    secret_key: str | None = None,
    content: bytes | None = None,
) -> Verdict:
    """``content``: the file's bytes, where the form's Content-MD5 is to be checked against them."""
    lowered = {k.lower(): v for k, v in fields.items()}
    if content is not None and len(content) != file_size:
        raise ValueError("content and file_size disagree")
    if "policy" not in lowered:
        return Verdict(False, "no policy")
    try:
        policy = decode_policy({"policy": lowered["policy"]})
        expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    except (ValueError, KeyError):
        return Verdict(False, "malformed policy")
    if now >= expiration:
        return Verdict(False, "policy expired")
    if lowered.get("x-amz-algorithm") != "AWS4-HMAC-SHA256":
        return Verdict(False, "not SigV4")
    if secret_key is not None and not _signature_ok(lowered, secret_key):
        return Verdict(False, "signature does not match")

    values = {**lowered, "bucket": bucket}
    covered: set[str] = set()
    for condition in policy["conditions"]:
        verdict = _check(condition, values, file_size, covered)
        if not verdict.accepted:
            return verdict
    uncovered = {k for k in lowered if k not in _EXEMPT and not k.startswith("x-ignore-")} - covered
    if uncovered:
        return Verdict(False, f"fields not in the policy: {sorted(uncovered)}")
    return _digest(lowered, content)


def _digest(fields: dict[str, str], content: bytes | None) -> Verdict:
    """S3's BadDigest: a Content-MD5 field that is not the file's."""
    if "content-md5" not in fields:
        return Verdict(True)
    if content is None:
        raise ValueError("the form carries Content-MD5: pass the file's content to check it")
    actual = base64.b64encode(hashlib.md5(content, usedforsecurity=False).digest()).decode()
    if actual != fields["content-md5"]:
        return Verdict(False, f"BadDigest: the file's MD5 is {actual}, the form says {fields['content-md5']}")
    return Verdict(True)


def _check(condition: Any, values: dict[str, str], file_size: int, covered: set[str]) -> Verdict:
    if isinstance(condition, dict):
        ((name, expected),) = condition.items()
        name = name.lower()
        covered.add(name)
        return Verdict(values.get(name) == expected, f"{name} must be {expected!r}")
    operator, *args = condition
    operator = operator.lower()
    if operator == "content-length-range":
        low, high = int(args[0]), int(args[1])
        return Verdict(low <= file_size <= high, f"size {file_size} outside [{low}, {high}]")
    name = str(args[0]).lstrip("$").lower()
    covered.add(name)
    actual = values.get(name)
    if operator == "eq":
        return Verdict(actual == args[1], f"{name} must equal {args[1]!r}")
    if operator == "starts-with":
        return Verdict(
            actual is not None and actual.startswith(args[1]), f"{name} must start with {args[1]!r}"
        )
    return Verdict(False, f"unknown condition {operator}")


def _signature_ok(fields: dict[str, str], secret_key: str) -> bool:
    try:
        _, date, region, service, _ = fields["x-amz-credential"].split("/")
    except (KeyError, ValueError):
        return False
    key = ("AWS4" + secret_key).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, fields["policy"].encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields.get("x-amz-signature", ""))
