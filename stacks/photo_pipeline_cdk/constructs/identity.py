"""Who the API's callers are: a Cognito user pool and the app's public client."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from photo_pipeline_cdk.nag import acknowledge


class UserDirectory(Construct):
    """A Cognito user pool and the app's public client. Exposes ``issuer``, ``audience``, ``jwks_url``."""

    def __init__(self, scope: Construct, construct_id: str, *, retain: bool = False) -> None:
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
