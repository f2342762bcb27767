"""The runtime contract: the environment variables the stacks write and the functions read.

Writer (``to_env``) and reader (``from_env``) sit side by side for each runtime, so a name cannot drift
between them, and every default is defined here once. A bad value fails when the object is built: at
synth in the stacks, before a deploy, rather than at the first cold start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from photo_contract.moderation import ModerationPolicy
from photo_contract.receipt import ReceiptPolicy
from photo_contract.variants import (
    FEED_VARIANTS,
    UsefulSource,
    VariantSpec,
    useful_source,
    variants_from_json,
    variants_to_json,
)

MIB = 1024 * 1024
DEFAULT_MAX_SOURCE_BYTES = 25 * MIB  # the largest original accepted (a 50 MP JPEG is ~20 MiB)
DEFAULT_MAX_PIXELS = 50_000_000  # well below Pillow's own bomb limit (~89 MP)
DEFAULT_UPLOAD_EXPIRY_SECONDS = 10 * 60
MAX_UPLOAD_EXPIRY_SECONDS = 15 * 60  # a form is a capability: short-lived by design
DEFAULT_VARIANT_URL_EXPIRY_SECONDS = 60 * 60
DEFAULT_CONTAINER_PORT = 8000
# How long an upload event can still arrive: the queue keeps a message 4 days and its DLQ 14 (SQS counts
# a standard queue's DLQ retention from the first enqueue, but a redrive re-enqueues), so the pending
# record must outlive both, or the worker would find no record for an original and it would be orphaned.
UPLOAD_QUEUE_RETENTION_DAYS = 4
DEAD_LETTER_RETENTION_DAYS = 14
DEFAULT_PENDING_EXPIRY_SECONDS = (UPLOAD_QUEUE_RETENTION_DAYS + DEAD_LETTER_RETENTION_DAYS + 1) * 24 * 3600
# A rejected image's original is kept this long (its reason can be investigated), then expires by the
# uploads bucket's lifecycle rule on the tag the housekeeping function sets.
REJECTED_ORIGINAL_DAYS = 7
DISCARD_TAG = ("photo-pipeline:discard", "rejected")
# One post's declared bytes together (each form binds its item's exact size, so this caps what a post can
# make the pipeline store and decode): 20 phone photos of 6 MiB fit; 20 of the 25 MiB maximum do not.
DEFAULT_MAX_BATCH_BYTES = 120 * MIB
DEFAULT_FORMS_PER_MINUTE = 120  # six full posts a minute per user; a script hits it, a person does not
TOKEN_USE_ACCESS = "access"  # noqa: S105 - a claim value, not a secret
# What a browser on a configured origin may send: the app (Fargate) and API Gateway (Lambda) both answer
# preflights with exactly these.
CORS_ALLOWED_METHODS = ("GET", "POST", "DELETE")
CORS_ALLOWED_HEADERS = ("authorization", "content-type", "idempotency-key")
CORS_MAX_AGE_SECONDS = 600
# The upload-quota table (the stacks create it, the API counts forms in it, items expire by TTL).
QUOTA_TABLE_PARTITION_KEY = "pk"
QUOTA_TABLE_TTL_ATTRIBUTE = "expires_at"
# The ALB closes idle connections after this; the server keeps them open longer, so the ALB never sends
# a request down a connection the server is closing (intermittent 502s otherwise).
ALB_IDLE_TIMEOUT_SECONDS = 60
SERVER_KEEP_ALIVE_SECONDS = 75
RESIZE_SERVICE_NAME = "resize"
ALTERNATES_SERVICE_NAME = "alternates"  # the second step (photo_contract.alternates)
# Lambda sets this itself (a reserved name: the stacks never write it); the worker sizes its memory
# budget and time reserve by it.
LAMBDA_MEMORY_VARIABLE = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
# The resize function's own metrics (Powertools EMF; dimension service=RESIZE_SERVICE_NAME), alarmed on.
METRICS_NAMESPACE = "PhotoPipeline"
PROCESSING_FAILURES_METRIC = "ProcessingFailures"
REJECTIONS_BY_REASON_METRIC = "RejectionsByReason"  # with a "reason" dimension besides "service"


def check_upload_expiry(seconds: int) -> None:
    if not 1 <= seconds <= MAX_UPLOAD_EXPIRY_SECONDS:
        raise ValueError(f"upload expiry must be 1..{MAX_UPLOAD_EXPIRY_SECONDS} seconds, got {seconds}")


def check_positive(name: str, value: int) -> None:
    if value < 1:
        raise ValueError(f"{name} must be positive, got {value}")


def _need(env: Mapping[str, str], name: str) -> str:
    value = env.get(name)
    if not value:
        raise ValueError(f"environment variable {name} is required")
    return value


MODERATOR_REKOGNITION = "rekognition"
MODERATOR_LOCAL = "local"


@dataclass(frozen=True, kw_only=True)
class WorkerEnvironment:
    """What the resize function is told (``resize_worker.settings`` reads it)."""

    media_bucket: str
    registry_table: str
    event_bus_name: str
    max_source_bytes: int = DEFAULT_MAX_SOURCE_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    variants: tuple[VariantSpec, ...] = FEED_VARIANTS
    # Where originals the worker will not process are sent to be settled (None: nothing removes them,
    # e.g. a library user's test; the stacks always set it).
    housekeeping_queue_url: str | None = None
    # Read from LAMBDA_MEMORY_VARIABLE, never written by to_env (Lambda refuses reserved names).
    memory_mib: int | None = None
    receipt_policy: ReceiptPolicy = field(default_factory=ReceiptPolicy)
    moderation: ModerationPolicy = field(default_factory=ModerationPolicy)  # no rules: off
    moderator: str = MODERATOR_REKOGNITION  # or MODERATOR_LOCAL: the local runner's stand-in
    # Two steps: the resize function makes each variant's own encoding (JPEG) and queues the alternates
    # here for the alternates function (None: one step makes everything).
    alternates_queue_url: str | None = None

    def __post_init__(self) -> None:
        if self.moderator not in (MODERATOR_REKOGNITION, MODERATOR_LOCAL):
            raise ValueError(
                f"moderator must be {MODERATOR_REKOGNITION} or {MODERATOR_LOCAL}, got {self.moderator!r}"
            )
        for name in ("media_bucket", "registry_table", "event_bus_name"):
            if not getattr(self, name):
                raise ValueError(f"{name} is required")
        if self.memory_mib is not None:
            check_positive("memory_mib", self.memory_mib)
        check_positive("max_source_bytes", self.max_source_bytes)
        check_positive("max_pixels", self.max_pixels)
        if not self.variants:
            raise ValueError("variants must name at least one variant")

    def to_env(self) -> dict[str, str]:
        written = {
            "MEDIA_BUCKET": self.media_bucket,
            "REGISTRY_TABLE": self.registry_table,
            "EVENT_BUS_NAME": self.event_bus_name,
            "MAX_SOURCE_BYTES": str(self.max_source_bytes),
            "MAX_PIXELS": str(self.max_pixels),
            "VARIANTS": variants_to_json(self.variants),
            "POWERTOOLS_SERVICE_NAME": RESIZE_SERVICE_NAME,
            "HOUSEKEEPING_QUEUE_URL": self.housekeeping_queue_url,
            "RECEIPT_KEEPS": self.receipt_policy.to_env(),
            "MODERATION": self.moderation.to_env(),
            "MODERATOR": self.moderator,
            "ALTERNATES_QUEUE_URL": self.alternates_queue_url,
        }
        return {name: value for name, value in written.items() if value is not None}

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WorkerEnvironment:
        return cls(
            media_bucket=_need(env, "MEDIA_BUCKET"),
            registry_table=_need(env, "REGISTRY_TABLE"),
            event_bus_name=_need(env, "EVENT_BUS_NAME"),
            max_source_bytes=int(env.get("MAX_SOURCE_BYTES", DEFAULT_MAX_SOURCE_BYTES)),
            max_pixels=int(env.get("MAX_PIXELS", DEFAULT_MAX_PIXELS)),
            variants=variants_from_json(env["VARIANTS"]) if env.get("VARIANTS") else FEED_VARIANTS,
            housekeeping_queue_url=env.get("HOUSEKEEPING_QUEUE_URL") or None,
            alternates_queue_url=env.get("ALTERNATES_QUEUE_URL") or None,
            memory_mib=int(env[LAMBDA_MEMORY_VARIABLE]) if env.get(LAMBDA_MEMORY_VARIABLE) else None,
            receipt_policy=ReceiptPolicy.from_env(env.get("RECEIPT_KEEPS", "")),
            moderation=ModerationPolicy.from_env(env.get("MODERATION", "")),
            moderator=env.get("MODERATOR") or MODERATOR_REKOGNITION,
        )


@dataclass(frozen=True, kw_only=True)
class ApiEnvironment:
    """What both API runtimes are told (``upload_api.settings`` reads it).

    Exactly one of ``jwks_url`` (deployed: the issuer's key endpoint) and ``jwks_json`` (a local issuer's
    key set) names the token keys. ``region`` is read from ``AWS_REGION``, which Lambda sets itself and
    the container is given (see ``container_env``).
    """

    uploads_bucket: str
    media_bucket: str
    registry_table: str
    event_bus_name: str
    jwt_issuer: str
    jwt_audience: str
    jwks_url: str | None = None
    jwks_json: str | None = None
    max_upload_bytes: int = DEFAULT_MAX_SOURCE_BYTES
    upload_expiry_seconds: int = DEFAULT_UPLOAD_EXPIRY_SECONDS
    region: str | None = None
    public_media_base_url: str | None = None  # e.g. a CDN in front of the media bucket
    endpoint_url: str | None = None  # a local emulator for every AWS service the API calls
    # Only these token types are accepted (Cognito's access tokens); None: an issuer without the claim.
    jwt_token_use: str | None = TOKEN_USE_ACCESS
    cors_allowed_origins: tuple[str, ...] = ()
    expose_docs: bool = False  # /docs, /redoc and /openapi.json
    # Per-owner cap on upload forms, counted in this table (None: no cap, e.g. a library user's test).
    quota_table: str | None = None
    forms_per_minute: int = DEFAULT_FORMS_PER_MINUTE
    max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES
    # A pending record whose upload never arrives expires with the abandoned-upload lifecycle rule.
    pending_expiry_seconds: int = DEFAULT_PENDING_EXPIRY_SECONDS
    # Signed delivery: the Secrets Manager secret naming the active CloudFront key pair and holding its
    # private key (never the key itself: not in a template, not in a variable; docs/delivery.md).
    cdn_signing_secret: str | None = None
    cdn_url_ttl_seconds: int = DEFAULT_VARIANT_URL_EXPIRY_SECONDS
    # The CloudFront distribution serving the variants: a deleted image's paths are invalidated there
    # (None: no CDN in front, e.g. a library user's test or presigned S3 URLs).
    cdn_distribution_id: str | None = None
    # Where an account erasure runs as a job (None: DELETE /v1/me/images is refused as unavailable).
    housekeeping_queue_url: str | None = None
    # The smallest source that loses nothing (GET /v1/upload-config tells phones): from the variant spec.
    useful_source: UsefulSource = field(default_factory=lambda: useful_source(FEED_VARIANTS))

    def __post_init__(self) -> None:
        for name in (
            "uploads_bucket",
            "media_bucket",
            "registry_table",
            "event_bus_name",
            "jwt_issuer",
            "jwt_audience",
        ):
            if not getattr(self, name):
                raise ValueError(f"{name} is required")
        if (self.jwks_url is None) == (self.jwks_json is None):
            raise ValueError("exactly one of jwks_url and jwks_json is required")
        check_positive("max_upload_bytes", self.max_upload_bytes)
        check_upload_expiry(self.upload_expiry_seconds)
        check_positive("forms_per_minute", self.forms_per_minute)
        if self.max_batch_bytes < self.max_upload_bytes:
            raise ValueError(
                f"max_batch_bytes ({self.max_batch_bytes}) must allow one largest upload ({self.max_upload_bytes})"
            )
        check_positive("cdn_url_ttl_seconds", self.cdn_url_ttl_seconds)
        for origin in self.cors_allowed_origins:
            if not origin.startswith(("https://", "http://")) or "," in origin or origin.endswith("/"):
                raise ValueError(f"a CORS origin is scheme://host[:port] without a path, got {origin!r}")

    def to_env(self) -> dict[str, str]:
        written = {
            "UPLOADS_BUCKET": self.uploads_bucket,
            "MEDIA_BUCKET": self.media_bucket,
            "REGISTRY_TABLE": self.registry_table,
            "EVENT_BUS_NAME": self.event_bus_name,
            "PENDING_EXPIRY_SECONDS": str(self.pending_expiry_seconds),
            "MAX_UPLOAD_BYTES": str(self.max_upload_bytes),
            "UPLOAD_EXPIRY_SECONDS": str(self.upload_expiry_seconds),
            "JWT_ISSUER": self.jwt_issuer,
            "JWT_AUDIENCE": self.jwt_audience,
            "JWKS_URL": self.jwks_url,
            "JWKS_JSON": self.jwks_json,
            "PUBLIC_MEDIA_BASE_URL": self.public_media_base_url,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "JWT_TOKEN_USE": self.jwt_token_use or "",
            "CORS_ALLOWED_ORIGINS": ",".join(self.cors_allowed_origins),
            "API_DOCS": "1" if self.expose_docs else "0",
            "QUOTA_TABLE": self.quota_table,
            "FORMS_PER_MINUTE": str(self.forms_per_minute),
            "MAX_BATCH_BYTES": str(self.max_batch_bytes),
            "CDN_SIGNING_SECRET": self.cdn_signing_secret,
            "CDN_URL_TTL_SECONDS": str(self.cdn_url_ttl_seconds),
            "CDN_DISTRIBUTION_ID": self.cdn_distribution_id,
            "HOUSEKEEPING_QUEUE_URL": self.housekeeping_queue_url,
            "USEFUL_SOURCE": f"{self.useful_source.width}x{self.useful_source.height}",
        }
        return {name: value for name, value in written.items() if value is not None}

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ApiEnvironment:
        useful = env.get("USEFUL_SOURCE")
        return cls(
            uploads_bucket=_need(env, "UPLOADS_BUCKET"),
            media_bucket=_need(env, "MEDIA_BUCKET"),
            registry_table=_need(env, "REGISTRY_TABLE"),
            event_bus_name=_need(env, "EVENT_BUS_NAME"),
            pending_expiry_seconds=int(env.get("PENDING_EXPIRY_SECONDS", DEFAULT_PENDING_EXPIRY_SECONDS)),
            jwt_issuer=_need(env, "JWT_ISSUER"),
            jwt_audience=_need(env, "JWT_AUDIENCE"),
            jwks_url=env.get("JWKS_URL") or None,
            jwks_json=env.get("JWKS_JSON") or None,
            max_upload_bytes=int(env.get("MAX_UPLOAD_BYTES", DEFAULT_MAX_SOURCE_BYTES)),
            upload_expiry_seconds=int(env.get("UPLOAD_EXPIRY_SECONDS", DEFAULT_UPLOAD_EXPIRY_SECONDS)),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            public_media_base_url=env.get("PUBLIC_MEDIA_BASE_URL") or None,
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            jwt_token_use=env.get("JWT_TOKEN_USE", TOKEN_USE_ACCESS) or None,
            cors_allowed_origins=tuple(o for o in env.get("CORS_ALLOWED_ORIGINS", "").split(",") if o),
            expose_docs=env.get("API_DOCS", "0") == "1",
            quota_table=env.get("QUOTA_TABLE") or None,
            forms_per_minute=int(env.get("FORMS_PER_MINUTE", DEFAULT_FORMS_PER_MINUTE)),
            max_batch_bytes=int(env.get("MAX_BATCH_BYTES", DEFAULT_MAX_BATCH_BYTES)),
            cdn_signing_secret=env.get("CDN_SIGNING_SECRET") or None,
            cdn_url_ttl_seconds=int(env.get("CDN_URL_TTL_SECONDS", DEFAULT_VARIANT_URL_EXPIRY_SECONDS)),
            cdn_distribution_id=env.get("CDN_DISTRIBUTION_ID") or None,
            housekeeping_queue_url=env.get("HOUSEKEEPING_QUEUE_URL") or None,
            **({"useful_source": _useful_source(useful)} if useful else {}),
        )


def _useful_source(text: str) -> UsefulSource:
    width, _, height = text.partition("x")
    return UsefulSource(width=int(width), height=int(height))


HOUSEKEEPING_SERVICE_NAME = "housekeeping"


@dataclass(frozen=True, kw_only=True)
class HousekeepingEnvironment:
    """What the housekeeping function is told (``resize_worker.housekeeping_handler`` reads it)."""

    uploads_bucket: str
    media_bucket: str
    registry_table: str
    event_bus_name: str
    queue_url: str  # its own queue: paged tasks send their next page there
    cdn_distribution_id: str | None = None
    endpoint_url: str | None = None  # a local emulator

    def __post_init__(self) -> None:
        for name in ("uploads_bucket", "media_bucket", "registry_table", "event_bus_name", "queue_url"):
            if not getattr(self, name):
                raise ValueError(f"{name} is required")

    def to_env(self) -> dict[str, str]:
        written = {
            "UPLOADS_BUCKET": self.uploads_bucket,
            "MEDIA_BUCKET": self.media_bucket,
            "REGISTRY_TABLE": self.registry_table,
            "EVENT_BUS_NAME": self.event_bus_name,
            "HOUSEKEEPING_QUEUE_URL": self.queue_url,
            "CDN_DISTRIBUTION_ID": self.cdn_distribution_id,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "POWERTOOLS_SERVICE_NAME": HOUSEKEEPING_SERVICE_NAME,
        }
        return {name: value for name, value in written.items() if value is not None}

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> HousekeepingEnvironment:
        return cls(
            uploads_bucket=_need(env, "UPLOADS_BUCKET"),
            media_bucket=_need(env, "MEDIA_BUCKET"),
            registry_table=_need(env, "REGISTRY_TABLE"),
            event_bus_name=_need(env, "EVENT_BUS_NAME"),
            queue_url=_need(env, "HOUSEKEEPING_QUEUE_URL"),
            cdn_distribution_id=env.get("CDN_DISTRIBUTION_ID") or None,
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        )


def container_env(*, region: str, port: int = DEFAULT_CONTAINER_PORT) -> dict[str, str]:
    """What the container needs beyond ``ApiEnvironment``: Lambda sets the region itself, ECS does not."""
    return {"AWS_REGION": region, "PORT": str(port)}


def container_port(env: Mapping[str, str]) -> int:
    return int(env.get("PORT", DEFAULT_CONTAINER_PORT))
