"""The scenario bill worked by hand: delivery (price classes, regions, the CDN's WAF, flat-rate plans),
storage through the lifecycle rule, identity by feature plan, network by NAT choice, and the levers."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

import pytest
from photo_ops.bill import (
    BillAssumptions,
    Context,
    Scenario,
    best_plan,
    flat_rate_plans,
    identity_usd,
    levers,
    load_scenarios,
    month_bill,
    network_usd,
    pay_as_you_go,
    reprocess_usd,
    storage_usd,
)
from photo_ops.cost import Assumptions, Measured, resource_counts
from photo_ops.prices import Prices, load_prices
from photo_pipeline_cdk.config import (
    ENVIRONMENTS,
    CognitoFeaturePlan,
    OriginalsStorageClass,
    OriginalsTransition,
)

from tests.conftest import REPO

SNAPSHOTS = REPO / "tests" / "stacks" / "snapshots"
MIB_OF_UPLOADS = 1024 * 1024  # uploads of 1 MiB each: 1,024 GB of originals


def _prices(**overrides: float) -> Prices:
    """The real file with round figures where a test works by hand ("section.key": value)."""
    data: dict[str, Any] = copy.deepcopy(dict(load_prices().data))
    for name, value in overrides.items():
        section, key = name.split(".")
        data[section][key] = value
    return Prices(data)


def _scenario(**changes: Any) -> Scenario:
    values: dict[str, Any] = {
        "name": "hand",
        "description": "worked by hand",
        "uploads_per_month": MIB_OF_UPLOADS,
        "monthly_growth": 0.0,
        "photos_per_post": 2.0,
        "views_per_image": 10.0,
        "view_mix": {"w1080": 1.0, "thumb150": 1.0},
        "monthly_active_users": 20_000.0,
        "months_retained": 0,
        "avif_share": 0.5,
        "audience": {"na_eu": 0.5, "asia": 0.5},
        "api_runtime": "lambda",
    }
    return Scenario(**{**values, **changes})


def _context(prices: Prices, env: str = "prod", **config_changes: Any) -> Context:
    config = replace(ENVIRONMENTS[env], **config_changes)
    return Context(
        config=config,
        measured=Measured(
            core_ms_per_photo=100, alternate_ms_per_photo=100, variant_kib_per_photo=1024, date="x"
        ),
        prices=prices,
        assume=Assumptions(original_mib=1.0),
        bill=BillAssumptions(record_kib=1024.0),
        api_memory_mib=512,
        fixed={"idle": 7.0, "monitoring": 3.0},
        variant_kib={("w1080", "jpeg"): 100.0, ("w1080", "avif"): 60.0, ("thumb150", "jpeg"): 4.0},
        pitr=True,
    )


DELIVERY = {
    "cloudfront.na_eu_per_gb": 0.1,
    "cloudfront.asia_per_gb": 0.2,
    "cloudfront.na_eu_https_per_ten_thousand": 0.01,
    "cloudfront.asia_https_per_ten_thousand": 0.02,
    "waf.per_million_requests": 1.0,
}


def test_delivery_by_hand_in_each_price_class() -> None:
    ctx = _context(_prices(**DELIVERY))
    scenario = _scenario()
    views = 1e7
    # A view: w1080 half AVIF (60 KiB) half JPEG (100), and a JPEG-only thumbnail (4): 84 KiB, two
    # requests. 10 M views: 20 M requests, 10 M x 84 KiB = 801.1 GB, half billed in each region.
    gb = 1e7 * 84 / 1024 / 1024
    requests = 2e7
    everywhere = (
        requests / 2 / 1e4 * 0.01
        + requests / 2 / 1e4 * 0.02
        + gb / 2 * 0.1
        + gb / 2 * 0.2
        + requests / 1e6 * 1.0
    )
    assert pay_as_you_go(ctx, scenario, views) == pytest.approx(everywhere)  # 170.16
    assert everywhere == pytest.approx(170.16, abs=0.01)
    # Price class 100 serves Asia's viewers from European and American edges, at their rates.
    europe = replace(
        ctx, config=replace(ctx.config, cdn=replace(ctx.config.cdn, price_class="PRICE_CLASS_100"))
    )
    assert pay_as_you_go(europe, scenario, views) == pytest.approx(requests / 1e4 * 0.01 + gb * 0.1 + 20.0)
    # No AVIF-capable clients: 104 KiB a view.
    assert pay_as_you_go(ctx, _scenario(avif_share=0.0), views) == pytest.approx(
        everywhere + (1e7 * 20 / 1024 / 1024) * 0.15
    )


def test_delivery_beyond_10_tb_walks_the_volume_tiers() -> None:
    ctx = _context(
        _prices(
            **{
                **DELIVERY,
                "cloudfront.na_eu_per_gb_next_40tb": 0.05,
                "waf.per_million_requests": 0.0,
                "cloudfront.na_eu_https_per_ten_thousand": 0.0,
            }
        )
    )
    scenario = _scenario(audience={"na_eu": 1.0}, view_mix={"thumb150": 1.0})
    views = 20 * 1024 * 1024 * 1024 / 4  # 20 TB of 4 KiB thumbnails
    assert pay_as_you_go(ctx, scenario, views) == pytest.approx(10 * 1024 * 0.1 + 10 * 1024 * 0.05)


def test_a_flat_rate_plan_wins_where_pay_as_you_go_passes_its_price() -> None:
    ctx = _context(_prices(**DELIVERY))
    scenario = _scenario()
    plans = {p.plan: p for p in flat_rate_plans(ctx, scenario)}
    fixed = 5.0 + 1.0 * 0  # the CDN web ACL's monthly fee (rules: none counted in this context)
    for plan in plans.values():
        assert plan.wins_from_views is not None
        assert pay_as_you_go(ctx, scenario, plan.wins_from_views) + fixed == pytest.approx(plan.usd, rel=1e-6)
        # Pro allows 10 M requests: 5 M views of two requests each.
    assert plans["pro"].max_views == pytest.approx(5e6)
    assert plans["business"].max_views == pytest.approx(62.5e6)
    chosen = best_plan(ctx, scenario, 20e6)
    assert chosen is not None and chosen[0].plan == "business" and chosen[1] > 200
    assert best_plan(ctx, scenario, 1e9) is None  # past every allowance: pay as you go


def test_storage_by_hand_through_the_lifecycle_rule() -> None:
    prices = _prices(
        **{
            "s3.standard_per_gb_month": 0.02,
            "s3.glacier_ir_per_gb_month": 0.004,
            "s3.glacier_ir_transition_per_thousand": 0.01,
            "dynamodb.storage_per_gb_month": 0.25,
            "dynamodb.pitr_per_gb_month": 0.2,
        }
    )
    transition = OriginalsTransition(storage_class=OriginalsStorageClass.GLACIER_IR, after_days=30)
    ctx = _context(prices, originals_transition=transition)
    scenario = _scenario()
    # Each month: 1,024 GB of originals, 1,024 GB of variants, 1,024 GB of registry items.
    registry = 1024 * (0.25 + 0.2)
    transitions = MIB_OF_UPLOADS / 1000 * 0.01  # the month's uploads move late in their first month
    month_1, _ = storage_usd(ctx, scenario, 1)
    assert month_1 == pytest.approx(1024 * 0.02 + 1024 * 0.02 + registry + transitions)
    # Month 3: two months of originals in Glacier IR, this month's in Standard.
    month_3, _ = storage_usd(ctx, scenario, 3)
    assert month_3 == pytest.approx(1024 * (2 * 0.004 + 0.02) + 3 * 1024 * 0.02 + 3 * registry + transitions)
    # Without the rule every original stays at the Standard rate, and nothing transitions.
    standard = replace(ctx, config=replace(ctx.config, originals_transition=None))
    assert storage_usd(standard, scenario, 3)[0] == pytest.approx(3 * 1024 * 0.02 * 2 + 3 * registry)
    # Images kept two months: month 3 holds two cohorts.
    kept = storage_usd(ctx, _scenario(months_retained=2), 3)[0]
    assert kept == pytest.approx(1024 * (0.004 + 0.02) + 2 * 1024 * 0.02 + 2 * registry + transitions)


def test_a_reprocess_pays_to_read_back_what_glacier_ir_holds() -> None:
    prices = _prices(**{"s3.glacier_ir_retrieval_per_gb": 0.03})
    transition = OriginalsTransition(storage_class=OriginalsStorageClass.GLACIER_IR, after_days=30)
    moved = _context(prices, originals_transition=transition)
    standard = _context(prices, originals_transition=None)
    # Month 3: 2,048 GB of originals in Glacier IR at 0.03 a GB to read back.
    extra = reprocess_usd(moved, _scenario(), 3) - reprocess_usd(standard, _scenario(), 3)
    assert extra == pytest.approx(2 * 1024 * 0.03)


def test_identity_by_feature_plan() -> None:
    ctx = _context(load_prices())
    on = {
        plan: replace(ctx, config=replace(ctx.config, api=replace(ctx.config.api, cognito_plan=plan)))
        for plan in CognitoFeaturePlan
    }
    # 20,000 monthly active users, the first 10,000 free on Lite and Essentials.
    assert identity_usd(on[CognitoFeaturePlan.LITE], 20_000) == pytest.approx(10_000 * 0.0055)
    assert identity_usd(on[CognitoFeaturePlan.ESSENTIALS], 20_000) == pytest.approx(10_000 * 0.015)
    assert identity_usd(on[CognitoFeaturePlan.PLUS], 20_000) == pytest.approx(20_000 * 0.02)
    # Lite's tiers: 90,000 at 0.0055, then 0.0046.
    assert identity_usd(on[CognitoFeaturePlan.LITE], 200_000) == pytest.approx(
        90_000 * 0.0055 + 100_000 * 0.0046
    )
    # 50,000 users: Essentials costs 600 USD a month, Lite 220 (the figure).
    assert identity_usd(on[CognitoFeaturePlan.ESSENTIALS], 50_000) == pytest.approx(600.0)


def test_network_by_nat_choice_and_the_dynamodb_endpoint() -> None:
    prices = _prices(
        **{"vpc.nat_gateway_per_hour": 0.05, "vpc.public_ipv4_per_hour": 0.005, "vpc.nat_gateway_per_gb": 0.1}
    )
    prices.data["meta"]["hours_per_month"] = 1000  # type: ignore[index]
    ctx = _context(prices)
    fargate = ctx.config.api.fargate
    scenario = _scenario(api_runtime="fargate")
    requests = 1024 * 1024 * 10  # 10 Mi requests: 1 KiB each is 10 GB
    # Prod: 2 NAT, the ALB's 2 and the NATs' 2 addresses; 1 KiB a request through the NAT (no registry).
    usd, _ = network_usd(ctx, scenario, requests)
    assert usd == pytest.approx(1000 * (2 * 0.05 + 4 * 0.005) + 10 * 0.1)
    off = replace(
        ctx,
        config=replace(
            ctx.config, api=replace(ctx.config.api, fargate=replace(fargate, dynamodb_endpoint=False))
        ),
    )
    assert network_usd(off, scenario, requests)[0] == pytest.approx(usd + 40 * 0.1)  # + 4 KiB registry
    none = replace(
        ctx, config=replace(ctx.config, api=replace(ctx.config.api, fargate=replace(fargate, nat_gateways=0)))
    )
    # No NAT: no hours, no per-GB; each task (the minimum, 2) has its own public address.
    assert network_usd(none, scenario, requests)[0] == pytest.approx(1000 * 4 * 0.005)
    # On Lambda the tasks serve nothing: no bytes through the NAT.
    assert network_usd(ctx, _scenario(), requests)[0] == pytest.approx(1000 * (2 * 0.05 + 4 * 0.005))


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_the_network_line_counts_the_nat_gateways_the_templates_make(env: str) -> None:
    templates = {p.name: json.loads(p.read_text()) for p in (SNAPSHOTS / env).glob("*.template.json")}
    ctx = _context(load_prices(), env)
    _, detail = network_usd(ctx, _scenario(), 0)
    nats = resource_counts(templates)["AWS::EC2::NatGateway"]
    assert detail.startswith(f"{nats} NAT") if nats else detail == "no VPC (Lambda only)"


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_each_lever_marks_the_environments_own_setting_once(env: str) -> None:
    found = levers(ENVIRONMENTS[env])
    names = {lever.name for lever in found}
    assert {"originals lifecycle", "CDN price class", "Cognito feature plan"} <= names
    for name in names:
        assert sum(lever.current for lever in found if lever.name == name) == 1, name
    assert ({"NAT gateways", "DynamoDB endpoint"} <= names) == ENVIRONMENTS[env].api.fargate.enabled


def test_a_month_has_every_line_and_the_named_scenarios_load() -> None:
    scenarios, defaults = load_scenarios()
    assert {"launch", "growing", "large"} <= set(scenarios) and set(defaults) == {"dev", "staging", "prod"}
    ctx = _context(load_prices())
    bill = month_bill(ctx, scenarios["growing"], 12)
    assert bill.lines["delivery"] > 0 and bill.lines["storage"] > 0 and bill.lines["identity"] > 0
    assert bill.lines["network"] > 0 and bill.lines["idle"] == 7.0
    assert bill.total == pytest.approx(sum(bill.lines.values()))
    assert month_bill(ctx, scenarios["growing"], 12).total > month_bill(ctx, scenarios["growing"], 1).total
    with pytest.raises(ValueError, match="add up"):
        _scenario(audience={"na_eu": 0.5})
    with pytest.raises(ValueError, match="not a variant"):
        pay_as_you_go(ctx, _scenario(view_mix={"w9999": 1.0}), 1.0)
