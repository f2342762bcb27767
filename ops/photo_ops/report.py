"""``make cost ENV=… [SCENARIO=…]``: a scenario's bill at month 1 and month 12, line by line, what
delivery costs on each CloudFront plan, what each lever of the stacks changes, then the detail tables
(idle, per million images, the API runtime by traffic). Charts go outside the tracked tree unless
``--docs`` asks for docs/. Output fits 100 columns. No network.

    python -m photo_ops.report --env prod --templates cdk.out.prod [--scenario large] [--docs]
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

from photo_pipeline_cdk.config import EnvironmentConfig, environment_config

from photo_ops.bill import (
    LINES,
    BillAssumptions,
    Context,
    MonthBill,
    Scenario,
    api_requests,
    best_plan,
    flat_rate_plans,
    levers,
    load_scenarios,
    month_bill,
    reprocess_usd,
    savings_plan_usd,
    variant_kib_from,
    with_config,
)
from photo_ops.cost import (
    REPO,
    SECONDS_PER_MONTH,
    Assumptions,
    Line,
    RuntimeCosts,
    api_memory_from,
    api_runtime_costs,
    break_even,
    idle_lines,
    load_measured,
    load_templates,
    per_million_images,
    resource_counts,
    snap_start_gb,
    waf_rule_count,
)
from photo_ops.prices import Prices, load_prices

WIDTH = 100
CHARTS = REPO / ".cost"  # git-ignored: docs/ pictures are regenerated on purpose (--docs)
# idle_lines' items the bill files under other lines (network, monitoring) or that cost nothing.
_NETWORK_ITEMS = ("NAT gateways", "Public IPv4 addresses")
_MONITORING_ITEMS = ("Alarms", "Dashboard", "Container Insights")


def context(
    config: EnvironmentConfig, templates: dict[str, dict[str, Any]], results: Path, prices: Prices
) -> Context:
    """The bill's inputs for one environment, from its templates and the benchmark results."""
    idle = idle_lines(
        config,
        resource_counts(templates),
        prices,
        Assumptions(),
        snap_start_gb=snap_start_gb(templates),
        waf_rules=waf_rule_count(templates),
    )
    fixed = {
        "idle": sum(x.monthly_usd for x in idle if x.item not in (*_NETWORK_ITEMS, *_MONITORING_ITEMS)),
        "monitoring": sum(x.monthly_usd for x in idle if x.item in _MONITORING_ITEMS),
    }
    return Context(
        config=config,
        measured=load_measured(results, config.resize.variants),
        prices=prices,
        assume=Assumptions(),
        bill=BillAssumptions(),
        api_memory_mib=api_memory_from(templates),
        fixed=fixed,
        variant_kib=variant_kib_from(json.loads((results / "formats.json").read_text())),
        pitr=_pitr(templates),
        cdn_waf_rules=_cdn_waf_rules(templates),
    )


def _pitr(templates: dict[str, dict[str, Any]]) -> bool:
    return any(
        r["Properties"]
        .get("Replicas", [{}])[0]
        .get("PointInTimeRecoverySpecification", {})
        .get("PointInTimeRecoveryEnabled")
        for t in templates.values()
        for r in t.get("Resources", {}).values()
        if r["Type"] == "AWS::DynamoDB::GlobalTable"
    )


def _cdn_waf_rules(templates: dict[str, dict[str, Any]]) -> int:
    return sum(
        len(r["Properties"].get("Rules", []))
        for t in templates.values()
        for r in t.get("Resources", {}).values()
        if r["Type"] == "AWS::WAFv2::WebACL" and r["Properties"].get("Scope") == "CLOUDFRONT"
    )


def _usd(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:,.2f}"


def bill_table(scenario: Scenario, first: MonthBill, last: MonthBill) -> Any:
    from rich.table import Table

    table = Table(
        title=f"The bill, scenario {scenario.name}: {scenario.description}",
        title_justify="left",
        header_style="bold",
        width=WIDTH,
    )
    table.add_column("line", no_wrap=True)
    table.add_column(f"month {first.month}", justify="right", no_wrap=True)
    table.add_column("share", justify="right", no_wrap=True)
    table.add_column(f"month {last.month}", justify="right", no_wrap=True)
    table.add_column("share", justify="right", no_wrap=True)
    table.add_column(f"month {last.month}: what drives it")
    for name in LINES:
        table.add_row(
            name,
            _usd(first.lines[name]),
            f"{first.lines[name] / first.total:.0%}",
            _usd(last.lines[name]),
            f"{last.lines[name] / last.total:.0%}",
            last.detail.get(name, ""),
        )
    table.add_row(
        "[bold]total USD[/bold]",
        f"[bold]{_usd(first.total)}[/bold]",
        "",
        f"[bold]{_usd(last.total)}[/bold]",
        "",
        "",
    )
    return table


def plans_table(ctx: Context, scenario: Scenario, first: MonthBill, last: MonthBill) -> Any:
    from rich.table import Table

    table = Table(
        title="Delivery: pay-as-you-go (with the CDN's WAF) against CloudFront's flat-rate plans",
        title_justify="left",
        header_style="bold",
        width=WIDTH,
    )
    for column in ("plan", "USD / month", "allowance, in views", "wins from (views / month)"):
        table.add_column(column, justify="right" if column != "plan" else "left")
    for plan in flat_rate_plans(ctx, scenario):
        table.add_row(
            plan.plan.title(),
            _usd(plan.usd),
            f"{plan.max_views / 1e6:,.1f} M",
            f"{plan.wins_from_views / 1e6:,.2f} M"
            if plan.wins_from_views
            else "never (allowance ends first)",
        )
    verdicts = []
    for month in (first.month, last.month):
        views = scenario.uploads(month) * scenario.views_per_image
        best = best_plan(ctx, scenario, views)
        verdicts.append(
            f"month {month}, {views / 1e6:,.1f} M views: "
            + (
                f"{best[0].plan.title()} at {_usd(best[0].usd)} USD against {_usd(best[1])}"
                if best
                else "pay as you go"
            )
        )
    table.caption = "; ".join(verdicts) + ". Past its allowance a plan is throttled, not billed more."
    table.caption_justify = "left"
    return table


def levers_table(ctx: Context, scenario: Scenario, month: int) -> Any:
    from rich.table import Table

    table = Table(
        title=f"The levers in the stacks: month {month}'s bill at each setting (* = this environment's)",
        title_justify="left",
        header_style="bold",
        width=WIDTH,
    )
    for column in ("lever", "setting", f"month {month} USD", "vs now", "a full reprocess USD"):
        table.add_column(column, justify="left" if column in ("lever", "setting") else "right")
    now = month_bill(ctx, scenario, month).total
    for lever in levers(ctx.config):
        changed = with_config(ctx, lever.config)
        total = month_bill(changed, scenario, month).total
        table.add_row(
            lever.name,
            ("* " if lever.current else "  ") + lever.setting,
            _usd(total),
            f"{total - now:+,.0f}",
            _usd(reprocess_usd(changed, scenario, month)),
        )
    return table


def _lines_table(title: str, lines: list[Line]) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left", header_style="bold", width=WIDTH)
    table.add_column("item", ratio=3)
    table.add_column("quantity", ratio=3)
    table.add_column("USD / month", justify="right", no_wrap=True)
    table.add_column("note", ratio=2)
    for line in lines:
        table.add_row(line.item, line.quantity, f"{line.monthly_usd:,.2f}", line.note)
    table.add_row("[bold]total[/bold]", "", f"[bold]{sum(x.monthly_usd for x in lines):,.2f}[/bold]", "")
    return table


# --- the API runtime view -------------------------------------------------------------------------


def ceilings(ctx: Context) -> dict[str, float]:
    """Requests a month each runtime can serve at the peak-to-average ratio: API Gateway's throttle
    for Lambda, the task ceiling for Fargate (and what the same vCPUs would be on EC2)."""
    config, assume = ctx.config, ctx.assume
    per_month = SECONDS_PER_MONTH / assume.peak_to_average
    fargate = config.api.fargate
    tasks_rps = fargate.max_tasks * assume.requests_per_vcpu_second * fargate.cpu / 1024
    return {
        "lambda_api": config.api.throttle_rate_per_second * per_month,
        "fargate": tasks_rps * per_month,
        "fargate_spot": tasks_rps * per_month,
        "ec2": tasks_rps * per_month,
    }


def runtime_series(ctx: Context) -> list[tuple[str, str]]:
    series = [("lambda_api", "Lambda + API Gateway"), ("fargate", "Fargate + ALB")]
    if ctx.config.api.fargate.spot_weight:  # only where the environment runs a Spot mix
        series.append(("fargate_spot", "Fargate (Spot mix) + ALB"))
    return [*series, ("ec2", f"ECS on EC2 ({ctx.prices.text('ec2', 'instance')}) + ALB")]


def break_even_chart(
    ctx: Context, scenario: Scenario, cost: Callable[[float], RuntimeCosts], out: Path
) -> None:
    """The API runtime by traffic: each curve ends at its configured ceiling; the scenario's months 1-12
    are the shaded range; break-evens are marked on the curves; uploads on the top axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    caps = ceilings(ctx)
    grid = [1e5 * (1e10 / 1e5) ** (i / 400) for i in range(401)]
    costs = [cost(r) for r in grid]
    figure, axes = plt.subplots(figsize=(9, 5.5), dpi=110)
    for attribute, label in runtime_series(ctx):
        points = [
            (r, getattr(c, attribute)) for r, c in zip(grid, costs, strict=True) if r <= caps[attribute]
        ]
        axes.plot(
            [p[0] for p in points],
            [p[1] for p in points],
            label=f"{label} (to {caps[attribute] / 1e6:,.0f} M)",
        )
    requests_per_upload = api_requests(ctx, scenario, 1) / scenario.uploads(1)
    low, high = api_requests(ctx, scenario, 1), api_requests(ctx, scenario, 12)
    axes.axvspan(low, high, color="tab:green", alpha=0.12, label=f"scenario {scenario.name}, months 1-12")
    for attribute, label in runtime_series(ctx)[1:]:
        crossing = break_even(cost, attribute)
        if crossing is not None and crossing <= caps[attribute]:
            axes.plot([crossing], [getattr(cost(crossing), attribute)], "o", color="black", markersize=4)
            axes.annotate(
                f"= {label.split(' ')[0]}",
                (crossing, getattr(cost(crossing), attribute)),
                textcoords="offset points",
                xytext=(6, -12),
                fontsize=7,
            )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("API requests per month")
    axes.set_ylabel("USD per month (the API runtime only)")

    def to_uploads(requests: Any) -> Any:
        return requests / requests_per_upload

    def to_requests(uploads: Any) -> Any:
        return uploads * requests_per_upload

    top = axes.secondary_xaxis("top", functions=(to_uploads, to_requests))
    top.set_xlabel(f"uploads per month (scenario {scenario.name}: {requests_per_upload:.2f} requests each)")
    axes.set_title(f"{ctx.config.stack_prefix}: the API runtime by traffic", fontsize=10)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8, loc="upper left")
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    plt.close(figure)


def bill_chart(ctx: Context, scenario: Scenario, bills: list[MonthBill], out: Path) -> None:
    """The 12 months stacked by line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 5.5), dpi=110)
    months = [b.month for b in bills]
    bottom = [0.0] * len(bills)
    for name in LINES:
        values = [b.lines[name] for b in bills]
        if not any(values):
            continue
        axes.bar(months, values, bottom=bottom, label=name)
        bottom = [a + b for a, b in zip(bottom, values, strict=True)]
    axes.set_xticks(months)
    axes.set_xlabel("month")
    axes.set_ylabel("USD per month")
    axes.set_title(f"{ctx.config.stack_prefix}, scenario {scenario.name}: {scenario.description}", fontsize=9)
    axes.legend(fontsize=8, loc="upper left")
    axes.grid(True, axis="y", alpha=0.3)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    plt.close(figure)


def runtime_table(ctx: Context, cost: Callable[[float], RuntimeCosts]) -> Any:
    from rich.table import Table

    table = Table(
        title="The API runtime: USD a month by requests a month (- past a runtime's ceiling)",
        title_justify="left",
        header_style="bold",
        width=WIDTH,
    )
    series = runtime_series(ctx)
    table.add_column("requests / month", justify="right")
    for _, label in series:
        table.add_column(label, justify="right")
    caps = ceilings(ctx)
    for requests in (1e5, 1e6, 1e7, 3e7, 1e8, 3e8, 1e9):
        c = cost(requests)
        table.add_row(
            f"{requests:,.0f}",
            *(f"{getattr(c, a):,.0f}" if requests <= caps[a] else "-" for a, _ in series),
        )
    return table


def like_for_like(prices: Prices) -> str:
    """The seed note compared EC2 0.104 with Fargate 0.227 USD/h: a burstable t3 against 4 vCPUs of
    Fargate in Seoul. The same 2 vCPU / 8 GiB here, non-burstable, this region's list prices."""
    fargate = {
        arch: 2 * prices("fargate", f"{arch}_per_vcpu_hour") + 8 * prices("fargate", f"{arch}_per_gb_hour")
        for arch in ("x86_64", "arm64")
    }
    return (
        f"like for like, 2 vCPU / 8 GiB an hour ({prices.region}): Fargate x86 {fargate['x86_64']:.3f}, "
        f"m6i.large {prices('ec2', 'm6i_large_per_hour'):.3f}; Fargate arm64 {fargate['arm64']:.3f}, "
        f"{prices.text('ec2', 'instance')} {prices('ec2', 'per_hour'):.3f}. Lambda per GB-s: arm64 "
        f"{prices('lambda', 'arm64_per_gb_second'):.8f}, x86_64 {prices('lambda', 'x86_64_per_gb_second'):.8f}"
    )


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    parser = argparse.ArgumentParser(description="What an environment costs under a scenario (no network).")
    parser.add_argument("--env", required=True)
    parser.add_argument(
        "--templates", type=Path, required=True, help="the environment's synthesized templates"
    )
    parser.add_argument("--scenario", help="a name from scenarios.toml (default: the environment's)")
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--charts", type=Path, default=CHARTS, help="where the charts go (default: .cost/)")
    parser.add_argument("--docs", action="store_true", help="write the charts to docs/ (deliberately)")
    args = parser.parse_args(argv)
    config = environment_config(args.env)
    scenarios, defaults = load_scenarios()
    name = args.scenario or defaults[args.env]
    if name not in scenarios:
        parser.error(f"unknown scenario {name!r}; expected one of: {', '.join(scenarios)}")
    scenario = scenarios[name]
    templates = load_templates(args.templates)
    prices = load_prices()
    ctx = context(config, templates, args.results, prices)
    console = Console(highlight=False, width=WIDTH)
    console.print(
        f"[bold]{config.stack_prefix}[/bold]: prices {prices.region}, checked {prices.as_of} (prices.toml); "
        f"measured {ctx.measured.date} (bench/results)"
    )
    bills = [month_bill(ctx, scenario, month) for month in range(1, 13)]
    console.print(bill_table(scenario, bills[0], bills[-1]))
    console.print(
        f"a 1-year Compute Savings Plan would take {_usd(savings_plan_usd(ctx, scenario, 12))} USD off month 12; "
        f"one reprocess of every original kept at month 12: {_usd(reprocess_usd(ctx, scenario, 12))} USD"
    )
    console.print(plans_table(ctx, scenario, bills[0], bills[-1]))
    console.print(levers_table(ctx, scenario, 12))
    counts = resource_counts(templates)
    idle = idle_lines(
        config,
        counts,
        prices,
        ctx.assume,
        snap_start_gb=snap_start_gb(templates),
        waf_rules=waf_rule_count(templates),
    )
    console.print(_lines_table("Idle: the environment with no traffic", idle))
    console.print(
        _lines_table(
            "Per million uploaded images",
            per_million_images(config, ctx.measured, prices, ctx.assume, api_memory_mib=ctx.api_memory_mib),
        )
    )

    def cost(requests: float) -> RuntimeCosts:
        return api_runtime_costs(requests, config, prices, ctx.assume, api_memory_mib=ctx.api_memory_mib)

    console.print(runtime_table(ctx, cost))
    for attribute, label in runtime_series(ctx)[1:]:
        crossing = break_even(cost, attribute)
        uploads = (
            f", {crossing / (api_requests(ctx, scenario, 1) / scenario.uploads(1)) / 1e6:,.0f} M uploads"
            if crossing
            else ""
        )
        console.print(
            f"break-even, Lambda vs {label}: "
            + (
                f"{crossing / 1e6:,.0f} M requests a month ({crossing / SECONDS_PER_MONTH:.1f}/s){uploads}"
                if crossing
                else "none in range"
            )
        )
    console.print(like_for_like(prices))
    assumed = {
        **{f.name: getattr(ctx.assume, f.name) for f in fields(ctx.assume)},
        **{f.name: getattr(ctx.bill, f.name) for f in fields(ctx.bill)},
    }
    console.print("assumptions: " + ", ".join(f"{k}={v}" for k, v in assumed.items()))
    charts = (REPO / "docs") if args.docs else args.charts
    stem = f"cost-{args.env}" if args.docs else f"cost-{args.env}-{scenario.name}"
    bill_chart(ctx, scenario, bills, charts / f"{stem}-bill.png")
    break_even_chart(ctx, scenario, cost, charts / f"{stem}.png")
    console.print(f"charts: {charts / f'{stem}-bill.png'}, {charts / f'{stem}.png'}")
    return 0 if math.isfinite(bills[-1].total) else 1


if __name__ == "__main__":
    import sys

    sys.exit(main())
