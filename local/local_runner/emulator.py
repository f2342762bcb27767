"""An embedded S3 + SQS + DynamoDB + EventBridge (moto server on 127.0.0.1), laid out like the stacks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from photo_contract import UPLOADS_PREFIX
from photo_contract.events import EVENT_SOURCE
from photo_contract.registry import table_definition
from photo_contract.runtime import QUOTA_TABLE_PARTITION_KEY, QUOTA_TABLE_TTL_ATTRIBUTE
from photo_pipeline_cdk.config import EnvironmentConfig

REGION = "us-east-1"
# moto does not check credentials; these only let boto3 sign.
ACCESS_KEY_ID = "local"
SECRET_ACCESS_KEY = "local-secret"  # noqa: S105 - a placeholder for the local emulator


# Each deployed role signs with credentials of its own; locally each gets its own access key id
# ("local-<principal>"), so a recording of the calls tells who made each (tests/permissions).
API_PRINCIPAL = "api"  # the API: the Fargate task role (the Lambda function role when under Mangum)
WORKER_PRINCIPAL = "worker"  # the resize function, and the SQS event source mapping acting for it
REPROCESS_PRINCIPAL = "reprocess"  # the reprocess function the Distributed Map invokes per item
REPROCESSING_MAP_PRINCIPAL = "reprocessing-map"  # the state machine's role: the S3 listing reader
HOUSEKEEPING_PRINCIPAL = "housekeeping"  # the housekeeping function (it never reads an original's bytes)
ALTERNATES_PRINCIPAL = "alternates"  # the second step: the alternates function and its event source


def local_session(principal: str | None = None) -> boto3.session.Session:
    """Credentials for the emulator only, never the process environment (tests share the process)."""
    key = f"{ACCESS_KEY_ID}-{principal}" if principal else ACCESS_KEY_ID
    return boto3.session.Session(
        aws_access_key_id=key, aws_secret_access_key=SECRET_ACCESS_KEY, region_name=REGION
    )


def local_client(service: str, endpoint: str, principal: str | None = None) -> Any:
    return local_session(principal).client(service, endpoint_url=endpoint)  # type: ignore[call-overload]


@dataclass(frozen=True)
class LocalResources:
    endpoint: str
    uploads_bucket: str
    media_bucket: str
    queue_url: str
    queue_arn: str
    dead_letter_queue_url: str
    max_receive_count: int
    quota_table: str
    registry_table: str
    event_bus_name: str
    events_queue_url: str  # every event on the bus lands here, so the demo can show them
    reports_bucket: str  # the reprocessing state machine's results, as in AWS a bucket of its own
    distribution_id: str  # the CloudFront distribution a delete invalidates (the local CDN honours it)
    housekeeping_queue_url: str
    housekeeping_queue_arn: str
    housekeeping_dead_letter_queue_url: str
    alternates_queue_url: str  # the second step's tasks (photo_contract.alternates)
    alternates_queue_arn: str
    alternates_dead_letter_queue_url: str


class LocalAws:
    """Start, lay out, stop. ``visibility_timeout_seconds`` (30 s by default: longer than any local batch,
    as the deployed 6x-function-timeout is, so a message is not handed to a second worker while the
    first still works on it); tests of the dead-letter path pass a short one."""

    def __init__(
        self,
        config: EnvironmentConfig,
        *,
        visibility_timeout_seconds: int = 30,
        request_log: Path | None = None,
    ) -> None:
        self._config = config
        self._visibility = visibility_timeout_seconds
        self._server = _MotoProcess(request_log)
        self.resources: LocalResources | None = None

    def client(self, service: str) -> Any:
        assert self.resources is not None, "start() first"
        return local_client(service, self.resources.endpoint)

    def start(self, *, extra_cors_origins: tuple[str, ...] = ()) -> LocalResources:
        self._server.start()
        host, port = self._server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        # Each server's resources carry its port (a habit from when moto shared one state per process):
        # the names say which pipeline they belong to.
        prefix = f"{self._config.stack_prefix}-{port}"
        s3 = local_client("s3", endpoint)
        sqs = local_client("sqs", endpoint)
        uploads, media = f"{prefix}-uploads", f"{prefix}-media"
        reports = f"{prefix}-reprocessing-reports"
        for bucket in (uploads, media, reports):
            s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=uploads, VersioningConfiguration={"Status": "Enabled"})
        origins = [*self._config.cors_allowed_origins, *extra_cors_origins]
        if origins:
            s3.put_bucket_cors(
                Bucket=uploads,
                CORSConfiguration={
                    "CORSRules": [
                        {"AllowedMethods": ["POST"], "AllowedOrigins": origins, "AllowedHeaders": ["*"]}
                    ]
                },
            )
        dlq_url = sqs.create_queue(QueueName=f"{prefix}-upload-events-dlq")["QueueUrl"]
        dlq_arn = _arn(sqs, dlq_url)
        receives = self._config.resize.max_receive_count
        queue_url = sqs.create_queue(
            QueueName=f"{prefix}-upload-events",
            Attributes={
                "VisibilityTimeout": str(self._visibility),
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": receives}),
            },
        )["QueueUrl"]
        queue_arn = _arn(sqs, queue_url)
        s3.put_bucket_notification_configuration(
            Bucket=uploads,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "QueueArn": queue_arn,
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": UPLOADS_PREFIX}]}},
                    }
                ]
            },
        )
        dynamodb = local_client("dynamodb", endpoint)
        quota_table = _create_quota_table(dynamodb, f"{prefix}-upload-quota")
        registry_table = f"{prefix}-images"
        dynamodb.create_table(**table_definition(registry_table))
        bus, events_queue_url = _create_bus(local_client("events", endpoint), sqs, f"{prefix}-images")
        housekeeping, housekeeping_dlq = _queue_with_dead_letters(
            sqs, f"{prefix}-housekeeping", visibility=self._visibility, receives=receives
        )
        # At least the default 30 s: a test's short timeout is for the upload queue's poison message,
        # and an AVIF step on a loaded machine can take seconds (it would be handed out again).
        alternates, alternates_dlq = _queue_with_dead_letters(
            sqs, f"{prefix}-alternates", visibility=max(self._visibility, 30), receives=receives
        )
        self.resources = LocalResources(
            endpoint,
            uploads,
            media,
            queue_url,
            queue_arn,
            dlq_url,
            receives,
            quota_table,
            registry_table,
            bus,
            events_queue_url,
            reports,
            _create_distribution(local_client("cloudfront", endpoint), media),
            housekeeping,
            _arn(sqs, housekeeping),
            housekeeping_dlq,
            alternates,
            _arn(sqs, alternates),
            alternates_dlq,
        )
        return self.resources

    def stop(self) -> None:
        self._server.stop()


def _create_distribution(cloudfront: Any, media_bucket: str) -> str:
    """The distribution in front of the media bucket, as moto keeps it: what invalidations name."""
    origin = {
        "Id": "media",
        "DomainName": f"{media_bucket}.s3.amazonaws.com",
        "S3OriginConfig": {"OriginAccessIdentity": ""},
    }
    behaviour = {
        "TargetOriginId": "media",
        "ViewerProtocolPolicy": "https-only",
        "MinTTL": 0,
        "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
        "TrustedSigners": {"Enabled": False, "Quantity": 0},
    }
    created = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": media_bucket,
            "Origins": {"Quantity": 1, "Items": [origin]},
            "DefaultCacheBehavior": behaviour,
            "Comment": "photo-pipeline variants (local)",
            "Enabled": True,
        }
    )
    distribution_id: str = created["Distribution"]["Id"]
    return distribution_id


# Ctrl-C reaches the whole process group; stopping the server is the parent's job, so the server
# ignores it (otherwise it prints a KeyboardInterrupt traceback).
_MOTO_IGNORING_CTRL_C = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "from moto.server import main; main(sys.argv[1:])"
)


class _MotoProcess:
    """moto's server in a process of its own, on a free loopback port: its request handling does not
    compete for this process's interpreter lock with the API, the queue pollers and the clients (in
    one process, the emulator was what held the worker processes back). Its request log (one line per
    request, werkzeug's) goes to ``request_log`` or nowhere."""

    def __init__(self, request_log: Path | None) -> None:
        self._request_log = request_log
        self._process: subprocess.Popen[bytes] | None = None
        self._port = 0

    def start(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self._port = int(probe.getsockname()[1])
        if self._request_log is not None:
            self._request_log.parent.mkdir(parents=True, exist_ok=True)
        log_path = self._request_log or Path(os.devnull)
        with log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _MOTO_IGNORING_CTRL_C, "-H", "127.0.0.1", "-p", str(self._port)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the moto server exited at start (log: {log_path})")
            try:
                with socket.create_connection(("127.0.0.1", self._port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the moto server did not start within 30 s")

    def get_host_and_port(self) -> tuple[str, int]:
        return "127.0.0.1", self._port

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()


def _create_bus(events: Any, sqs: Any, name: str) -> tuple[str, str]:
    """The environment's bus, with a rule that copies every photo-pipeline event to a queue: the
    local stand-in for an app backend's subscription."""
    events.create_event_bus(Name=name)
    queue_url = sqs.create_queue(QueueName=f"{name}-seen")["QueueUrl"]
    events.put_rule(Name="everything", EventBusName=name, EventPattern=json.dumps({"source": [EVENT_SOURCE]}))
    events.put_targets(
        Rule="everything", EventBusName=name, Targets=[{"Id": "seen", "Arn": _arn(sqs, queue_url)}]
    )
    return name, queue_url


def _create_quota_table(dynamodb: Any, name: str) -> str:
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": QUOTA_TABLE_PARTITION_KEY, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": QUOTA_TABLE_PARTITION_KEY, "KeyType": "HASH"}],
    )
    dynamodb.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": QUOTA_TABLE_TTL_ATTRIBUTE},
    )
    return name


def _arn(sqs: Any, queue_url: str) -> str:
    arn: str = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return arn


def _queue_with_dead_letters(sqs: Any, name: str, *, visibility: int, receives: int) -> tuple[str, str]:
    """(queue URL, DLQ URL): a queue whose messages go to ``name``-dlq after ``receives`` receives."""
    dead_letters = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    redrive = {"deadLetterTargetArn": _arn(sqs, dead_letters), "maxReceiveCount": receives}
    queue = sqs.create_queue(
        QueueName=name,
        Attributes={"VisibilityTimeout": str(visibility), "RedrivePolicy": json.dumps(redrive)},
    )["QueueUrl"]
    return queue, dead_letters
