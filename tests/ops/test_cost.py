"""The cost model's detail tables: the API runtimes, a Spot mix and the idle lines worked by hand, and
every resource type the stacks make has a line (the scenario bill: test_bill.py; make cost:
test_report.py; the prices file: test_prices.py)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace

import pytest
from photo_ops.cost import (
    RESOURCE_LINES,
    Assumptions,
    Prices,
    api_runtime_costs,
    break_even,
    fargate_tasks_usd,
    idle_lines,
    load_prices,
    resource_counts,
)
from photo_pipeline_cdk.config import ENVIRONMENTS, FargateConfig

from tests.conftest import REPO

SNAPSHOTS = REPO / "tests" / "stacks" / "snapshots"

# Round prices, so the expected figures below can be checked with a pencil.
ROUND = Prices(
    {
        "meta": {"hours_per_month": 1000},
        "lambda": {
            "arm64_per_gb_second": 0.00001,
            "per_million_requests": 0.20,
            "mb_per_vcpu": 1024,
            "snapstart_cache_per_gb_second": 0.000001,
        },
        "api_gateway": {"http_per_million_requests": 1.00},
        "alb": {"per_hour": 0.02, "per_lcu_hour": 0.01, "new_connections_per_lcu_second": 25},
        "vpc": {"nat_gateway_per_hour": 0.05, "public_ipv4_per_hour": 0.005},
        "kms": {"per_key_month": 1.0},
        "fargate": {"arm64_per_vcpu_hour": 0.04, "arm64_per_gb_hour": 0.004, "spot_discount": 0.7},
        "ec2": {"vcpu": 2, "memory_gib": 8, "per_hour": 0.1},
        "cloudwatch": {"alarm_per_month": 0.10, "dashboard_per_month": 3.0, "custom_metric_per_month": 0.3},
        "secrets_manager": {"per_secret_month": 0.4},
        "ecr": {"storage_per_gb_month": 0.1},
        "waf": {"web_acl_per_month": 5.0, "rule_per_month": 1.0, "per_million_requests": 1.0},
    }
)


def test_the_api_runtimes_by_hand() -> None:
    staging = ENVIRONMENTS["staging"]
    fargate = replace(
        staging.api.fargate,
        min_tasks=1,
        max_tasks=4,
        cpu=1024,
        memory_mib=2048,
        nat_gateways=1,
        spot_weight=0,
    )
    config = replace(staging, api=replace(staging.api, fargate=fargate))
    assume = Assumptions(
        api_ms_per_request=100, requests_per_vcpu_second=1e9, requests_per_new_connection=1e12
    )
    costs = api_runtime_costs(10_000_000, config, ROUND, assume, api_memory_mib=1024)
    # Lambda: 10 M x (1.00 + 0.20) / M + 10 M x 0.1 s x 1 GB x 0.00001 = 12 + 10 = 22.
    assert costs.lambda_api == pytest.approx(22.0)
    # Network: 1000 h x (ALB 0.02 + NAT 0.05 + 3 IPv4 x 0.005) = 85, and the ALB's WAF 10 M x 1.00 / M = 10;
    # one task: 1000 h x (0.04 + 2 x 0.004) = 48.
    assert costs.fargate == pytest.approx(95.0 + 48.0)
    # EC2: max(min(2, 1), ceil(1 task / 2 per instance)) = 1 instance x 1000 h x 0.1 = 100.
    assert costs.ec2 == pytest.approx(95.0 + 100.0)
    # Spot mix with one task: the on-demand base is that task.
    assert costs.fargate_spot == pytest.approx(costs.fargate)
    # Lambda (2.2 per million) costs more than Fargate (133 + the WAF's 1.0 per million) from
    # 133 / (2.2 - 1.0) = 110.8 M requests a month.
    crossing = break_even(
        lambda r: api_runtime_costs(r, config, ROUND, assume, api_memory_mib=1024), "fargate"
    )
    assert crossing == pytest.approx(110.8e6, rel=0.01)


def test_a_spot_mix_by_hand() -> None:
    fargate = FargateConfig(cpu=1024, memory_mib=2048, spot_weight=3, on_demand_weight=1, on_demand_base=1)
    task = 1000 * (0.04 + 2 * 0.004)  # 48 a month on demand
    # 4 tasks: 1 base on demand, the other 3 split 1:3 -> 1.75 on demand, 2.25 on Spot at 30%.
    assert fargate_tasks_usd(fargate, 4, ROUND) == pytest.approx(1.75 * task + 2.25 * task * 0.3)
    assert fargate_tasks_usd(fargate, 4, ROUND, spot_weight=0) == pytest.approx(4 * task)


def test_idle_lines_count_what_the_templates_hold() -> None:
    counts = Counter(
        {
            "AWS::EC2::NatGateway": 2,
            "AWS::EC2::EIP": 2,
            "AWS::ElasticLoadBalancingV2::LoadBalancer": 1,
            "AWS::CloudWatch::Alarm": 10,
            "AWS::CloudWatch::Dashboard": 1,
            "AWS::KMS::Key": 1,
            "AWS::WAFv2::WebACL": 2,
        }
    )
    lines = {
        line.item: line.monthly_usd
        for line in idle_lines(
            ENVIRONMENTS["dev"], counts, ROUND, Assumptions(), snap_start_gb=0.5, waf_rules=8
        )
    }
    assert lines["WAF web ACLs"] == pytest.approx(2 * 5.0 + 8 * 1.0)
    assert lines["NAT gateways"] == pytest.approx(2 * 1000 * 0.05)
    assert lines["Public IPv4 addresses"] == pytest.approx((2 + 2) * 1000 * 0.005)
    assert lines["Alarms"] == pytest.approx(1.0) and lines["Dashboard"] == pytest.approx(3.0)
    assert lines["KMS keys"] == pytest.approx(1.0)
    assert "Fargate tasks (minimum)" not in lines  # no service in these counts
    assert lines["SnapStart snapshot cache"] == pytest.approx(0.5 * 1000 * 3600 * 0.000001)  # 1.80


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_resource_type_the_stacks_make_has_a_line(env: str) -> None:
    templates = {p.name: json.loads(p.read_text()) for p in (SNAPSHOTS / env).glob("*.template.json")}
    missing = set(resource_counts(templates)) - set(RESOURCE_LINES)
    assert not missing, f"price these in photo_ops.cost.RESOURCE_LINES: {sorted(missing)}"


def test_deletes_are_priced_as_cdn_invalidations() -> None:
    from photo_ops.cost import Measured, per_million_images

    measured = Measured(
        core_ms_per_photo=100, alternate_ms_per_photo=200, variant_kib_per_photo=300, date="x"
    )
    lines = per_million_images(
        ENVIRONMENTS["prod"], measured, load_prices(), Assumptions(deleted_share=0.2), api_memory_mib=512
    )
    (line,) = [line for line in lines if line.item == "CloudFront invalidations"]
    assert line.monthly_usd == pytest.approx(1_000_000 * 0.2 * 0.005)  # 1,000 USD per million uploads
