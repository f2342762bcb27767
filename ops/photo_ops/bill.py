"""The whole bill of a traffic scenario, month by month: delivery, storage, processing, moderation, the
API runtime, identity, network, idle, logs and monitoring. Pure functions of an environment's config,
what ``make bench`` measured, the prices and a :class:`Scenario` (``scenarios.toml``); ``cost.py``
prints them. Every figure assumed rather than priced or measured is a field of ``Assumptions``.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from photo_pipeline_cdk.config import (
    CognitoFeaturePlan,
    EnvironmentConfig,
    OriginalsStorageClass,
    OriginalsTransition,
)

from photo_ops.cost import (
    SECONDS_PER_MONTH,
    Assumptions,
    Measured,
    fargate_tasks_usd,
    per_million_images,
    worker_gb_seconds_per_image,
    worker_ms_per_image,
)
from photo_ops.prices import Prices

SCENARIOS = Path(__file__).with_name("scenarios.toml")
DAYS_PER_MONTH = 30.4
GIB = 1024**3

# The bill's lines, in the order printed and stacked.
LINES = (
    "delivery",
    "storage",
    "processing",
    "moderation",
    "API runtime",
    "identity",
    "network",
    "idle",
    "logs and monitoring",
)

# CloudFront's edge regions as the model groups them, and the price key each is billed at.
REGION_RATE = {
    "na_eu": "na_eu",
    "asia": "asia",
    "japan": "japan_oceania",
    "oceania": "japan_oceania",
    "india": "india",
    "south_america": "south_america",
    "middle_east_africa": "middle_east_africa",
}
# Where a price class sends a region it leaves out (its viewers are served, and billed, there).
PRICE_CLASS_FOLD = {
    "PRICE_CLASS_100": {r: "na_eu" for r in REGION_RATE},
    "PRICE_CLASS_200": {**{r: r for r in REGION_RATE}, "south_america": "na_eu", "oceania": "asia"},
    "PRICE_CLASS_ALL": {r: r for r in REGION_RATE},
}
# North America and Europe's volume tiers: (TB in the tier, price key); beyond the last, its rate.
NA_EU_TIERS = (
    (10, "na_eu_per_gb"),
    (40, "na_eu_per_gb_next_40tb"),
    (100, "na_eu_per_gb_next_100tb"),
    (350, "na_eu_per_gb_next_350tb"),
)
FLAT_RATE_PLANS = ("pro", "business", "premium")


@dataclass(frozen=True, kw_only=True)
class Scenario:
    name: str
    description: str
    uploads_per_month: float
    monthly_growth: float
    photos_per_post: float
    views_per_image: float
    view_mix: Mapping[str, float]
    monthly_active_users: float
    months_retained: int
    avif_share: float
    audience: Mapping[str, float]
    api_runtime: str

    def __post_init__(self) -> None:
        if self.api_runtime not in ("lambda", "fargate"):
            raise ValueError(f"{self.name}: api_runtime is 'lambda' or 'fargate', got {self.api_runtime!r}")
        if abs(sum(self.audience.values()) - 1) > 1e-6:
            raise ValueError(f"{self.name}: audience shares add up to {sum(self.audience.values())}, not 1")
        unknown = set(self.audience) - set(REGION_RATE)
        if unknown:
            raise ValueError(f"{self.name}: unknown audience regions {sorted(unknown)}")
        if not 0 <= self.avif_share <= 1 or self.photos_per_post < 1 or self.months_retained < 0:
            raise ValueError(f"{self.name}: avif_share 0..1, photos_per_post >= 1, months_retained >= 0")

    def uploads(self, month: int) -> float:
        return self.uploads_per_month * (1 + self.monthly_growth) ** (month - 1)

    def users(self, month: int) -> float:
        return self.monthly_active_users * (1 + self.monthly_growth) ** (month - 1)

    def cohorts(self, month: int) -> list[tuple[int, float]]:
        """(age in months, uploads) of every month's uploads still kept at ``month``."""
        first = 1 if self.months_retained == 0 else max(1, month - self.months_retained + 1)
        return [(month - k, self.uploads(k)) for k in range(first, month + 1)]


def load_scenarios(path: Path = SCENARIOS) -> tuple[dict[str, Scenario], dict[str, str]]:
    """Every named scenario, and the default scenario of each environment."""
    data = tomllib.loads(path.read_text())
    scenarios = {name: Scenario(name=name, **values) for name, values in data["scenario"].items()}
    return scenarios, dict(data["default"])


@dataclass(frozen=True, kw_only=True)
class BillAssumptions:
    """What the scenario bill assumes beyond ``cost.Assumptions``; printed with it."""

    api_requests_per_post: float = 6.0  # one POST /v1/uploads and five batch status reads
    api_requests_per_active_user: float = 20.0  # a month's lists, deletes and receipt reads
    registry_kib_per_request: float = 4.0  # DynamoDB bytes a task's request moves (both ways)
    other_aws_kib_per_request: float = 1.0  # EventBridge, SQS, Secrets Manager, JWKS: via the NAT
    log_bytes_per_request: float = 600.0  # the API's structured log line per request
    record_kib: float = 2.0  # one registry item with its variants and receipt
    cold_starts_per_million_requests: float = 200.0  # SnapStart restores on the Lambda API


@dataclass(frozen=True)
class Context:
    """Everything a month's bill is computed from but the scenario."""

    config: EnvironmentConfig
    measured: Measured
    prices: Prices
    assume: Assumptions
    bill: BillAssumptions
    api_memory_mib: int
    fixed: Mapping[str, float]  # idle and monitoring lines from the templates (cost.idle_lines)
    variant_kib: Mapping[tuple[str, str], float]  # (variant, format) -> KiB, formats benchmark
    pitr: bool = True
    cdn_waf_rules: int = 0


@dataclass(frozen=True)
class MonthBill:
    month: int
    lines: Mapping[str, float]
    detail: Mapping[str, str] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.lines.values())


# --- delivery -------------------------------------------------------------------------------------


def kib_per_view(ctx: Context, scenario: Scenario) -> float:
    """Bytes a feed view fetches: each variant of the mix, AVIF where the client takes it and the
    variant has an AVIF alternate, JPEG otherwise (the formats benchmark's medians)."""
    specs = {spec.name: spec for spec in ctx.config.resize.variants}
    total = 0.0
    for name, requests in scenario.view_mix.items():
        if name not in specs:
            raise ValueError(f"{scenario.name}: view_mix names {name!r}, not a variant of this spec")
        jpeg = ctx.variant_kib[(name, "jpeg")]
        has_avif = any(e.format.value == "avif" for e in specs[name].encodings)
        avif = ctx.variant_kib.get((name, "avif"), jpeg) if has_avif else jpeg
        total += requests * (scenario.avif_share * avif + (1 - scenario.avif_share) * jpeg)
    return total


def _tiered_na_eu(gb: float, prices: Prices) -> float:
    usd, left = 0.0, gb
    for tb, key in NA_EU_TIERS:
        taken = min(left, tb * 1024)
        usd += taken * prices("cloudfront", key)
        left -= taken
    return usd + left * prices("cloudfront", NA_EU_TIERS[-1][1])


def pay_as_you_go(ctx: Context, scenario: Scenario, views: float) -> float:
    """CloudFront data out and HTTPS requests for ``views``, each region at the rate its price class
    bills it; North America and Europe by volume tier, other regions at their first tier (dearest)."""
    fold = PRICE_CLASS_FOLD[ctx.config.cdn.price_class]
    requests = views * sum(scenario.view_mix.values())
    gb = views * kib_per_view(ctx, scenario) / 1024 / 1024
    billed: dict[str, float] = {}
    for region, share in scenario.audience.items():
        billed[fold[region]] = billed.get(fold[region], 0.0) + share
    usd = 0.0
    for region, share in billed.items():
        rate = REGION_RATE[region]
        usd += requests * share / 10_000 * ctx.prices("cloudfront", f"{rate}_https_per_ten_thousand")
        if region == "na_eu":
            usd += _tiered_na_eu(gb * share, ctx.prices)
        else:
            usd += gb * share * ctx.prices("cloudfront", f"{rate}_per_gb")
    return usd + cdn_waf_usd(ctx, requests)


def cdn_waf_usd(ctx: Context, requests: float) -> float:
    """The distribution's web ACL by request (its fixed fee is in the idle line); a flat-rate plan
    includes it."""
    if ctx.config.cdn.waf_requests_per_ip_per_5_minutes is None:
        return 0.0
    return requests / 1e6 * ctx.prices("waf", "per_million_requests")


def cdn_waf_fixed_usd(ctx: Context) -> float:
    if ctx.config.cdn.waf_requests_per_ip_per_5_minutes is None:
        return 0.0
    return ctx.prices("waf", "web_acl_per_month") + ctx.cdn_waf_rules * ctx.prices("waf", "rule_per_month")


@dataclass(frozen=True)
class FlatRate:
    plan: str
    usd: float
    max_views: float  # its request allowance (or 50 TB, whichever ends first), in views
    wins_from_views: float | None  # where pay-as-you-go first costs more; None: never inside the allowance


def flat_rate_plans(ctx: Context, scenario: Scenario) -> list[FlatRate]:
    """Each paid plan against pay-as-you-go (plus the CDN WAF the plan includes) for this view mix."""
    per_view_requests = sum(scenario.view_mix.values())
    per_view_gb = kib_per_view(ctx, scenario) / 1024 / 1024
    plans = []
    for plan in FLAT_RATE_PLANS:
        usd = ctx.prices("cloudfront", f"plan_{plan}_per_month")
        max_views = min(
            ctx.prices("cloudfront", f"plan_{plan}_requests") / per_view_requests,
            ctx.prices("cloudfront", "plan_data_tb") * 1024 / per_view_gb,
        )
        fixed = cdn_waf_fixed_usd(ctx)

        def payg(views: float, fixed: float = fixed) -> float:
            return pay_as_you_go(ctx, scenario, views) + fixed

        wins = None
        if payg(max_views) > usd:
            low, high = 0.0, max_views  # pay-as-you-go grows with views: bisect where it passes the plan
            for _ in range(60):
                middle = (low + high) / 2
                low, high = (middle, high) if payg(middle) <= usd else (low, middle)
            wins = high
        plans.append(FlatRate(plan, usd, max_views, wins))
    return plans


def best_plan(ctx: Context, scenario: Scenario, views: float) -> tuple[FlatRate, float] | None:
    """The cheapest flat-rate plan whose allowance holds ``views`` and that costs less than paying as
    you go, with what paying as you go would cost; None: pay-as-you-go is cheaper (or nothing fits)."""
    payg = pay_as_you_go(ctx, scenario, views) + cdn_waf_fixed_usd(ctx)
    fitting = [p for p in flat_rate_plans(ctx, scenario) if views <= p.max_views and p.usd < payg]
    return (min(fitting, key=lambda p: p.usd), payg) if fitting else None


# --- storage --------------------------------------------------------------------------------------


def _original_rate(transition: OriginalsTransition | None, age_days: float, prices: Prices) -> float:
    if transition is None or age_days < transition.after_days:
        return prices("s3", "standard_per_gb_month")
    if transition.storage_class is OriginalsStorageClass.GLACIER_IR:
        return prices("s3", "glacier_ir_per_gb_month")
    if transition.storage_class is OriginalsStorageClass.STANDARD_IA:
        return prices("s3", "standard_ia_per_gb_month")
    # Intelligent-Tiering: frequent, then infrequent after 30 days unread, archive instant after 90.
    in_tier = age_days - transition.after_days
    if in_tier < 30:
        return prices("s3", "standard_per_gb_month")
    if in_tier < 90:
        return prices("s3", "standard_ia_per_gb_month")
    return prices("s3", "glacier_ir_per_gb_month")


_TRANSITION_KEY = {
    OriginalsStorageClass.GLACIER_IR: "glacier_ir_transition_per_thousand",
    OriginalsStorageClass.STANDARD_IA: "standard_ia_transition_per_thousand",
    OriginalsStorageClass.INTELLIGENT_TIERING: "intelligent_tiering_transition_per_thousand",
}


def storage_usd(ctx: Context, scenario: Scenario, month: int) -> tuple[float, str]:
    """Originals (by age, through the lifecycle rule), variants, registry items (with PITR), and the
    lifecycle's transition requests this month."""
    prices, transition = ctx.prices, ctx.config.originals_transition
    original_gb = ctx.assume.original_mib / 1024
    variants_gb = ctx.measured.variant_kib_per_photo / 1024 / 1024
    originals = variants = registry = transitions = monitoring = 0.0
    images = 0.0
    for age, uploads in scenario.cohorts(month):
        images += uploads
        age_days = (age + 0.5) * DAYS_PER_MONTH
        originals += uploads * original_gb * _original_rate(transition, age_days, prices)
        variants += uploads * variants_gb * prices("s3", "standard_per_gb_month")
        if transition is not None:
            if age * DAYS_PER_MONTH <= transition.after_days < (age + 1) * DAYS_PER_MONTH:
                transitions += uploads / 1000 * prices("s3", _TRANSITION_KEY[transition.storage_class])
            tiering = transition.storage_class is OriginalsStorageClass.INTELLIGENT_TIERING
            if tiering and age_days >= transition.after_days:
                monitoring += (
                    uploads / 1000 * prices("s3", "intelligent_tiering_monitoring_per_thousand_objects")
                )
    registry_gb = images * ctx.bill.record_kib / 1024 / 1024
    registry = registry_gb * prices("dynamodb", "storage_per_gb_month")
    if ctx.pitr:
        registry += registry_gb * prices("dynamodb", "pitr_per_gb_month")
    total = originals + variants + registry + transitions + monitoring
    detail = (
        f"{images / 1e6:,.1f} M images: originals {originals:,.0f}, variants {variants:,.0f}, "
        f"registry {registry:,.0f}, transitions {transitions + monitoring:,.0f}"
    )
    return total, detail


def reprocess_usd(ctx: Context, scenario: Scenario, month: int) -> float:
    """One reprocess of every original kept at ``month``: per original the worker's compute, its S3,
    DynamoDB and EventBridge requests, one Lambda invocation, one express child workflow (and the
    parent's transition that starts it), and reading the original back from where the lifecycle moved
    it (Glacier IR and Standard-IA charge per GB; Intelligent-Tiering does not)."""
    prices, transition = ctx.prices, ctx.config.originals_transition
    retrieval_key = {
        OriginalsStorageClass.GLACIER_IR: "glacier_ir_retrieval_per_gb",
        OriginalsStorageClass.STANDARD_IA: "standard_ia_retrieval_per_gb",
    }
    images = retrieval = 0.0
    for age, uploads in scenario.cohorts(month):
        images += uploads
        moved = transition is not None and (age + 0.5) * DAYS_PER_MONTH >= transition.after_days
        if moved and transition is not None and transition.storage_class in retrieval_key:
            gb = uploads * ctx.assume.original_mib / 1024
            retrieval += gb * prices("s3", retrieval_key[transition.storage_class])
    child_seconds = worker_ms_per_image(ctx.config, ctx.measured, prices, ctx.assume) / 1000
    per_item = (
        _per_image(ctx, _REPROCESS_ITEMS)
        + prices("lambda", "per_million_requests") / 1e6
        + prices("step_functions", "standard_per_thousand_transitions") / 1000
        + prices("step_functions", "express_per_million_requests") / 1e6
        + child_seconds * 64 / 1024 * prices("step_functions", "express_per_gb_second")
    )
    return images * per_item + retrieval


# --- processing, the API, identity, network, logs ----------------------------------------------------

# per_million_images' lines that are the bill's processing line (the rest are other lines of it).
_PROCESSING_ITEMS = (
    "Resize Lambda compute",
    "Resize Lambda invocations",
    "S3 PUTs",
    "S3 GETs",
    "SQS requests",
    "DynamoDB",
    "EventBridge events",
    "CloudFront invalidations",
)


# And what a reprocess repeats per original (no upload event, no invalidation; its invocation apart).
_REPROCESS_ITEMS = ("Resize Lambda compute", "S3 PUTs", "S3 GETs", "DynamoDB", "EventBridge events")


def _per_image(ctx: Context, items: tuple[str, ...]) -> float:
    lines = per_million_images(
        ctx.config, ctx.measured, ctx.prices, ctx.assume, api_memory_mib=ctx.api_memory_mib
    )
    return sum(line.monthly_usd for line in lines if line.item in items) / 1e6


def processing_per_image(ctx: Context) -> float:
    return _per_image(ctx, _PROCESSING_ITEMS)


def worker_compute_per_image(ctx: Context) -> float:
    """The resize Lambdas' GB-seconds per image, in USD: the part a Savings Plan discounts."""
    gbs, _ = worker_gb_seconds_per_image(ctx.config, ctx.measured, ctx.prices, ctx.assume)
    return gbs * ctx.prices("lambda", f"{ctx.config.resize.architecture.value}_per_gb_second")


def api_requests(ctx: Context, scenario: Scenario, month: int) -> float:
    posts = scenario.uploads(month) / scenario.photos_per_post
    return (
        posts * ctx.bill.api_requests_per_post + scenario.users(month) * ctx.bill.api_requests_per_active_user
    )


def runtime(ctx: Context, scenario: Scenario) -> str:
    """The runtime the scenario's app calls; Lambda where the environment runs no service."""
    return scenario.api_runtime if ctx.config.api.fargate.enabled else "lambda"


def lambda_api_usd(ctx: Context, requests: float) -> float:
    prices = ctx.prices
    memory_gb = ctx.api_memory_mib / 1024
    per_request = (
        prices("api_gateway", "http_per_million_requests") + prices("lambda", "per_million_requests")
    ) / 1e6 + ctx.assume.api_ms_per_request / 1000 * memory_gb * prices("lambda", "arm64_per_gb_second")
    restores = requests / 1e6 * ctx.bill.cold_starts_per_million_requests
    return requests * per_request + restores * memory_gb * prices("lambda", "snapstart_restore_per_gb")


def fargate_tasks_needed(ctx: Context, requests: float) -> int:
    """Tasks for the peak hour at the assumed rate per vCPU, capped at the configured ceiling."""
    fargate = ctx.config.api.fargate
    peak_rps = requests / SECONDS_PER_MONTH * ctx.assume.peak_to_average
    wanted = math.ceil(peak_rps / (ctx.assume.requests_per_vcpu_second * fargate.cpu / 1024))
    return max(fargate.min_tasks, min(fargate.max_tasks, wanted))


def fargate_api_usd(ctx: Context, requests: float) -> float:
    """What serving ``requests`` adds to the idle service: tasks above the minimum, LCUs, the ALB's WAF."""
    prices, fargate = ctx.prices, ctx.config.api.fargate
    tasks = fargate_tasks_needed(ctx, requests)
    extra = fargate_tasks_usd(fargate, tasks, prices) - fargate_tasks_usd(fargate, fargate.min_tasks, prices)
    average_rps = requests / SECONDS_PER_MONTH
    lcus = (
        average_rps / ctx.assume.requests_per_new_connection / prices("alb", "new_connections_per_lcu_second")
    )
    waf = requests / 1e6 * prices("waf", "per_million_requests")
    return extra + prices.hours * lcus * prices("alb", "per_lcu_hour") + waf


def identity_usd(ctx: Context, users: float) -> float:
    """Cognito by monthly active users on the pool's feature plan (an external issuer: not ours)."""
    if ctx.config.api.issuer is not None:
        return 0.0
    prices, plan = ctx.prices, ctx.config.api.cognito_plan
    free = prices("cognito", "free_mau")
    if plan is CognitoFeaturePlan.PLUS:
        return users * prices("cognito", "plus_per_mau")
    if plan is CognitoFeaturePlan.ESSENTIALS:
        return max(0.0, users - free) * prices("cognito", "essentials_per_mau")
    usd, left = 0.0, max(0.0, users - free)
    for size, key in (
        (90_000, "lite_per_mau_first_100k"),
        (900_000, "lite_per_mau_next_900k"),
        (9_000_000, "lite_per_mau_next_9m"),
        (math.inf, "lite_per_mau_above_10m"),
    ):
        taken = min(left, size)
        usd += taken * prices("cognito", key)
        left -= taken
    return usd


def network_usd(ctx: Context, scenario: Scenario, requests: float) -> tuple[float, str]:
    """NAT gateways by the hour and by the GB the tasks send through them, and public IPv4 addresses
    (the ALB's two, each NAT's, each task's when there is no NAT). Lambda runs outside the VPC."""
    fargate, prices = ctx.config.api.fargate, ctx.prices
    if not fargate.enabled:
        return 0.0, "no VPC (Lambda only)"
    nats = fargate.nat_gateways
    tasks = fargate_tasks_needed(ctx, requests if runtime(ctx, scenario) == "fargate" else 0.0)
    addresses = 2 + nats + (tasks if nats == 0 else 0)
    usd = prices.hours * (
        nats * prices("vpc", "nat_gateway_per_hour") + addresses * prices("vpc", "public_ipv4_per_hour")
    )
    nat_gb = 0.0
    if nats and runtime(ctx, scenario) == "fargate":
        kib = ctx.bill.other_aws_kib_per_request + (
            0.0 if fargate.dynamodb_endpoint else ctx.bill.registry_kib_per_request
        )
        nat_gb = requests * kib / 1024 / 1024
        usd += nat_gb * prices("vpc", "nat_gateway_per_gb")
    return usd, f"{nats} NAT, {addresses} IPv4, {nat_gb:,.0f} GB via NAT"


def logs_usd(ctx: Context, scenario: Scenario, month: int) -> float:
    """Ingestion this month and storage of what the retention keeps (uncompressed: an upper bound),
    with the fixed monitoring lines (alarms, dashboard, Container Insights)."""
    prices = ctx.prices

    def ingest_gb(m: int) -> float:
        kib = scenario.uploads(m) * ctx.assume.log_kib_per_image
        kib += api_requests(ctx, scenario, m) * ctx.bill.log_bytes_per_request / 1024
        return kib / 1024 / 1024

    kept_months = max(1, round(ctx.config.log_retention_days / DAYS_PER_MONTH))
    stored = sum(ingest_gb(m) for m in range(max(1, month - kept_months + 1), month + 1))
    return (
        ingest_gb(month) * prices("cloudwatch", "logs_ingest_per_gb")
        + stored * prices("cloudwatch", "logs_storage_per_gb_month")
        + ctx.fixed.get("monitoring", 0.0)
    )


def moderation_usd(ctx: Context, uploads: float) -> float:
    """Rekognition's Group 2 price by images a month, tier by tier (an account's whole use counts)."""
    if not ctx.config.resize.moderation.enabled:
        return 0.0
    usd, left = 0.0, uploads
    for size, key in (
        (1e6, "group2_per_image"),
        (4e6, "group2_per_image_next_4m"),
        (30e6, "group2_per_image_next_30m"),
        (math.inf, "group2_per_image_above_35m"),
    ):
        taken = min(left, size)
        usd += taken * ctx.prices("rekognition", key)
        left -= taken
    return usd


# --- the month ------------------------------------------------------------------------------------


def month_bill(ctx: Context, scenario: Scenario, month: int) -> MonthBill:
    uploads = scenario.uploads(month)
    views = uploads * scenario.views_per_image
    requests = api_requests(ctx, scenario, month)
    on = runtime(ctx, scenario)
    storage, storage_detail = storage_usd(ctx, scenario, month)
    network, network_detail = network_usd(ctx, scenario, requests)
    api = lambda_api_usd(ctx, requests) if on == "lambda" else fargate_api_usd(ctx, requests)
    lines = {
        "delivery": pay_as_you_go(ctx, scenario, views),
        "storage": storage,
        "processing": uploads * processing_per_image(ctx),
        "moderation": moderation_usd(ctx, uploads),
        "API runtime": api,
        "identity": identity_usd(ctx, scenario.users(month)),
        "network": network,
        "idle": ctx.fixed.get("idle", 0.0),
        "logs and monitoring": logs_usd(ctx, scenario, month),
    }
    detail = {
        "delivery": f"{views / 1e6:,.1f} M views, {ctx.config.cdn.price_class.removeprefix('PRICE_CLASS_')}",
        "storage": storage_detail,
        "processing": f"{uploads / 1e6:,.2f} M uploads",
        "moderation": "Rekognition per image" if ctx.config.resize.moderation.enabled else "off",
        "API runtime": f"{requests / 1e6:,.1f} M requests on {on}",
        "identity": f"{scenario.users(month) / 1e3:,.0f} k MAU, {ctx.config.api.cognito_plan.value.title()}",
        "network": network_detail,
        "idle": "fixed, with no traffic (the idle table below)",
        "logs and monitoring": f"logs kept {ctx.config.log_retention_days} d, alarms, dashboard",
    }
    return MonthBill(month, lines, detail)


def savings_plan_usd(ctx: Context, scenario: Scenario, month: int) -> float:
    """What a 1-year Compute Savings Plan would take off this month: the Lambda GB-seconds (worker and
    API) and the Fargate task-hours."""
    prices = ctx.prices
    requests = api_requests(ctx, scenario, month)
    lambda_compute = scenario.uploads(month) * worker_compute_per_image(ctx)
    if runtime(ctx, scenario) == "lambda":
        lambda_compute += (
            requests
            * ctx.assume.api_ms_per_request
            / 1000
            * ctx.api_memory_mib
            / 1024
            * prices("lambda", "arm64_per_gb_second")
        )
    fargate = ctx.config.api.fargate
    tasks = 0.0
    if fargate.enabled:
        count = fargate_tasks_needed(ctx, requests if runtime(ctx, scenario) == "fargate" else 0.0)
        tasks = fargate_tasks_usd(fargate, count, prices)
    return lambda_compute * prices("savings_plans", "lambda_discount") + tasks * prices(
        "savings_plans", "fargate_discount"
    )


# --- the levers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lever:
    name: str
    setting: str
    config: EnvironmentConfig
    current: bool


def levers(config: EnvironmentConfig) -> list[Lever]:
    """Each cost lever of the stacks at its settings (the environment's own among them)."""
    found: list[Lever] = []
    transitions: list[tuple[str, OriginalsTransition | None]] = [
        ("Standard (no rule)", None),
        (
            "Glacier IR after 30 d",
            OriginalsTransition(storage_class=OriginalsStorageClass.GLACIER_IR, after_days=30),
        ),
        (
            "Standard-IA after 30 d",
            OriginalsTransition(storage_class=OriginalsStorageClass.STANDARD_IA, after_days=30),
        ),
        (
            "Int.-Tiering from day 0",
            OriginalsTransition(storage_class=OriginalsStorageClass.INTELLIGENT_TIERING, after_days=0),
        ),
    ]
    for label, transition in transitions:
        found.append(
            Lever(
                "originals lifecycle",
                label,
                replace(config, originals_transition=transition),
                config.originals_transition == transition,
            )
        )
    for price_class in ("PRICE_CLASS_100", "PRICE_CLASS_200", "PRICE_CLASS_ALL"):
        cdn = replace(config.cdn, price_class=price_class)
        found.append(
            Lever(
                "CDN price class",
                price_class.removeprefix("PRICE_CLASS_"),
                replace(config, cdn=cdn),
                config.cdn.price_class == price_class,
            )
        )
    if config.api.issuer is None:
        for plan in CognitoFeaturePlan:
            api = replace(config.api, cognito_plan=plan)
            found.append(
                Lever(
                    "Cognito feature plan",
                    plan.value.title(),
                    replace(config, api=api),
                    config.api.cognito_plan is plan,
                )
            )
    fargate = config.api.fargate
    if fargate.enabled:
        for nats in (2, 1, 0):
            api = replace(config.api, fargate=replace(fargate, nat_gateways=nats))
            found.append(
                Lever(
                    "NAT gateways",
                    f"{nats}" + (" (public tasks)" if nats == 0 else ""),
                    replace(config, api=api),
                    fargate.nat_gateways == nats,
                )
            )
        for endpoint in (True, False):
            api = replace(config.api, fargate=replace(fargate, dynamodb_endpoint=endpoint))
            found.append(
                Lever(
                    "DynamoDB endpoint",
                    "on" if endpoint else "off",
                    replace(config, api=api),
                    fargate.dynamodb_endpoint is endpoint,
                )
            )
    return found


def with_config(ctx: Context, config: EnvironmentConfig) -> Context:
    return replace(ctx, config=config)


def variant_kib_from(formats: Mapping[str, Any]) -> dict[tuple[str, str], float]:
    """(variant, format) -> KiB from the formats benchmark, at the core's own encoder settings."""
    labels = {"jpeg": "jpeg", "webp m4": "webp", "avif s8": "avif"}
    return {
        (r["variant"], labels[r["format"]]): float(r["kib"]) for r in formats["rows"] if r["format"] in labels
    }
