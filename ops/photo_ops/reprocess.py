"""Re-make every original's variants with an environment's current spec, on its Step Functions
Distributed Map (``Reprocessing``).

    make reprocess ENV=prod ARGS="--owner alice --before 2026-11-01 --dry-run"
    # or: python -m photo_ops.reprocess --env prod [--owner …] [--before …] [--dry-run]

Deploy the changed spec first (the function reads it). This finds the state machine through the resize
stack's outputs, starts an execution and prints its ARN and how to follow it; the Map does the rest
in AWS. Needs AWS credentials for the account. Locally: ``make reprocess ENV=dev`` (``LOCAL=`` sends dev to AWS).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from photo_contract import UPLOADS_PREFIX, is_valid_owner
from photo_pipeline_cdk.binding import REPROCESS_STATE_MACHINE_OUTPUT, StackName, stack_name
from photo_pipeline_cdk.config import EnvironmentConfig, environment_config

from photo_ops.session import environment_session

STATE_MACHINE_OUTPUT = REPROCESS_STATE_MACHINE_OUTPUT


def state_machine_arn(cloudformation: Any, config: EnvironmentConfig) -> str:
    resize = stack_name(config, StackName.RESIZE)
    (stack,) = cloudformation.describe_stacks(StackName=resize)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    if STATE_MACHINE_OUTPUT not in outputs:
        raise RuntimeError(f"{resize} has no output {STATE_MACHINE_OUTPUT}: deploy the resize stack first")
    return str(outputs[STATE_MACHINE_OUTPUT])


def execution_input(*, owner: str | None, before: str | None, dry_run: bool) -> dict[str, Any]:
    """What the state machine expects (``Reprocessing``): the listing prefix and the item filters."""
    if owner is not None and not is_valid_owner(owner):
        raise ValueError(f"not a valid owner: {owner!r}")
    cutoff = datetime.fromisoformat(before).astimezone(UTC).isoformat() if before else ""
    return {
        "prefix": f"{UPLOADS_PREFIX}{owner}/" if owner else UPLOADS_PREFIX,
        "before": cutoff,
        "dry_run": dry_run,
    }


def start(stepfunctions: Any, arn: str, payload: dict[str, Any]) -> str:
    name = (
        "reprocess-"
        + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        + ("-dry-run" if payload["dry_run"] else "")
    )
    execution: str = stepfunctions.start_execution(stateMachineArn=arn, name=name, input=json.dumps(payload))[
        "executionArn"
    ]
    return execution


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Reprocess an environment's originals with its current spec."
    )
    parser.add_argument("--env", required=True, help="dev, staging or prod")
    parser.add_argument("--owner", help="only this owner's originals")
    parser.add_argument("--before", help="only originals uploaded before this ISO time, e.g. 2026-11-01")
    parser.add_argument("--dry-run", action="store_true", help="report what would be re-made, change nothing")
    args = parser.parse_args(argv)
    config = environment_config(args.env)
    payload = execution_input(owner=args.owner, before=args.before, dry_run=args.dry_run)
    session = environment_session(config)
    arn = state_machine_arn(session.client("cloudformation"), config)
    execution = start(session.client("stepfunctions"), arn, payload)
    region = execution.split(":")[3]
    print(f"started: {execution}")
    print(f"follow:  aws stepfunctions describe-execution --region {region} --execution-arn {execution}")
    print(
        f"console: https://{region}.console.aws.amazon.com/states/home?region={region}"
        f"#/v2/executions/details/{execution}"
    )
    print("each item's result is written to the state machine's reports bucket when the run ends")
    return 0


if __name__ == "__main__":
    sys.exit(main())
