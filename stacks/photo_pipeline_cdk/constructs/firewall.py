"""A WAFv2 web ACL for a public entry point: a per-IP rate rule first, then AWS's managed rule groups."""

from __future__ import annotations

from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

RATE_RULE = "RequestsPerIp"
# AWS's managed groups, in the order they are evaluated after the rate rule: IP reputation (known bad
# sources), the core rule set, known bad inputs (Log4Shell-style payloads and the like).
MANAGED_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
)
# The core rule set blocks bodies over 8 KB; the API's own guard caps its bodies (413 body_too_large),
# and a 20-item post with long file names is larger, so that one rule only counts.
COUNT_ONLY = {"AWSManagedRulesCommonRuleSet": ("SizeRestrictions_BODY",)}


class RateLimitedWebAcl(Construct):
    """Blocks an IP past ``requests_per_ip_per_5_minutes`` (WAFv2 counts over 5 minutes) and what the
    managed groups block. Every rule has CloudWatch metrics and sampled requests. Exposes ``.web_acl``
    and ``.arn``; attach it with ``associate(resource_arn)`` (an ALB, an API Gateway REST stage) or
    pass ``.arn`` to a CloudFront distribution (``scope="CLOUDFRONT"``, created in us-east-1).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        requests_per_ip_per_5_minutes: int,
        metric_prefix: str,
        acl_scope: str = "REGIONAL",
    ) -> None:
        super().__init__(scope, construct_id)
        if not 10 <= requests_per_ip_per_5_minutes <= 2_000_000_000:
            raise ValueError(f"a rate rule takes 10..2e9 requests, got {requests_per_ip_per_5_minutes}")
        self.web_acl = wafv2.CfnWebACL(
            self,
            "Acl",
            scope=acl_scope,
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(metric_prefix),
            rules=[
                self._rate_rule(requests_per_ip_per_5_minutes, metric_prefix),
                *self._managed(metric_prefix),
            ],
        )
        self.arn = self.web_acl.attr_arn

    @staticmethod
    def _rate_rule(limit: int, prefix: str) -> wafv2.CfnWebACL.RuleProperty:
        return wafv2.CfnWebACL.RuleProperty(
            name=RATE_RULE,
            priority=0,
            action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    limit=limit, aggregate_key_type="IP", evaluation_window_sec=300
                )
            ),
            visibility_config=_visibility(f"{prefix}{RATE_RULE}"),
        )

    @staticmethod
    def _managed(prefix: str) -> list[wafv2.CfnWebACL.RuleProperty]:
        return [
            wafv2.CfnWebACL.RuleProperty(
                name=group,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS",
                        name=group,
                        rule_action_overrides=[
                            wafv2.CfnWebACL.RuleActionOverrideProperty(
                                name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                            )
                            for rule in COUNT_ONLY.get(group, ())
                        ]
                        or None,
                    )
                ),
                visibility_config=_visibility(f"{prefix}{group}"),
            )
            for priority, group in enumerate(MANAGED_GROUPS, start=1)
        ]

    def associate(self, resource_arn: str) -> wafv2.CfnWebACLAssociation:
        return wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=resource_arn, web_acl_arn=self.arn
        )


def _visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )
