"""What an environment costs: idle, per million images, and the API runtime question (Lambda + API
Gateway against Fargate + ALB against ECS on EC2), from its config, its synthesized templates, the
numbers ``make bench`` measured, and prices kept as data (``prices.toml``: region, date, sources). No
network.

    make cost ENV=prod     # or: python -m photo_ops.report --env prod --templates cdk.out.prod

Every figure that is an assumption rather than a price or a measurement is a field of ``Assumptions``,
printed with the tables.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from photo_contract.variants import VariantSpec
from photo_pipeline_cdk.config import EnvironmentConfig, FargateConfig

from photo_ops.prices import Prices, load_prices

REPO = Path(__file__).resolve().parents[2]
SECONDS_PER_MONTH = 730 * 3600

# Every resource type the stacks synthesize, and where the model prices it: an idle line, a usage line
# (per image or per request), or why it costs nothing by itself. A type missing here fails a test, so a
# new resource cannot be forgotten.
RESOURCE_LINES: dict[str, str] = {
    "AWS::EC2::NatGateway": "idle: NAT gateways",
    "AWS::EC2::EIP": "idle: public IPv4 addresses",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "idle: load balancer (and its public IPv4 addresses)",
    "AWS::ECS::Service": "idle: Fargate tasks (minimum count)",
    "AWS::ECS::TaskDefinition": "idle: Fargate tasks (minimum count)",
    "AWS::ECS::Cluster": "idle: Container Insights metrics",
    "AWS::CloudWatch::Alarm": "idle: alarms",
    "AWS::CloudWatch::Dashboard": "idle: dashboard",
    "AWS::SecretsManager::Secret": "idle: secrets",
    "AWS::KMS::Key": "idle: KMS keys (the alarm topic's; its requests stay inside the free tier)",
    "AWS::ECR::Repository": "idle: API image storage",
    "AWS::Lambda::Function": "usage: Lambda GB-seconds and requests",
    "AWS::Lambda::LayerVersion": "free: layer storage is part of Lambda's code storage allowance",
    "AWS::Lambda::Version": "idle: SnapStart snapshot cache (for a SnapStart function's version)",
    "AWS::Lambda::Alias": "free: a name for a version",
    "AWS::Lambda::EventSourceMapping": "usage: SQS requests",
    "AWS::Lambda::Permission": "free: a policy",
    "AWS::ApiGatewayV2::Api": "usage: API Gateway requests",
    "AWS::ApiGatewayV2::Stage": "usage: API Gateway requests",
    "AWS::ApiGatewayV2::Integration": "usage: API Gateway requests",
    "AWS::ApiGatewayV2::Route": "usage: API Gateway requests",
    "AWS::S3::Bucket": "usage: S3 storage and requests",
    "AWS::S3::BucketPolicy": "free: a policy",
    "Custom::S3BucketNotifications": "free: a deploy-time custom resource (its Lambda runs on deploy only)",
    "Custom::VpcRestrictDefaultSG": "free: a deploy-time custom resource (its Lambda runs on deploy only)",
    "Custom::CrossRegionExportWriter": "free: a deploy-time custom resource (its Lambda runs on deploy only)",
    "Custom::CrossRegionExportReader": "free: a deploy-time custom resource (its Lambda runs on deploy only)",
    "AWS::SQS::Queue": "usage: SQS requests",
    "AWS::SQS::QueuePolicy": "free: a policy",
    "AWS::DynamoDB::GlobalTable": "usage: DynamoDB requests and storage",
    "AWS::Events::EventBus": "usage: EventBridge events",
    "AWS::Events::EventBusPolicy": "free: a policy",
    "AWS::Events::Archive": "usage: EventBridge events (archive storage is per GB, a few KB per image)",
    "AWS::Events::Rule": "usage: EventBridge events",
    "AWS::CloudFront::Distribution": "usage: CDN data out and requests",
    "AWS::CloudFront::CachePolicy": "free: configuration",
    "AWS::CloudFront::OriginAccessControl": "free: configuration",
    "AWS::CloudFront::ResponseHeadersPolicy": "free: configuration",
    "AWS::CloudFront::PublicKey": "free: configuration",
    "AWS::CloudFront::KeyGroup": "free: configuration",
    "AWS::Cognito::UserPool": "usage: Cognito monthly active users (free under 10,000 on Lite)",
    "AWS::Cognito::UserPoolClient": "free: configuration",
    "AWS::Cognito::UserPoolGroup": "free: configuration",
    "AWS::Logs::LogGroup": "usage: CloudWatch Logs ingestion",
    "AWS::EC2::FlowLog": "usage: CloudWatch Logs ingestion",
    "AWS::StepFunctions::StateMachine": "usage: reprocessing runs",
    "AWS::SNS::Topic": "free: alarm notifications stay far inside the free tier",
    "AWS::SNS::Subscription": "free: configuration",
    "AWS::SNS::TopicPolicy": "free: a policy",
    "AWS::IAM::Role": "free: IAM",
    "AWS::IAM::Policy": "free: IAM",
    "AWS::IAM::ManagedPolicy": "free: IAM",
    "AWS::EC2::VPC": "free: the VPC itself",
    "AWS::EC2::Subnet": "free: the VPC itself",
    "AWS::EC2::RouteTable": "free: the VPC itself",
    "AWS::EC2::Route": "free: the VPC itself",
    "AWS::EC2::SubnetRouteTableAssociation": "free: the VPC itself",
    "AWS::EC2::InternetGateway": "free: the VPC itself",
    "AWS::EC2::VPCGatewayAttachment": "free: the VPC itself",
    "AWS::EC2::VPCEndpoint": "free: the S3 and DynamoDB gateway endpoints (gateway endpoints cost nothing)",
    "AWS::EC2::SecurityGroup": "free: the VPC itself",
    "AWS::EC2::SecurityGroupIngress": "free: the VPC itself",
    "AWS::EC2::SecurityGroupEgress": "free: the VPC itself",
    "AWS::ElasticLoadBalancingV2::Listener": "idle: load balancer (and its public IPv4 addresses)",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "idle: load balancer (and its public IPv4 addresses)",
    "AWS::ApplicationAutoScaling::ScalableTarget": "free: configuration",
    "AWS::ApplicationAutoScaling::ScalingPolicy": "free: configuration",
    "AWS::ECS::ClusterCapacityProviderAssociations": "free: configuration",
    "AWS::WAFv2::WebACL": "idle: WAF web ACLs and their rules; usage: WAF requests (the ALB's, in the Fargate figures)",
    "AWS::WAFv2::WebACLAssociation": "free: configuration",
    "AWS::ApiGatewayV2::Authorizer": "free: API Gateway's JWT authorizer is part of the request price",
}


@dataclass(frozen=True)
class Measured:
    """From ``make bench``'s results files (bench/results/)."""

    core_ms_per_photo: float  # resize path, JPEG variants (resize_bench)
    alternate_ms_per_photo: float  # encoding the spec's alternates (formats_bench)
    variant_kib_per_photo: float  # every variant file of the spec (formats_bench medians)
    date: str


def load_measured(results: Path, variants: tuple[VariantSpec, ...]) -> Measured:
    resize = json.loads((results / "resize.json").read_text())
    formats = json.loads((results / "formats.json").read_text())

    # The rows made with the core's own encoder settings, by (variant, format).
    labels = {"jpeg": "jpeg", "webp m4": "webp", "avif s8": "avif"}
    rows = {(r["variant"], labels[r["format"]]): r for r in formats["rows"] if r["format"] in labels}
    alternate_ms = 0.0
    kib = 0.0
    for spec in variants:
        for index, encoding in enumerate(spec.encodings):
            measured = rows.get((spec.name, encoding.format.value))
            if measured is None:
                continue  # a variant or format the formats table does not have: not counted
            kib += measured["kib"]
            if index > 0:
                alternate_ms += measured["encode_ms"]
    return Measured(
        core_ms_per_photo=float(resize["core_ms_per_photo"]),
        alternate_ms_per_photo=alternate_ms,
        variant_kib_per_photo=kib,
        date=str(resize["date"]),
    )


@dataclass(frozen=True)
class Assumptions:
    """What the model assumes rather than measures or looks up; each is printed with the tables."""

    original_mib: float = 3.0  # an average phone photo as uploaded
    graviton_speed: float = 1.0  # a Lambda arm64 core against this machine's core, per image
    io_ms_per_image: float = 150.0  # the worker's S3 and DynamoDB round trips per image
    api_requests_per_image: float = 0.3  # one POST per 20-photo post and five batch status reads
    # Warm API Lambda per request, and one task vCPU's rate: assumed (the load benchmark's registry
    # routes measure the emulator, not DynamoDB).
    api_ms_per_request: float = 40.0
    requests_per_vcpu_second: float = 200.0
    peak_to_average: float = 3.0  # capacity is sized for the peak hour
    requests_per_new_connection: float = 10.0  # keep-alive: ALB new-connection LCUs
    dynamodb_writes_per_image: float = 8.0  # write units: pending transaction, ready update, event flag
    dynamodb_reads_per_image: float = 3.0  # read units: the worker's get, the batch status reads
    log_kib_per_image: float = 1.0
    container_insights_metrics: int = 20  # per cluster
    deleted_share: float = 0.1  # images deleted by their owner later: one CDN invalidation path each
    # Two steps: the alternates step decodes the original again (DCT-scaled, the floor's decode).
    second_decode_ms: float = 60.0


@dataclass(frozen=True)
class Line:
    item: str
    quantity: str
    monthly_usd: float
    note: str = ""


def resource_counts(templates: Mapping[str, Mapping[str, Any]]) -> Counter[str]:
    return Counter(r["Type"] for t in templates.values() for r in t.get("Resources", {}).values())


def waf_rule_count(templates: Mapping[str, Mapping[str, Any]]) -> int:
    """The rules of every web ACL (WAF charges per rule and per managed group)."""
    return sum(
        len(r["Properties"].get("Rules", []))
        for t in templates.values()
        for r in t.get("Resources", {}).values()
        if r["Type"] == "AWS::WAFv2::WebACL"
    )


def load_templates(directory: Path) -> dict[str, dict[str, Any]]:
    return {
        p.name.removesuffix(".template.json"): json.loads(p.read_text())
        for p in directory.glob("*.template.json")
    }


def task_hour_usd(fargate: FargateConfig, prices: Prices, *, spot: bool = False) -> float:
    on_demand = (fargate.cpu / 1024) * prices("fargate", "arm64_per_vcpu_hour") + (
        fargate.memory_mib / 1024
    ) * prices("fargate", "arm64_per_gb_hour")
    return on_demand * (1 - prices("fargate", "spot_discount")) if spot else on_demand


def fargate_tasks_usd(
    fargate: FargateConfig, tasks: int, prices: Prices, *, spot_weight: int | None = None
) -> float:
    """Monthly cost of ``tasks`` tasks under the capacity strategy (base on demand, the rest by weight)."""
    weight = fargate.spot_weight if spot_weight is None else spot_weight
    base = min(tasks, fargate.on_demand_base) if weight else tasks
    rest = tasks - base
    spot_share = weight / (weight + fargate.on_demand_weight) if weight else 0.0
    on_demand_tasks = base + rest * (1 - spot_share)
    spot_tasks = rest * spot_share
    return prices.hours * (
        on_demand_tasks * task_hour_usd(fargate, prices)
        + spot_tasks * task_hour_usd(fargate, prices, spot=True)
    )


def snap_start_gb(templates: Mapping[str, Mapping[str, Any]]) -> float:
    """Memory of every SnapStart function, in GB: what its cached snapshot is billed by."""
    return sum(
        float(r["Properties"].get("MemorySize", 128)) / 1024
        for t in templates.values()
        for r in t.get("Resources", {}).values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"].get("SnapStart", {}).get("ApplyOn") == "PublishedVersions"
    )


def idle_lines(
    config: EnvironmentConfig,
    counts: Counter[str],
    prices: Prices,
    assume: Assumptions,
    *,
    snap_start_gb: float = 0.0,
    waf_rules: int = 0,
) -> list[Line]:
    hours = prices.hours
    albs = counts["AWS::ElasticLoadBalancingV2::LoadBalancer"]
    fargate = config.api.fargate
    lines = [
        Line(
            "NAT gateways",
            f"{counts['AWS::EC2::NatGateway']} x {hours:.0f} h",
            counts["AWS::EC2::NatGateway"] * hours * prices("vpc", "nat_gateway_per_hour"),
        ),
        Line(
            "Load balancer",
            f"{albs} x {hours:.0f} h",
            albs * hours * prices("alb", "per_hour"),
            "idle LCUs are about zero",
        ),
        Line(
            "Public IPv4 addresses",
            f"{counts['AWS::EC2::EIP']} NAT + {2 * albs} ALB (2 AZs)",
            (counts["AWS::EC2::EIP"] + 2 * albs) * hours * prices("vpc", "public_ipv4_per_hour"),
        ),
        Line(
            "WAF web ACLs",
            f"{counts['AWS::WAFv2::WebACL']} ACL, {waf_rules} rules",
            counts["AWS::WAFv2::WebACL"] * prices("waf", "web_acl_per_month")
            + waf_rules * prices("waf", "rule_per_month"),
            "plus 0.60 USD per million requests (in the Fargate figures)",
        ),
    ]
    if counts["AWS::ECS::Service"]:
        lines.append(
            Line(
                "Fargate tasks (minimum)",
                f"{fargate.min_tasks} x {fargate.cpu / 1024:g} vCPU / {fargate.memory_mib / 1024:g} GB arm64"
                + (f", Spot weight {fargate.spot_weight}" if fargate.spot_weight else ""),
                fargate_tasks_usd(fargate, fargate.min_tasks, prices),
            )
        )
        lines.append(
            Line(
                "Container Insights",
                f"~{assume.container_insights_metrics} metrics per cluster",
                counts["AWS::ECS::Cluster"]
                * assume.container_insights_metrics
                * prices("cloudwatch", "custom_metric_per_month"),
                "estimate",
            )
        )
    lines += [
        Line(
            "Alarms",
            f"{counts['AWS::CloudWatch::Alarm']} standard",
            counts["AWS::CloudWatch::Alarm"] * prices("cloudwatch", "alarm_per_month"),
        ),
        Line(
            "Dashboard",
            f"{counts['AWS::CloudWatch::Dashboard']}",
            counts["AWS::CloudWatch::Dashboard"] * prices("cloudwatch", "dashboard_per_month"),
            "free if the account has fewer than 3",
        ),
        Line(
            "Secrets",
            f"{counts['AWS::SecretsManager::Secret']}",
            counts["AWS::SecretsManager::Secret"] * prices("secrets_manager", "per_secret_month"),
        ),
        Line(
            "KMS keys",
            f"{counts['AWS::KMS::Key']} (alarm topic: CloudWatch cannot publish to an AWS-managed key)",
            counts["AWS::KMS::Key"] * prices("kms", "per_key_month"),
        ),
        Line("API image storage (ECR)", "~0.5 GB", 0.5 * prices("ecr", "storage_per_gb_month"), "estimate"),
        Line(
            "SnapStart snapshot cache",
            f"{snap_start_gb:g} GB (the API function's live version)",
            snap_start_gb * hours * 3600 * prices("lambda", "snapstart_cache_per_gb_second"),
            "plus a restore fee per cold start",
        ),
        Line(
            "Lambda, API Gateway, SQS, S3, DynamoDB, EventBridge, CloudFront, Step Functions, Cognito",
            "pay per use",
            0.0,
            "nothing while idle (empty buckets and table)",
        ),
    ]
    return lines


def worker_ms_per_image(
    config: EnvironmentConfig, measured: Measured, prices: Prices, assume: Assumptions
) -> float:
    """One image on the resize Lambda: the measured compute, stretched below one vCPU, plus the I/O."""
    compute = (measured.core_ms_per_photo + measured.alternate_ms_per_photo) / assume.graviton_speed
    stretch = max(1.0, prices("lambda", "mb_per_vcpu") / config.resize.memory_mib)
    return compute * stretch + assume.io_ms_per_image


def worker_gb_seconds_per_image(
    config: EnvironmentConfig, measured: Measured, prices: Prices, assume: Assumptions
) -> tuple[float, str]:
    """GB-seconds one image costs on the resize Lambda(s), and how: one step, or the JPEG step and the
    alternates step (which decodes the original a second time), each at its own memory."""
    resize, steps = config.resize, config.resize.alternates

    def seconds(compute_ms: float, memory_mib: int) -> float:
        stretch = max(1.0, prices("lambda", "mb_per_vcpu") / memory_mib)
        return (compute_ms / assume.graviton_speed * stretch + assume.io_ms_per_image) / 1000

    if steps is None:
        ms = worker_ms_per_image(config, measured, prices, assume)
        return ms / 1000 * resize.memory_mib / 1024, f"{ms:.0f} ms x {resize.memory_mib} MB"
    first = seconds(measured.core_ms_per_photo, resize.memory_mib)
    second = seconds(measured.alternate_ms_per_photo + assume.second_decode_ms, steps.memory_mib)
    gbs = first * resize.memory_mib / 1024 + second * steps.memory_mib / 1024
    return (
        gbs,
        f"{first * 1000:.0f} ms x {resize.memory_mib} MB + {second * 1000:.0f} ms x {steps.memory_mib} MB",
    )


def per_million_images(
    config: EnvironmentConfig, measured: Measured, prices: Prices, assume: Assumptions, *, api_memory_mib: int
) -> list[Line]:
    million = 1_000_000
    resize = config.resize
    gb_second = prices("lambda", f"{resize.architecture.value}_per_gb_second")
    per_image_gbs, how = worker_gb_seconds_per_image(config, measured, prices, assume)
    worker_gbs = million * per_image_gbs
    objects = sum(len(spec.encodings) for spec in resize.variants)
    api_requests = million * assume.api_requests_per_image
    api_gbs = api_requests * assume.api_ms_per_request / 1000 * api_memory_mib / 1024
    stored_gb = million * (assume.original_mib * 1024 + measured.variant_kib_per_photo) / 1024 / 1024
    return [
        Line(
            "Resize Lambda compute",
            f"{how} = {worker_gbs:,.0f} GB-s",
            worker_gbs * gb_second,
            f"{resize.architecture.value}",
        ),
        Line(
            "Resize Lambda invocations",
            f"{million / resize.batch_size:,.0f} (batches of {resize.batch_size})",
            million / resize.batch_size / million * prices("lambda", "per_million_requests"),
        ),
        Line(
            "API requests (Lambda + API Gateway)",
            f"{api_requests:,.0f}",
            api_requests
            / million
            * (prices("api_gateway", "http_per_million_requests") + prices("lambda", "per_million_requests"))
            + api_gbs * prices("lambda", "arm64_per_gb_second"),
        ),
        Line(
            "S3 PUTs",
            f"{1 + objects} per image (original + {objects} variant files)",
            million * (1 + objects) / 1000 * prices("s3", "put_per_thousand"),
        ),
        Line(
            "S3 GETs",
            "2 per image (HEAD + GET of the original)",
            million * 2 / 1000 * prices("s3", "get_per_thousand"),
        ),
        Line(
            "SQS requests",
            "1.2 per image (send; receive and delete per batch)",
            million * 1.2 / million * prices("sqs", "per_million_requests"),
        ),
        Line(
            "DynamoDB",
            f"{assume.dynamodb_writes_per_image:g} WRU + {assume.dynamodb_reads_per_image:g} RRU per image",
            assume.dynamodb_writes_per_image * prices("dynamodb", "write_per_million")
            + assume.dynamodb_reads_per_image * prices("dynamodb", "read_per_million"),
        ),
        Line("EventBridge events", "1 per image", prices("eventbridge", "custom_events_per_million")),
        *_moderation_lines(config, prices),
        Line(
            "CloudFront invalidations",
            f"{assume.deleted_share:.0%} of images deleted later: 1 path each",
            million * assume.deleted_share * prices("cloudfront", "invalidation_per_path"),
            "the first 1,000 paths a month are free (not counted)",
        ),
        Line(
            "CloudWatch Logs",
            f"{assume.log_kib_per_image:g} KiB per image",
            million * assume.log_kib_per_image / 1024 / 1024 * prices("cloudwatch", "logs_ingest_per_gb"),
        ),
        Line(
            "S3 storage, per month they are kept",
            f"{stored_gb:,.0f} GB (original + variants)",
            stored_gb * prices("s3", "standard_per_gb_month"),
            "recurring",
        ),
    ]


def _moderation_lines(config: EnvironmentConfig, prices: Prices) -> list[Line]:
    if not config.resize.moderation.enabled:
        return []
    return [
        Line(
            "Moderation (Rekognition DetectModerationLabels)",
            "1 call per image, on its 1080 px JPEG",
            1_000_000 * prices("rekognition", "group2_per_image"),
            "first-tier price; held images add a person's review, not priced",
        )
    ]


@dataclass(frozen=True)
class RuntimeCosts:
    lambda_api: float
    fargate: float
    fargate_spot: float
    ec2: float


def api_runtime_costs(
    requests: float, config: EnvironmentConfig, prices: Prices, assume: Assumptions, *, api_memory_mib: int
) -> RuntimeCosts:
    """Monthly cost of serving ``requests`` API requests a month on each runtime (the API only)."""
    fargate = config.api.fargate
    hours = prices.hours
    per_request = (
        prices("api_gateway", "http_per_million_requests") + prices("lambda", "per_million_requests")
    ) / 1_000_000 + assume.api_ms_per_request / 1000 * api_memory_mib / 1024 * prices(
        "lambda", "arm64_per_gb_second"
    )
    lambda_api = requests * per_request

    average_rps = requests / SECONDS_PER_MONTH
    peak_rps = average_rps * assume.peak_to_average
    vcpu = fargate.cpu / 1024
    tasks = max(fargate.min_tasks, math.ceil(peak_rps / (assume.requests_per_vcpu_second * vcpu)))
    lcus = average_rps / assume.requests_per_new_connection / prices("alb", "new_connections_per_lcu_second")
    network = (
        hours
        * (
            prices("alb", "per_hour")
            + lcus * prices("alb", "per_lcu_hour")
            + fargate.nat_gateways * prices("vpc", "nat_gateway_per_hour")
            + (fargate.nat_gateways + 2) * prices("vpc", "public_ipv4_per_hour")
        )
        + requests * prices("waf", "per_million_requests") / 1_000_000
    )  # the ALB's web ACL
    spot_weight = fargate.spot_weight or 3  # the comparison shows a Spot mix even where it is off
    per_instance = min(
        math.floor(prices("ec2", "vcpu") * 1024 / fargate.cpu),
        math.floor(prices("ec2", "memory_gib") * 1024 / fargate.memory_mib),
    )
    instances = max(min(2, fargate.min_tasks), math.ceil(tasks / per_instance))
    return RuntimeCosts(
        lambda_api=lambda_api,
        fargate=network + fargate_tasks_usd(fargate, tasks, prices, spot_weight=0),
        fargate_spot=network + fargate_tasks_usd(fargate, tasks, prices, spot_weight=spot_weight),
        ec2=network + instances * hours * prices("ec2", "per_hour"),
    )


def break_even(
    cost: Callable[[float], RuntimeCosts], other: str, *, low: float = 1e4, high: float = 1e11
) -> float | None:
    """The smallest monthly request count at which Lambda costs more than ``other`` (log-grid scan)."""
    steps = 2000
    for i in range(steps + 1):
        requests: float = low * (high / low) ** (i / steps)
        costs = cost(requests)
        if costs.lambda_api > float(getattr(costs, other)):
            return requests
    return None


def api_memory_from(templates: Mapping[str, Mapping[str, Any]]) -> int:
    for template in templates.values():
        for resource in template.get("Resources", {}).values():
            props = resource.get("Properties", {})
            if (
                resource["Type"] == "AWS::Lambda::Function"
                and props.get("Handler") == "upload_api.lambda_handler.handler"
            ):
                return int(props.get("MemorySize", 128))
    raise ValueError("no API function in the templates")


__all__ = ["Prices", "load_prices"]  # the model's callers read prices through this module too
