"""Per-environment settings. Frozen and keyword-only; ``app.py`` alone picks one with ``-c env=NAME``."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from photo_contract.budget import check_budget
from photo_contract.moderation import DEFAULT_POLICY as DEFAULT_MODERATION
from photo_contract.moderation import ModerationPolicy
from photo_contract.receipt import ReceiptPolicy
from photo_contract.runtime import (
    DEFAULT_FORMS_PER_MINUTE,
    DEFAULT_MAX_BATCH_BYTES,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_SOURCE_BYTES,
    DEFAULT_UPLOAD_EXPIRY_SECONDS,
    check_upload_expiry,
)
from photo_contract.variants import DEFAULT_SOURCE_MARGIN, FEED_VARIANTS, VariantSpec


class Architecture(StrEnum):
    ARM_64 = "arm64"
    X86_64 = "x86_64"

    @property
    def pip_platforms(self) -> tuple[str, ...]:
        """Wheel tags for ``pip --platform``; Pillow 13 ships only manylinux_2_28, others still 2014."""
        machine = "aarch64" if self is Architecture.ARM_64 else "x86_64"
        return (f"manylinux_2_28_{machine}", f"manylinux2014_{machine}")

    @property
    def docker_platform(self) -> str:
        return "linux/arm64" if self is Architecture.ARM_64 else "linux/amd64"


# Graviton: ~20% cheaper per GB-second than x86_64, and Pillow's wheels exist for both.
DEFAULT_ARCHITECTURE = Architecture.ARM_64
# The newest Lambda Python this machine can verify a built layer on (pyenv has 3.13).
DEFAULT_PYTHON_VERSION = "3.13"


@dataclass(frozen=True, kw_only=True)
class AlternatesConfig:
    """The second step (photo_contract.alternates): an image is ready with its JPEGs; this function,
    on its own queue, adds the AVIF alternates. Its own budget, checked like the first step's."""

    memory_mib: int = 1024
    timeout_seconds: int = 75
    reserved_concurrency: int = 5
    batch_size: int = 5


@dataclass(frozen=True, kw_only=True)
class ResizeConfig:
    architecture: Architecture = DEFAULT_ARCHITECTURE
    python_version: str = DEFAULT_PYTHON_VERSION
    memory_mib: int = 1024
    # Fits a full batch of the slowest legal images at this memory (checked below; make bench measures).
    timeout_seconds: int = 75
    reserved_concurrency: int = 10
    max_receive_count: int = 5
    batch_size: int = 10
    max_source_bytes: int = DEFAULT_MAX_SOURCE_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    variants: tuple[VariantSpec, ...] = FEED_VARIANTS
    # Phones are told to keep this much more than today's variants read (GET /v1/upload-config), so a
    # larger variant added later can still be made at full quality from what they uploaded.
    source_margin: float = DEFAULT_SOURCE_MARGIN
    # Reprocessing (make reprocess): its own function, at most this many at once, so it never takes the
    # live upload queue's concurrency; the run fails when more than this share of items fail.
    reprocess_concurrency: int = 10
    reprocess_tolerated_failure_percentage: float = 5.0
    # What each image's privacy receipt keeps beyond the capture time: off unless an app needs it.
    receipt: ReceiptPolicy = field(default_factory=ReceiptPolicy)
    # Moderation rules (Rekognition DetectModerationLabels on each new image); no rules: off.
    moderation: ModerationPolicy = field(default_factory=ModerationPolicy)
    # Two steps: ready with the JPEGs, the alternates after (None: one function makes everything).
    alternates: AlternatesConfig | None = field(default_factory=AlternatesConfig)

    def __post_init__(self) -> None:
        if not 1 <= self.reprocess_concurrency <= 1000:
            raise ValueError(f"reprocess_concurrency must be 1..1000, got {self.reprocess_concurrency}")
        if not 0 <= self.reprocess_tolerated_failure_percentage <= 100:
            raise ValueError("reprocess_tolerated_failure_percentage must be 0..100")
        if not 128 <= self.memory_mib <= 10240:
            raise ValueError(f"memory_mib must be 128..10240, got {self.memory_mib}")
        if not 1 <= self.timeout_seconds <= 900:
            raise ValueError(f"timeout_seconds must be 1..900, got {self.timeout_seconds}")
        if self.max_receive_count < 5:
            raise ValueError(f"max_receive_count must be at least 5, got {self.max_receive_count}")
        # Every legal image fits in memory, a full batch in time (photo_contract.budget, make bench), in
        # each step: the JPEG step is held to the whole core's measured worst case (an upper bound).
        steps = [(self.memory_mib, self.timeout_seconds, self.batch_size)]
        if self.alternates is not None:
            steps.append(
                (self.alternates.memory_mib, self.alternates.timeout_seconds, self.alternates.batch_size)
            )
        for memory_mib, timeout_seconds, batch_size in steps:
            check_budget(
                memory_mib=memory_mib,
                timeout_seconds=timeout_seconds,
                batch_size=batch_size,
                max_pixels=self.max_pixels,
                max_source_bytes=self.max_source_bytes,
            )


class OriginalsStorageClass(StrEnum):
    """Where originals may move to: only classes S3 reads back at once (no restore), so reprocessing,
    a re-post's copy and a delete work on a moved original as on any other."""

    STANDARD_IA = "STANDARD_IA"
    INTELLIGENT_TIERING = "INTELLIGENT_TIERING"
    GLACIER_IR = "GLACIER_IR"


@dataclass(frozen=True, kw_only=True)
class OriginalsTransition:
    """A lifecycle rule for originals: only reprocessing reads them after the first minutes, and they
    are over 90% of what the bucket stores (make cost shows the month-12 bill with and without)."""

    storage_class: OriginalsStorageClass
    after_days: int

    def __post_init__(self) -> None:
        # S3 refuses a transition to Standard-IA before 30 days.
        minimum = 30 if self.storage_class is OriginalsStorageClass.STANDARD_IA else 0
        if self.after_days < minimum:
            raise ValueError(f"{self.storage_class} needs after_days >= {minimum}, got {self.after_days}")


class CognitoFeaturePlan(StrEnum):
    """Cognito's feature plan, set explicitly: a pool created without one gets Essentials, at almost
    three times Lite's price per monthly active user (make cost, identity line)."""

    LITE = "LITE"
    ESSENTIALS = "ESSENTIALS"
    PLUS = "PLUS"


@dataclass(frozen=True, kw_only=True)
class ExternalIssuer:
    """An existing OIDC issuer (instead of the Cognito pool the stacks create)."""

    issuer: str
    audience: str
    jwks_url: str
    # Checked against the token's token_use claim when the issuer sets one (Cognito: "access").
    token_use: str | None = None


@dataclass(frozen=True, kw_only=True)
class FargateConfig:
    enabled: bool = False
    min_tasks: int = 2
    max_tasks: int = 6
    cpu: int = 512
    memory_mib: int = 1024
    # 1 or 2: tasks in private subnets behind that many NAT gateways (2: one per AZ, an AZ's outage
    # keeps the other's egress). 0: no NAT, tasks in the public subnets with public IPs (docs/cost.md
    # says what that gives up).
    nat_gateways: int = 1
    # A DynamoDB gateway endpoint: the tasks' registry traffic skips the NAT (and its per-GB charge).
    dynamodb_endpoint: bool = True
    # Required when enabled: the ALB serves HTTPS only (port 80 answers with a redirect, never a task).
    certificate_arn: str | None = None
    deletion_protection: bool = False  # the ALB cannot be deleted by accident (prod)
    # Fargate Spot: tasks beyond on_demand_base go to Spot and on-demand in the ratio spot_weight :
    # on_demand_weight (0: on-demand only). make cost shows what it saves.
    spot_weight: int = 0
    on_demand_weight: int = 1
    on_demand_base: int = 1
    # The API image to run, from `-c image_tag=…` (make image pushes one and prints its tag). None: the
    # Service stack is left out, so a first deploy never rolls out an image that does not exist yet.
    image_tag: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.min_tasks <= self.max_tasks:
            raise ValueError(f"need 1 <= min_tasks <= max_tasks, got {self.min_tasks}..{self.max_tasks}")
        if not 0 <= self.nat_gateways <= 2:
            raise ValueError(f"nat_gateways must be 0, 1 or 2 (two AZs), got {self.nat_gateways}")


@dataclass(frozen=True, kw_only=True)
class ApiConfig:
    upload_expiry_seconds: int = DEFAULT_UPLOAD_EXPIRY_SECONDS
    throttle_rate_per_second: int = 50
    throttle_burst: int = 100
    issuer: ExternalIssuer | None = None  # None: the storage stack creates a Cognito user pool
    fargate: FargateConfig = field(default_factory=FargateConfig)
    expose_docs: bool = False  # /docs, /redoc and /openapi.json (a development aid, not a public surface)
    forms_per_minute: int = DEFAULT_FORMS_PER_MINUTE  # per owner, counted across every instance
    max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES  # one post's declared sizes together
    # The Lambda API's reserved concurrency: rate x duration is ~10 at 200 rps and 50 ms, but a dependency
    # slowing every call to the 10 s timeout would need 2,000, past the default account limit of 1,000;
    # the cap keeps that from taking the account's pool (the resize worker has its own reservation).
    reserved_concurrency: int = 50
    # Self sign-ups a day (UTC) the user pool admits: each new account brings its own upload quota, so
    # without a cap the account's bill has none (None: unlimited; an external issuer: its business).
    signups_per_day: int | None = 1_000
    # The user pool's feature plan (the stacks' own pool only; an external issuer bills elsewhere).
    cognito_plan: CognitoFeaturePlan = CognitoFeaturePlan.LITE
    # The WAF's per-IP rate rule on the ALB (a 5-minute window, WAFv2's unit; 10 a minute minimum).
    waf_requests_per_ip_per_5_minutes: int = 1_500

    def __post_init__(self) -> None:
        check_upload_expiry(self.upload_expiry_seconds)
        if not 10 <= self.waf_requests_per_ip_per_5_minutes <= 2_000_000_000:
            raise ValueError("waf_requests_per_ip_per_5_minutes must be 10..2e9 (WAFv2's range)")
        if self.reserved_concurrency < 1:
            raise ValueError(f"reserved_concurrency must be positive, got {self.reserved_concurrency}")
        if self.forms_per_minute < 20:
            raise ValueError(f"forms_per_minute must allow one full post (20), got {self.forms_per_minute}")


@dataclass(frozen=True, kw_only=True)
class CdnConfig:
    """The CloudFront distribution in front of the media bucket (variants are served only through it)."""

    price_class: str = "PRICE_CLASS_100"  # PRICE_CLASS_100 (EU, N. America) | _200 | _ALL
    logging: bool = True  # standard access logs, 90 days
    # "public": unguessable capability URLs; "signed": CloudFront signed URLs, verified at the edge
    # with this public key (its private half goes into the Secrets Manager secret the stack creates).
    access: str = "public"
    # Signed mode's public keys (PEM): one, or two while a rotation runs (docs/delivery.md: add the new
    # key, point the secret at it, remove the old one). Each is a CloudFront public key in the key group.
    public_keys: tuple[str, ...] = ()
    signed_url_ttl_seconds: int = 3600
    # Optional own domain(s), e.g. ("media.example.com",): CloudFront needs their ACM certificate in
    # us-east-1, whatever the stack's region; then TLS 1.2 is the minimum and URLs use the first name.
    domain_names: tuple[str, ...] = ()
    certificate_arn: str | None = None
    # A WAFv2 web ACL in front of the distribution (its own stack in us-east-1, CloudFront's region for
    # WAF) blocks an IP past this many requests in 5 minutes. High: a feed page is dozens of variants,
    # and a mobile carrier's NAT puts many users behind one address. None: no WAF (dev).
    waf_requests_per_ip_per_5_minutes: int | None = None

    def __post_init__(self) -> None:
        waf = self.waf_requests_per_ip_per_5_minutes
        if waf is not None and not 10 <= waf <= 2_000_000_000:
            raise ValueError("cdn.waf_requests_per_ip_per_5_minutes must be 10..2e9 (WAFv2's range)")
        if bool(self.domain_names) != (self.certificate_arn is not None):
            raise ValueError("cdn domain_names and certificate_arn go together (one needs the other)")
        if self.certificate_arn is not None and not self.certificate_arn.startswith("arn:aws:acm:us-east-1:"):
            raise ValueError(
                f"a CloudFront certificate must be an ACM certificate in us-east-1, got {self.certificate_arn!r}"
            )
        if self.access not in ("public", "signed"):
            raise ValueError(f"cdn access must be 'public' or 'signed', got {self.access!r}")
        if (self.access == "signed") != bool(self.public_keys):
            raise ValueError("cdn access 'signed' needs public_keys (and 'public' takes none)")
        if len(set(self.public_keys)) != len(self.public_keys) or len(self.public_keys) > 2:
            raise ValueError("cdn public_keys: one key, or two distinct keys during a rotation")
        if self.price_class not in ("PRICE_CLASS_100", "PRICE_CLASS_200", "PRICE_CLASS_ALL"):
            raise ValueError(f"price_class must be PRICE_CLASS_100, _200 or _ALL, got {self.price_class!r}")


@dataclass(frozen=True, kw_only=True)
class EnvironmentConfig:
    name: str
    account: str | None = None
    region: str | None = None
    # Browser uploads POST straight to the uploads bucket from these origins.
    cors_allowed_origins: tuple[str, ...] = ()
    retain_data: bool = False  # prod keeps buckets when a stack is deleted
    log_retention_days: int = 30
    abandoned_upload_days: int = 1
    # None: originals stay in S3 Standard.
    originals_transition: OriginalsTransition | None = None
    resize: ResizeConfig = field(default_factory=ResizeConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    cdn: CdnConfig = field(default_factory=CdnConfig)
    # Who hears the alarms (every alarm notifies on ALARM and OK); an email and/or an https webhook.
    alarm_emails: tuple[str, ...] = ()
    alarm_webhook_url: str | None = None

    def __post_init__(self) -> None:
        if not self.alarm_emails and not self.alarm_webhook_url:
            raise ValueError(f"environment {self.name!r} must name alarm_emails or alarm_webhook_url")
        if not self.name.isalnum() or not self.name.islower():
            raise ValueError(f"environment name must be lowercase alphanumeric, got {self.name!r}")
        if self.api.fargate.enabled and not self.region:
            raise ValueError(f"environment {self.name!r} runs the Fargate service and must name its region")
        if self.api.fargate.enabled and not self.api.fargate.certificate_arn:
            raise ValueError(
                f"environment {self.name!r} runs the Fargate service and must name "
                "api.fargate.certificate_arn: an ACM certificate for the API's domain, in its region "
                "(bearer tokens never cross the internet in clear text)"
            )

    @property
    def stack_prefix(self) -> str:
        return f"photo-pipeline-{self.name}"


# Placeholders to replace with your own before a deploy, as every *.photo-pipeline.example name below:
# the ACM certificate of the API's domain and prod's media domain (us-east-1, CloudFront's); staging
# and prod also need their account. `make preflight ENV=…` lists what is left; synth of staging and
# prod refuses to go on while anything is.
_EXAMPLE_CERTIFICATE = "arn:aws:acm:{region}:111122223333:certificate/example-{id}"

ENVIRONMENTS: dict[str, EnvironmentConfig] = {
    "dev": EnvironmentConfig(
        name="dev",
        cors_allowed_origins=("http://localhost:8000", "http://127.0.0.1:8000"),
        alarm_emails=("dev-alerts@photo-pipeline.example",),
        log_retention_days=7,
        resize=ResizeConfig(reserved_concurrency=5),
        api=ApiConfig(expose_docs=True),
    ),
    # Environments with the Fargate service name their region: ALB access logging needs one.
    "staging": EnvironmentConfig(
        name="staging",
        region="eu-west-1",
        cors_allowed_origins=("https://staging.photo-pipeline.example",),
        alarm_emails=("staging-alerts@photo-pipeline.example",),
        log_retention_days=30,
        resize=ResizeConfig(reserved_concurrency=10, moderation=DEFAULT_MODERATION),
        cdn=CdnConfig(waf_requests_per_ip_per_5_minutes=20_000),
        api=ApiConfig(
            fargate=FargateConfig(
                enabled=True,
                min_tasks=1,
                max_tasks=2,
                nat_gateways=1,
                certificate_arn=_EXAMPLE_CERTIFICATE.format(region="eu-west-1", id="staging-api"),
                spot_weight=3,  # staging: one on-demand task, the rest mostly Spot
            )
        ),
    ),
    "prod": EnvironmentConfig(
        name="prod",
        region="eu-west-1",
        cors_allowed_origins=("https://app.photo-pipeline.example",),
        alarm_emails=("oncall@photo-pipeline.example",),
        retain_data=True,
        # Originals past their first month: read again only by a reprocess (0.03 USD/GB to retrieve).
        originals_transition=OriginalsTransition(
            storage_class=OriginalsStorageClass.GLACIER_IR, after_days=30
        ),
        log_retention_days=90,  # ids and client IPs in logs: as long as an incident review needs (privacy.md)
        cdn=CdnConfig(
            price_class="PRICE_CLASS_ALL",
            domain_names=("media.photo-pipeline.example",),
            certificate_arn=_EXAMPLE_CERTIFICATE.format(region="us-east-1", id="prod-media"),
            waf_requests_per_ip_per_5_minutes=20_000,
        ),
        resize=ResizeConfig(
            memory_mib=1536, timeout_seconds=55, reserved_concurrency=50, moderation=DEFAULT_MODERATION
        ),
        api=ApiConfig(
            throttle_rate_per_second=200,
            throttle_burst=400,
            reserved_concurrency=100,
            fargate=FargateConfig(
                enabled=True,
                min_tasks=2,
                max_tasks=10,
                nat_gateways=2,
                certificate_arn=_EXAMPLE_CERTIFICATE.format(region="eu-west-1", id="prod-api"),
                deletion_protection=True,
            ),
        ),
    ),
}


def environment_config(name: str | None) -> EnvironmentConfig:
    """The named environment, or a ValueError that lists the known names."""
    if name is None:
        raise ValueError(
            f"choose an environment with -c env=NAME, one of: {', '.join(ENVIRONMENTS)} "
            "(cdk bootstrap too: npx cdk bootstrap -c env=dev)"
        )
    try:
        return ENVIRONMENTS[name]
    except KeyError:
        raise ValueError(
            f"unknown environment {name!r}; expected one of: {', '.join(ENVIRONMENTS)}"
        ) from None
