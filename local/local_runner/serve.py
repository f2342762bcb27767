"""`make serve`: the local pipeline and its upload page, running until Ctrl-C."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import sys
import threading

from photo_contract.moderation import DEFAULT_POLICY, MODERATORS_GROUP
from photo_pipeline_cdk.config import environment_config

from local_runner.inputs import REPO
from local_runner.pipeline import PortInUseError, local_pipeline
from local_runner.reprocess import SERVE_STATE

SESSION_ENV = REPO / "demo-output" / "session.env"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", default="dev")
    parser.add_argument("--port", type=int, default=8000, help="API and upload page port (default 8000)")
    args = parser.parse_args(argv)
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # no CloudWatch here: no EMF lines
    logging.getLogger("resize").setLevel(logging.WARNING)
    logging.getLogger("housekeeping").setLevel(logging.WARNING)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    request_log = REPO / "demo-output" / "emulator-serve.log"
    config = environment_config(args.env)
    try:
        # Moderation on, as in staging and prod, with the local moderator (a strongly red photo is held).
        with local_pipeline(
            config, api_port=args.port, upload_page=True, request_log=request_log, moderation=DEFAULT_POLICY
        ) as pipeline:
            print(f"upload page: {pipeline.api_url}/")
            print(f"S3/SQS emulator: {pipeline.resources.endpoint} (request log: {request_log})")
            # For `make reprocess LOCAL=1`: where this run's emulated resources are; for a curl session
            # (docs/local.md): the API's URL and a token, as shell variables.
            SERVE_STATE.parent.mkdir(parents=True, exist_ok=True)
            SERVE_STATE.write_text(json.dumps(dataclasses.asdict(pipeline.resources)))
            moderator = pipeline.token("local-moderator", groups=(MODERATORS_GROUP,))
            SESSION_ENV.write_text(
                f"API={pipeline.api_url}\nTOKEN={pipeline.token()}\nMODERATOR_TOKEN={moderator}\n"
            )
            SESSION_ENV.chmod(0o600)
            print(f"curl session: source {SESSION_ENV.relative_to(REPO)} (API and a 12 h TOKEN)")
            print("Ctrl-C stops everything.", flush=True)
            try:
                stop.wait()
            finally:
                SERVE_STATE.unlink(missing_ok=True)
                SESSION_ENV.unlink(missing_ok=True)
    except PortInUseError as busy:  # raised before anything started
        print(f"make serve: {busy}", file=sys.stderr)
        return 1
    print("stopped.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
