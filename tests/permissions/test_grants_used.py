"""The other direction: every granted action is needed by a recorded call, or kept for a written reason.

Each action of each identity statement is removed in turn and the recorded calls re-evaluated; an
action whose removal denies nothing is unused. ``unused_grants.toml`` lists what is kept anyway and why
(paths a local run cannot reach: the service makes the call itself, or the code path is AWS-only)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.permissions.conftest import RecordedRun
from tests.permissions.proof import check_calls, environment_templates, local_names, unused_grants

KEPT = tomllib.loads((Path(__file__).parent / "unused_grants.toml").read_text())
KEPT_ROLES = {entry["role"]: entry["reason"] for entry in KEPT["role"]}
KEPT_GRANTS = {
    (entry["role"], action): entry["reason"] for entry in KEPT["grant"] for action in entry["actions"]
}


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_grant_is_needed_or_kept_for_a_reason(recorded_run: RecordedRun, env: str) -> None:
    templates = environment_templates(env, local_names(recorded_run.resources))
    checks = check_calls(templates, recorded_run.calls)
    unused = {(g.role, g.action) for g in unused_grants(templates, checks) if g.role not in KEPT_ROLES}
    granted = {
        (role, action)
        for role, statements in templates.identity.items()
        for statement in statements
        if statement.effect == "Allow"
        for action in statement.actions
    }
    # An explanation counts where its role holds the grant (dev does not moderate: no Rekognition grant).
    present = {grant for grant in KEPT_GRANTS if grant in granted}
    # Both ways: an unused grant nobody explained fails, and so does an explanation of a grant now used.
    assert sorted(unused - present) == [], "unused grants without a reason in unused_grants.toml"
    assert sorted(present - unused) == [], "unused_grants.toml explains grants a recorded call now needs"


def test_every_kept_role_and_grant_exists_somewhere() -> None:
    names = {"UploadApiFunctionServiceRole"}
    for env in ("dev", "staging", "prod"):
        names |= set(environment_templates(env, {}).roles)
    assert set(KEPT_ROLES) <= names
    assert {role for role, _ in KEPT_GRANTS} <= names
