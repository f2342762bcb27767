"""Every AWS call a process makes through botocore, with the principal that made it.

A principal is told apart by its access key id: the local pipeline gives each deployed role its own
(``local_runner.emulator.local_session(principal)``), as each role has its own credentials in AWS.
Presigned URLs and POST forms are recorded too: S3 authorizes the request made with them against the
principal that signed them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from botocore.client import BaseClient
from botocore.signers import RequestSigner, S3PostPresigner

# What is kept of a call's parameters: whatever names a resource or sets a condition key, never a body.
_DROPPED = frozenset({"Body", "Item", "ExpressionAttributeValues", "Key", "MessageBody", "Entries"})


@dataclass(frozen=True)
class Call:
    access_key: str
    service: str  # botocore's service name: s3, dynamodb, sqs, events, ...
    operation: str  # the API operation: GetObject, Query, TransactWriteItems, ...
    params: dict[str, Any]
    presigned: bool = False


@dataclass
class CallLog:
    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)


def _access_key(signer: RequestSigner) -> str:
    credentials = signer._credentials
    return str(credentials.get_frozen_credentials().access_key) if credentials else ""


def _resource_params(service: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters that name resources. S3's Key and SQS/EventBridge entries are resources too."""
    kept = {k: v for k, v in params.items() if k not in _DROPPED}
    if service == "s3" and "Key" in params:
        kept["Key"] = params["Key"]
    if service == "s3" and "Delete" in params:
        kept["Delete"] = {"Objects": [dict(o) for o in params["Delete"].get("Objects", [])]}
    if service == "events" and "Entries" in params:
        kept["Entries"] = [{"EventBusName": e.get("EventBusName", "default")} for e in params["Entries"]]
    if service == "dynamodb" and "TransactItems" in params:
        kept["TransactItems"] = [
            {kind: {"TableName": body["TableName"]} for kind, body in item.items()}
            for item in params["TransactItems"]
        ]
    return kept


@contextmanager
def recording() -> Iterator[CallLog]:
    """Record every call made through botocore in this process until the block ends."""
    log = CallLog()
    emitted = threading.local()  # the parameters a presigner is about to sign, per thread
    make_api_call = BaseClient._make_api_call
    emit_api_params = BaseClient._emit_api_params
    presign_url = RequestSigner.generate_presigned_url
    presign_post = S3PostPresigner.generate_presigned_post

    def recorded_call(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        service = self.meta.service_model.service_name
        log.add(
            Call(
                _access_key(self._request_signer),
                service,
                operation_name,
                _resource_params(service, api_params),
            )
        )
        return make_api_call(self, operation_name, api_params)

    def remembered_params(
        self: BaseClient, api_params: dict[str, Any], operation_model: Any, context: Any
    ) -> Any:
        result = emit_api_params(self, api_params, operation_model, context)
        emitted.value = (self.meta.service_model.service_name, operation_model.name, dict(result))
        return result

    def recorded_url(
        self: RequestSigner, request_dict: Any, operation_name: str, *args: Any, **kwargs: Any
    ) -> Any:
        service, _, params = emitted.value
        log.add(
            Call(
                _access_key(self), service, operation_name, _resource_params(service, params), presigned=True
            )
        )
        return presign_url(self, request_dict, operation_name, *args, **kwargs)

    def recorded_post(
        self: S3PostPresigner,
        request_dict: Any,
        fields: Any = None,
        conditions: Any = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        bucket = next(c["bucket"] for c in conditions if isinstance(c, dict) and "bucket" in c)
        log.add(
            Call(
                _access_key(self._request_signer),
                "s3",
                "PutObject",
                {"Bucket": bucket, "Key": fields["key"]},
                presigned=True,
            )
        )
        return presign_post(self, request_dict, fields, conditions, *args, **kwargs)

    with (
        mock.patch.object(BaseClient, "_make_api_call", recorded_call),
        mock.patch.object(BaseClient, "_emit_api_params", remembered_params),
        mock.patch.object(RequestSigner, "generate_presigned_url", recorded_url),
        mock.patch.object(S3PostPresigner, "generate_presigned_post", recorded_post),
    ):
        yield log
