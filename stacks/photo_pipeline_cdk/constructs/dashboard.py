"""One CloudWatch dashboard per environment, built from the resources the stacks made (no names typed
in). Each row is one part of the pipeline under a heading; a graph whose metric has an alarm draws the
alarm's threshold as a red line, so "good" is visible: under the line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from photo_contract.runtime import METRICS_NAMESPACE, REJECTIONS_BY_REASON_METRIC, RESIZE_SERVICE_NAME

FIVE_MINUTES = Duration.minutes(5)
ONE_MINUTE = Duration.minutes(1)
GRAPH_HEIGHT = 6


@dataclass(frozen=True)
class FargateMetricsSource:
    """What the Fargate row's metrics are keyed by: names, so another stack can pass them as imports."""

    cluster_name: str
    service_name: str
    load_balancer_full_name: str
    target_group_full_name: str

    @classmethod
    def of(cls, service: ecs_patterns.ApplicationLoadBalancedFargateService) -> FargateMetricsSource:
        """From the service construct itself (a dashboard in the same stack)."""
        return cls(
            cluster_name=service.cluster.cluster_name,
            service_name=service.service.service_name,
            load_balancer_full_name=service.load_balancer.load_balancer_full_name,
            target_group_full_name=service.target_group.target_group_full_name,
        )


def threshold(alarm: cloudwatch.Alarm, label: str) -> cloudwatch.HorizontalAnnotation:
    """The alarm's own threshold as a line on the graph (read from the alarm, never restated)."""
    cfn = alarm.node.default_child
    assert isinstance(cfn, cloudwatch.CfnAlarm)
    value = cfn.threshold
    assert isinstance(value, int | float), "an alarm with a numeric threshold"
    return cloudwatch.HorizontalAnnotation(value=value, label=label, color=cloudwatch.Color.RED)


class PipelineDashboard(Construct):
    """``.dashboard``: the API on both runtimes, the worker, the queue and its DLQ, the registry, the CDN
    and (when given) the Fargate service, each row under a heading.

    :param alarms: name -> alarm, drawn on the graphs of their metrics: ``api_5xx``, ``worker_errors``,
        ``worker_throttles``, ``processing_failures``, ``oldest_message``, ``dead_letters`` and, with a
        service, ``service_5xx``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dashboard_name: str,
        http_api: apigwv2.IHttpApi,
        worker: lambda_.IFunction,
        worker_reserved_concurrency: int,
        queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        registry_table: dynamodb.ITableV2,
        distribution: cloudfront.IDistribution,
        alarms: dict[str, cloudwatch.Alarm],
        service: FargateMetricsSource | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._alarms = alarms
        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=dashboard_name, default_interval=Duration.hours(6)
        )
        self._add_api_row(http_api)
        if service is not None:
            self._add_service_row(service)
        self._add_worker_rows(worker, worker_reserved_concurrency)
        self._add_queue_row(queue, dead_letter_queue, registry_table)
        self._add_cdn_row(distribution)

    def _heading(self, text: str) -> None:
        self.dashboard.add_widgets(cloudwatch.TextWidget(markdown=f"## {text}", width=24, height=1))

    def _graph(
        self,
        title: str,
        metrics: Sequence[cloudwatch.IMetric],
        *,
        width: int = 8,
        alarm: str | None = None,
        annotations: Sequence[cloudwatch.HorizontalAnnotation] = (),
    ) -> cloudwatch.GraphWidget:
        lines = list(annotations)
        if alarm is not None:
            lines.append(threshold(self._alarms[alarm], f"alarm: {alarm}"))
        return cloudwatch.GraphWidget(
            title=title, left=list(metrics), width=width, height=GRAPH_HEIGHT, left_annotations=lines or None
        )

    def _add_api_row(self, http_api: apigwv2.IHttpApi) -> None:
        self._heading("Upload API on Lambda (API Gateway)")
        self.dashboard.add_widgets(
            self._graph("Requests", [http_api.metric_count(period=FIVE_MINUTES)]),
            self._graph(
                "4xx / 5xx",
                [
                    http_api.metric_client_error(period=FIVE_MINUTES),
                    http_api.metric_server_error(period=FIVE_MINUTES),
                ],
                alarm="api_5xx",
            ),
            self._graph(
                "Latency p50 / p99 (ms)",
                [
                    http_api.metric_latency(period=FIVE_MINUTES, statistic="p50", label="p50"),
                    http_api.metric_latency(period=FIVE_MINUTES, statistic="p99", label="p99"),
                ],
            ),
        )

    def _add_service_row(self, service: FargateMetricsSource) -> None:
        self._heading("Upload API on Fargate (ALB)")

        def alb(
            name: str, statistic: str = "Sum", *, target_group: bool = False, label: str | None = None
        ) -> cloudwatch.Metric:
            dimensions = {"LoadBalancer": service.load_balancer_full_name}
            if target_group:
                dimensions["TargetGroup"] = service.target_group_full_name
            return cloudwatch.Metric(
                namespace="AWS/ApplicationELB",
                metric_name=name,
                dimensions_map=dimensions,
                period=FIVE_MINUTES,
                statistic=statistic,
                label=label,
            )

        def tasks(namespace: str, name: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=namespace,
                metric_name=name,
                dimensions_map={"ClusterName": service.cluster_name, "ServiceName": service.service_name},
                period=FIVE_MINUTES,
                statistic="Average",
            )

        self.dashboard.add_widgets(
            self._graph("Requests", [alb("RequestCount")], width=6),
            self._graph(
                "Target 4xx / 5xx",
                [alb("HTTPCode_Target_4XX_Count"), alb("HTTPCode_Target_5XX_Count")],
                width=6,
                alarm="service_5xx",
            ),
            self._graph(
                "Response time p50 / p99 (s)",
                [
                    alb("TargetResponseTime", "p50", target_group=True, label="p50"),
                    alb("TargetResponseTime", "p99", target_group=True, label="p99"),
                ],
                width=6,
            ),
            self._graph(
                "Tasks: CPU %, memory %, running",
                [
                    tasks("AWS/ECS", "CPUUtilization"),
                    tasks("AWS/ECS", "MemoryUtilization"),
                    tasks("ECS/ContainerInsights", "RunningTaskCount"),
                ],
                width=6,
            ),
        )

    def _add_worker_rows(self, worker: lambda_.IFunction, reserved_concurrency: int) -> None:
        self._heading("Resize worker")

        def ours(
            name: str, statistic: str, period: Duration = FIVE_MINUTES, label: str | None = None
        ) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=name,
                dimensions_map={"service": RESIZE_SERVICE_NAME},
                period=period,
                statistic=statistic,
                label=label,
            )

        by_reason = cloudwatch.MathExpression(
            expression=(
                f"SEARCH('{{{METRICS_NAMESPACE},reason,service}} "
                f"MetricName=\"{REJECTIONS_BY_REASON_METRIC}\"', 'Sum', 300)"
            ),
            label="",
            period=FIVE_MINUTES,
        )
        self.dashboard.add_widgets(
            self._graph("Images resized per minute", [ours("ImagesResized", "Sum", ONE_MINUTE)], width=6),
            self._graph(
                "Resize ms p50 / p99",
                [ours("ResizeMillis", "p50", label="p50"), ours("ResizeMillis", "p99", label="p99")],
                width=6,
            ),
            self._graph("Rejections by reason", [by_reason], width=6),
            self._graph(
                "Core failures (a bug to read)",
                [ours("ProcessingFailures", "Sum")],
                width=6,
                alarm="processing_failures",
            ),
        )
        self.dashboard.add_widgets(
            self._graph(
                "Errors", [worker.metric_errors(period=FIVE_MINUTES, statistic="Sum")], alarm="worker_errors"
            ),
            self._graph(
                "Throttles",
                [worker.metric_throttles(period=FIVE_MINUTES, statistic="Sum")],
                alarm="worker_throttles",
            ),
            self._graph(
                "Concurrent executions",
                [worker.metric("ConcurrentExecutions", period=ONE_MINUTE, statistic="Maximum")],
                annotations=[
                    cloudwatch.HorizontalAnnotation(
                        value=reserved_concurrency,
                        label="reserved concurrency",
                        color=cloudwatch.Color.ORANGE,
                    )
                ],
            ),
        )

    def _add_queue_row(
        self, queue: sqs.IQueue, dead_letter_queue: sqs.IQueue, registry_table: dynamodb.ITableV2
    ) -> None:
        self._heading("Upload-event queue, dead letters, registry")
        self.dashboard.add_widgets(
            self._graph(
                "Queue depth",
                [
                    queue.metric_approximate_number_of_messages_visible(period=ONE_MINUTE, label="waiting"),
                    queue.metric_approximate_number_of_messages_not_visible(
                        period=ONE_MINUTE, label="in flight"
                    ),
                ],
                width=6,
            ),
            self._graph(
                "Age of oldest message (s)",
                [queue.metric_approximate_age_of_oldest_message(period=ONE_MINUTE)],
                width=6,
                alarm="oldest_message",
            ),
            self._graph(
                "Dead letters",
                [dead_letter_queue.metric_approximate_number_of_messages_visible(period=ONE_MINUTE)],
                width=6,
                alarm="dead_letters",
            ),
            self._graph(
                "Registry throttled requests",
                [registry_table.metric("ThrottledRequests", period=FIVE_MINUTES, statistic="Sum")],
                width=6,
            ),
        )

    def _add_cdn_row(self, distribution: cloudfront.IDistribution) -> None:
        self._heading("CDN (CloudFront: global metrics, us-east-1)")

        def cdn(name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/CloudFront",
                metric_name=name,
                dimensions_map={"DistributionId": distribution.distribution_id, "Region": "Global"},
                region="us-east-1",
                period=FIVE_MINUTES,
                statistic=statistic,
            )

        self.dashboard.add_widgets(
            self._graph("Requests", [cdn("Requests", "Sum")]),
            # CacheHitRate is one of CloudFront's additional metrics: it shows once they are enabled.
            self._graph("Cache hit rate % (additional metric)", [cdn("CacheHitRate", "Average")]),
            self._graph("Bytes out", [cdn("BytesDownloaded", "Sum")]),
        )
