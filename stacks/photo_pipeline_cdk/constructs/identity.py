"""Who the API's callers are: a Cognito user pool and the app's public client."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct
from photo_contract.moderation import MODERATORS_GROUP

from photo_pipeline_cdk.assets.bundling import PythonAssetSpec
from photo_pipeline_cdk.assets.functions import RUNTIME_PROVIDED, python_function
from photo_pipeline_cdk.assets.sources import DEFAULT_ASSET_CACHE, runtime_sources
from photo_pipeline_cdk.config import DEFAULT_ARCHITECTURE, DEFAULT_PYTHON_VERSION, Architecture
from photo_pipeline_cdk.constructs.upload_quota import grant_quota_count
from photo_pipeline_cdk.nag import acknowledge, acknowledge_python_function


@dataclass(frozen=True, kw_only=True)
class SignUpLimit:
    """At most ``per_day`` self sign-ups a day, counted in ``quota_table`` by a pre-sign-up trigger."""

    per_day: int
    quota_table: dynamodb.ITableV2
    architecture: Architecture = DEFAULT_ARCHITECTURE
    python_version: str = DEFAULT_PYTHON_VERSION
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH
    asset_cache_dir: Path = DEFAULT_ASSET_CACHE


class UserDirectory(Construct):
    """A Cognito user pool, the app's public client and the moderators group. Exposes ``issuer``,
    ``audience``, ``jwks_url``, ``moderators_group``.

    :param feature_plan: Cognito's plan, always set (a pool without one is billed as Essentials).
    :param sign_up_limit: caps self sign-ups a day (None: unlimited), so that new accounts cannot
        multiply the per-owner upload quota without bound; exposes ``.sign_up_function``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        retain: bool = False,
        sign_up_limit: SignUpLimit | None = None,
        feature_plan: cognito.FeaturePlan = cognito.FeaturePlan.LITE,
    ) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "Users",
            self_sign_up_enabled=True,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
            # Always explicit: CloudFormation's default for a new pool is Essentials, at 0.015 USD per
            # monthly active user against Lite's 0.0055 (what this pool uses is in Lite).
            feature_plan=feature_plan,
        )
        self.client = self.user_pool.add_client(
            "App",
            # SRP for apps; ADMIN_USER_PASSWORD_AUTH lets an operator with IAM credentials get a token
            # from a shell (aws cognito-idp admin-initiate-auth), docs/deploy.md's first-user step.
            auth_flows=cognito.AuthFlow(user_srp=True, admin_user_password=True),
            generate_secret=False,  # a mobile/browser client cannot keep one
            prevent_user_existence_errors=True,
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
        )
        # Its members' tokens carry cognito:groups ["moderators"]: the API's review calls need it.
        self.moderators_group = cognito.CfnUserPoolGroup(
            self,
            "Moderators",
            user_pool_id=self.user_pool.user_pool_id,
            group_name=MODERATORS_GROUP,
            description="photo-pipeline: may list, clear and reject held images (/v1/moderation)",
        )
        self.sign_up_function = self._build_sign_up_limit(sign_up_limit) if sign_up_limit else None
        self.issuer = self.user_pool.user_pool_provider_url
        self.audience = self.client.user_pool_client_id
        self.jwks_url = f"{self.issuer}/.well-known/jwks.json"
        acknowledge(
            self.user_pool,
            **{
                "AwsSolutions-COG2": "A consumer photo app: MFA is offered (TOTP), not forced on every user.",
                "AwsSolutions-COG3": "Threat protection needs Cognito's Plus plan; a per-environment cost decision.",
                "AwsSolutions-COG8": "The Plus plan is a per-environment cost decision (see COG3).",
            },
        )

    def _build_sign_up_limit(self, limit: SignUpLimit) -> lambda_.Function:
        if limit.per_day < 1:
            raise ValueError(f"a sign-up limit must admit someone, got {limit.per_day} a day")
        src = runtime_sources()
        function = python_function(
            Construct(self, "SignUpLimit"),
            description="photo-pipeline: at most N self sign-ups a day (Cognito pre-sign-up trigger)",
            handler="resize_worker.signup_handler.lambda_handler",
            code=PythonAssetSpec(
                projects=(src.resize_worker, src.contract),
                constraints=src.constraints,
                hashes=src.wheel_hashes,
                architecture=limit.architecture,
                python_version=limit.python_version,
                provided=RUNTIME_PROVIDED | {"photo-pipeline-resize-core"},
            ),
            memory_mib=256,
            timeout_seconds=5,  # Cognito waits 5 s for a trigger
            reserved_concurrency=5,
            environment={
                "QUOTA_TABLE": limit.quota_table.table_name,
                "SIGNUPS_PER_DAY": str(limit.per_day),
            },
            log_retention=limit.log_retention,
            asset_cache_dir=limit.asset_cache_dir,
        )
        grant_quota_count(function, limit.quota_table)
        self.user_pool.add_trigger(cognito.UserPoolOperation.PRE_SIGN_UP, function)
        acknowledge_python_function(
            function,
            python_version=limit.python_version,
            **{"Serverless-LambdaDLQ": "Invoked synchronously by Cognito: a failure refuses the sign-up."},
        )
        return function
