"""The synthesized templates' policies, evaluated as IAM would for one request.

Identity policies (the role's inline and attached ``AWS::IAM::Policy`` documents) and the resource
policies AWS consults (bucket, queue, topic, event bus and key policies) are read from the templates,
their references resolved to the names the local run used. The evaluation follows IAM's order for a
principal in the resource's own account: an explicit deny anywhere wins; otherwise an allow in the
identity policy or a resource policy naming the principal suffices; KMS also needs the key policy to
allow the principal, directly or by delegating to the account. Condition keys outside ``KNOWN_KEYS``
are reported as not evaluated: an allow resting on one does not count, a deny resting on one does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from tests.permissions.requests import Place, Request

# Condition keys whose value (or absence) the evaluator knows for every request it is given.
KNOWN_KEYS = frozenset(
    {
        "aws:securetransport",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:sourcearn",
        "aws:sourceaccount",
        "s3:prefix",
    }
)
_HASH = re.compile(r"[0-9A-F]{8}$")
# What holds or shapes a permission: policies, and the resources that may name a KMS key.
_POLICY_TYPES = frozenset(
    {
        "AWS::IAM::Policy",
        "AWS::S3::BucketPolicy",
        "AWS::SQS::QueuePolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::Events::EventBusPolicy",
        "AWS::KMS::Key",
        "AWS::S3::Bucket",
        "AWS::SQS::Queue",
        "AWS::SNS::Topic",
    }
)


@dataclass(frozen=True)
class Statement:
    origin: str  # stack/logical id#index: where the statement was written
    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: Mapping[str, Mapping[str, Any]] = field(hash=False)
    principals: tuple[str, ...] = ()  # resource policies: "*", an ARN, or "service:<name>"

    def without(self, action: str) -> Statement:
        kept = tuple(a for a in self.actions if a != action)
        return Statement(
            self.origin, self.effect, kept, self.not_actions, self.resources, self.conditions, self.principals
        )


@dataclass(frozen=True)
class Role:
    stack: str
    logical_id: str
    arn: str

    @property
    def name(self) -> str:
        """The logical id without CDK's hash: stable across environments."""
        return _HASH.sub("", self.logical_id)


@dataclass
class Templates:
    place: Place
    roles: dict[str, Role]  # role name -> role
    identity: dict[str, list[Statement]]  # role name -> statements
    resource_policies: dict[str, list[Statement]]  # resource ARN -> statements
    keys_of: dict[str, str]  # resource ARN (bucket, queue, topic) -> the ARN of its KMS key
    managed_policies: dict[str, list[str]]  # role name -> managed policy ARNs (not evaluated)


class Resolver:
    """CloudFormation intrinsics to strings, with each stack's physical names supplied by ``names``
    (logical id -> name) and the rest made up, stable and distinct, so nothing matches by accident."""

    def __init__(
        self,
        place: Place,
        templates: Mapping[str, dict[str, Any]],
        names: Mapping[tuple[str, str], str],
        stack_names: Mapping[str, str] | None = None,
    ) -> None:
        self.place = place
        self._templates = templates
        self._names = names
        self._stack_names = stack_names or {}  # template stem -> CloudFormation stack name
        self._exports: dict[str, tuple[str, Any]] = {}
        for stack, template in templates.items():
            for output in template.get("Outputs", {}).values():
                if "Export" in output:
                    self._exports[str(self.resolve(stack, output["Export"]["Name"]))] = (
                        stack,
                        output["Value"],
                    )

    def physical(self, stack: str, logical_id: str) -> str:
        bound = self._names.get((stack, logical_id))
        if bound:
            return bound
        if self._type(stack, logical_id) == "AWS::IAM::Role":  # CloudFormation: <stack name>-<logical id>-…
            return f"{self._stack_names.get(stack, stack)}-{logical_id}-AbCdEf123456"
        return f"{stack}-{logical_id}".lower()

    def _type(self, stack: str, logical_id: str) -> str:
        return str(self._templates[stack]["Resources"].get(logical_id, {}).get("Type", ""))

    def arn(self, stack: str, logical_id: str) -> str:
        kind, name, p = self._type(stack, logical_id), self.physical(stack, logical_id), self.place
        region = f"{p.region}:{p.account}"
        return {
            "AWS::S3::Bucket": f"arn:{p.partition}:s3:::{name}",
            "AWS::SQS::Queue": f"arn:{p.partition}:sqs:{region}:{name}",
            "AWS::SNS::Topic": f"arn:{p.partition}:sns:{region}:{name}",
            "AWS::DynamoDB::Table": f"arn:{p.partition}:dynamodb:{region}:table/{name}",
            "AWS::DynamoDB::GlobalTable": f"arn:{p.partition}:dynamodb:{region}:table/{name}",
            "AWS::Events::EventBus": f"arn:{p.partition}:events:{region}:event-bus/{name}",
            "AWS::Lambda::Function": f"arn:{p.partition}:lambda:{region}:function:{name}",
            "AWS::IAM::Role": f"arn:{p.partition}:iam::{p.account}:role/{name}",
            "AWS::KMS::Key": f"arn:{p.partition}:kms:{region}:key/{name}",
            "AWS::Logs::LogGroup": f"arn:{p.partition}:logs:{region}:log-group:{name}:*",
            "AWS::StepFunctions::StateMachine": f"arn:{p.partition}:states:{region}:stateMachine:{name}",
            "AWS::SecretsManager::Secret": f"arn:{p.partition}:secretsmanager:{region}:secret:{name}-AbCdEf",
            "AWS::ECR::Repository": f"arn:{p.partition}:ecr:{region}:repository/{name}",
        }.get(kind, f"arn:{p.partition}:unknown:{region}:{name}")

    def _ref(self, stack: str, target: str) -> str:
        pseudo = {
            "AWS::AccountId": self.place.account,
            "AWS::Region": self.place.region,
            "AWS::Partition": self.place.partition,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack,
        }
        if target in pseudo:
            return pseudo[target]
        kind = self._type(stack, target)
        if kind in ("AWS::SNS::Topic", "AWS::StepFunctions::StateMachine", "AWS::SecretsManager::Secret"):
            return self.arn(stack, target)
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{self.place.region}.amazonaws.com/{self.place.account}/{self.physical(stack, target)}"
        return self.physical(stack, target)

    def resolve(self, stack: str, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(stack, v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((fn, arg),) = value.items()
            intrinsic = self._intrinsics.get(fn)
            if intrinsic is not None:
                return intrinsic(self, stack, arg)
        return {k: self.resolve(stack, v) for k, v in value.items()}

    def _get_att(self, stack: str, arg: Any) -> str:
        logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
        if attribute == "Arn":
            return self.arn(stack, logical_id)
        if attribute == "QueueName":
            return self.physical(stack, logical_id)
        return f"{self.physical(stack, logical_id)}.{attribute}"

    def _join(self, stack: str, arg: Any) -> str:
        separator, parts = arg
        return str(separator).join(str(self.resolve(stack, p)) for p in parts)

    def _select(self, stack: str, arg: Any) -> Any:
        index, items = arg
        resolved = self.resolve(stack, items)
        # e.g. an availability zone of Fn::GetAZs: nothing a policy names
        return (
            resolved[int(index)]
            if isinstance(resolved, list) and int(index) < len(resolved)
            else "unresolved"
        )

    def _split(self, stack: str, arg: Any) -> list[str]:
        separator, text = arg
        return str(self.resolve(stack, text)).split(separator)

    def _import(self, stack: str, arg: Any) -> Any:
        name = str(self.resolve(stack, arg))
        if name not in self._exports:
            return f"unbound-import-{name}"
        owner, exported = self._exports[name]
        return self.resolve(owner, exported)

    def _sub(self, stack: str, arg: Any) -> Any:
        if not isinstance(arg, str):
            return {"Fn::Sub": arg}
        return re.sub(r"\$\{([\w:]+)\}", lambda m: str(self._ref(stack, m.group(1))), arg)

    _intrinsics: Mapping[str, Any] = {
        "Ref": _ref,
        "Fn::GetAtt": _get_att,
        "Fn::Join": _join,
        "Fn::Select": _select,
        "Fn::Split": _split,
        "Fn::ImportValue": _import,
        "Fn::Sub": _sub,
    }


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(str(v) for v in (value if isinstance(value, list) else [value]))


def _principals(value: Any) -> tuple[str, ...]:
    if value == "*":
        return ("*",)
    found: list[str] = []
    for kind, names in (value or {}).items():
        for name in _strings(names):
            found.append(f"service:{name}" if kind == "Service" else name)
    return tuple(found)


def _statements(origin: str, document: Mapping[str, Any], *, resource_policy: bool) -> list[Statement]:
    raw = document["Statement"]
    return [
        Statement(
            origin=f"{origin}#{index}",
            effect=s["Effect"],
            actions=_strings(s.get("Action")),
            not_actions=_strings(s.get("NotAction")),
            resources=_strings(s.get("Resource", "*")),
            conditions={
                op: {k.lower(): v for k, v in keys.items()} for op, keys in s.get("Condition", {}).items()
            },
            principals=_principals(s.get("Principal")) if resource_policy else (),
        )
        for index, s in enumerate(raw if isinstance(raw, list) else [raw])
    ]


def load_templates(
    directory: Path,
    place: Place,
    names: Mapping[tuple[str, str], str],
    stack_names: Mapping[str, str] | None = None,
) -> Templates:
    """Every template in ``directory`` (``<Stack>.template.json``), its references resolved."""
    raw = {
        path.name.removesuffix(".template.json"): json.loads(path.read_text())
        for path in sorted(directory.glob("*.template.json"))
    }
    resolver = Resolver(place, raw, names, stack_names)
    model = Templates(place, {}, {}, {}, {}, {})
    for stack, template in raw.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] == "AWS::IAM::Role":
                _add_role(model, resolver, stack, logical_id, resource)
        for logical_id, resource in template["Resources"].items():
            kind = resource["Type"]
            if kind not in _POLICY_TYPES:
                continue
            props = resolver.resolve(stack, resource.get("Properties", {}))
            reader = _POLICY_READERS.get(kind)
            if reader is not None:
                reader(model, resolver, f"{stack}/{logical_id}", resource, props)
            _record_key(model, resolver, stack, logical_id, kind, props)
    return model


def _add_role(model: Templates, resolver: Resolver, stack: str, logical_id: str, resource: Any) -> None:
    role = Role(stack, logical_id, resolver.arn(stack, logical_id))
    model.roles[role.name] = role
    props = resolver.resolve(stack, resource["Properties"])
    model.identity.setdefault(role.name, [])
    model.managed_policies[role.name] = list(_strings(props.get("ManagedPolicyArns")))
    for inline in props.get("Policies", []):
        origin = f"{stack}/{logical_id}/{inline['PolicyName']}"
        model.identity[role.name] += _statements(origin, inline["PolicyDocument"], resource_policy=False)


def _identity_policy(model: Templates, _: Resolver, origin: str, resource: Any, props: Any) -> None:
    for role_ref in resource["Properties"].get("Roles", []):
        statements = _statements(origin, props["PolicyDocument"], resource_policy=False)
        model.identity.setdefault(_HASH.sub("", role_ref["Ref"]), []).extend(statements)


def _attach(model: Templates, arn: str, origin: str, document: Mapping[str, Any]) -> None:
    model.resource_policies.setdefault(arn, []).extend(_statements(origin, document, resource_policy=True))


def _bucket_policy(model: Templates, _: Resolver, origin: str, __: Any, props: Any) -> None:
    _attach(model, f"arn:{model.place.partition}:s3:::{props['Bucket']}", origin, props["PolicyDocument"])


def _queue_policy(model: Templates, _: Resolver, origin: str, __: Any, props: Any) -> None:
    p = model.place
    for url in props["Queues"]:
        name = str(url).rstrip("/").rsplit("/", 1)[-1]
        _attach(
            model, f"arn:{p.partition}:sqs:{p.region}:{p.account}:{name}", origin, props["PolicyDocument"]
        )


def _topic_policy(model: Templates, _: Resolver, origin: str, __: Any, props: Any) -> None:
    for arn in props["Topics"]:
        _attach(model, str(arn), origin, props["PolicyDocument"])


def _bus_policy(model: Templates, _: Resolver, origin: str, __: Any, props: Any) -> None:
    p = model.place
    arn = f"arn:{p.partition}:events:{p.region}:{p.account}:event-bus/{props['EventBusName']}"
    _attach(model, arn, origin, props.get("Policy") or {"Statement": [props["Statement"]]})


def _key_policy(model: Templates, resolver: Resolver, origin: str, __: Any, props: Any) -> None:
    stack, logical_id = origin.split("/", 1)
    _attach(model, resolver.arn(stack, logical_id), origin, props["KeyPolicy"])


_POLICY_READERS: Mapping[str, Any] = {
    "AWS::IAM::Policy": _identity_policy,
    "AWS::S3::BucketPolicy": _bucket_policy,
    "AWS::SQS::QueuePolicy": _queue_policy,
    "AWS::SNS::TopicPolicy": _topic_policy,
    "AWS::Events::EventBusPolicy": _bus_policy,
    "AWS::KMS::Key": _key_policy,
}


def _record_key(
    model: Templates, resolver: Resolver, stack: str, logical_id: str, kind: str, props: Mapping[str, Any]
) -> None:
    """Which resources are encrypted with a KMS key a caller must be allowed to use."""
    key: str | None = None
    if kind == "AWS::S3::Bucket":
        for rule in props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", []):
            default = rule.get("ServerSideEncryptionByDefault", {})
            if str(default.get("SSEAlgorithm", "")).startswith("aws:kms"):
                key = str(default.get("KMSMasterKeyID") or "alias/aws/s3")
    elif kind in ("AWS::SQS::Queue", "AWS::SNS::Topic"):
        key = props.get("KmsMasterKeyId")
    if key and not str(key).startswith(
        (
            "alias/aws/",
            f"arn:{resolver.place.partition}:kms:{resolver.place.region}:{resolver.place.account}:alias/aws/",
        )
    ):
        model.keys_of[resolver.arn(stack, logical_id)] = _key_arn(str(key), resolver.place)


def _key_arn(key: str, place: Place) -> str:
    return (
        key
        if key.startswith("arn:")
        else f"arn:{place.partition}:kms:{place.region}:{place.account}:key/{key}"
    )


@cache
def _pattern(glob: str) -> re.Pattern[str]:
    """IAM's wildcards: * any run of characters (slashes too), ? one character; case-sensitive."""
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob) + r"\Z", re.S
    )


def _matches(globs: Iterable[str], value: str, *, fold_case: bool = False) -> bool:
    value = value.lower() if fold_case else value
    return any(_pattern(g.lower() if fold_case else g).match(value) for g in globs)


@dataclass
class Verdict:
    allowed: bool
    denied_by: list[str] = field(default_factory=list)  # statement origins of explicit denies
    allowed_by: list[str] = field(default_factory=list)
    not_evaluated: set[str] = field(default_factory=set)  # condition keys the evaluator does not know


_NEGATED = ("StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike")


def _condition(operator: str, key: str, wanted: Any, context: Mapping[str, str]) -> bool | None:
    """True/False, or None when the key is one the evaluator cannot know."""
    if_exists = operator.endswith("IfExists")
    op = operator.removesuffix("IfExists")
    if key not in KNOWN_KEYS:
        return None
    if key not in context:
        return if_exists or op in _NEGATED or (op == "Null" and str(wanted).lower() == "true")
    value = context[key]
    wanted_values = _strings(wanted)
    if op == "Null":
        return str(wanted).lower() == "false"
    if op == "Bool":
        return value.lower() in (w.lower() for w in wanted_values)
    if op in ("StringEquals", "ArnEquals"):
        return value in wanted_values
    if op in ("StringNotEquals", "ArnNotEquals"):
        return value not in wanted_values
    if op in ("StringLike", "ArnLike"):
        return _matches(wanted_values, value)
    if op in ("StringNotLike", "ArnNotLike"):
        return not _matches(wanted_values, value)
    if op == "StringEqualsIgnoreCase":
        return value.lower() in (w.lower() for w in wanted_values)
    return None


def _applies(statement: Statement, request: Request, context: Mapping[str, str], verdict: Verdict) -> bool:
    """Action, resource and conditions match; an unknown condition makes an allow not apply, a deny apply."""
    if not statement.actions and not statement.not_actions:
        return False  # every action removed (the removal test): the statement grants nothing
    if statement.actions and not _matches(statement.actions, request.action, fold_case=True):
        return False
    if statement.not_actions and _matches(statement.not_actions, request.action, fold_case=True):
        return False
    if not _matches(statement.resources, request.resource):
        return False
    for operator, keys in statement.conditions.items():
        for key, wanted in keys.items():
            result = _condition(operator, key, wanted, context)
            if result is None:
                verdict.not_evaluated.add(key)
                return statement.effect == "Deny"
            if not result:
                return False
    return True


def _names_principal(statement: Statement, principal: str, account_root: str) -> str | None:
    """'direct' when the statement names the principal (or everyone), 'account' when it names the account."""
    if "*" in statement.principals or principal in statement.principals:
        return "direct"
    if account_root in statement.principals or statement.principals == (account_root.split(":")[4],):
        return "account"
    return None


def evaluate(
    templates: Templates,
    request: Request,
    *,
    principal: str,
    identity: list[Statement] | None = None,
    context: Mapping[str, str] | None = None,
) -> Verdict:
    """Would ``principal`` (a role ARN, or "service:<name>" for an AWS service acting for the project)
    be allowed ``request``? ``identity`` is its identity policy (None for a service principal)."""
    place = templates.place
    account_root = f"arn:{place.partition}:iam::{place.account}:root"
    full_context = {
        "aws:securetransport": "true",
        **{k.lower(): v for k, v in (context or {}).items()},
        **{k.lower(): v for k, v in request.context.items()},
    }
    if not principal.startswith("service:"):
        full_context.setdefault("aws:principalaccount", place.account)
        full_context.setdefault("aws:principalarn", principal)
    verdict = Verdict(allowed=False)
    identity_allows = False
    for statement in identity or []:
        if _applies(statement, request, full_context, verdict):
            if statement.effect == "Deny":
                verdict.denied_by.append(statement.origin)
            else:
                identity_allows = True
                verdict.allowed_by.append(statement.origin)
    resource_allows, delegated = False, False
    for statement in _resource_policy(templates, request.resource):
        naming = _names_principal(statement, principal, account_root)
        if naming is None or not _applies(statement, request, full_context, verdict):
            continue
        if statement.effect == "Deny":
            verdict.denied_by.append(statement.origin)
        elif naming == "direct":
            resource_allows = True
            verdict.allowed_by.append(statement.origin)
        else:
            delegated = True
    if request.action.startswith("kms:"):
        # A key policy must allow the use: itself, or by delegating to the account's IAM policies.
        allowed = resource_allows or (delegated and identity_allows)
    else:
        allowed = identity_allows or resource_allows
    verdict.allowed = allowed and not verdict.denied_by
    return verdict


def _resource_policy(templates: Templates, resource: str) -> list[Statement]:
    owner = (
        resource
        if resource in templates.resource_policies
        else resource.split("/", 1)[0]
        if resource.startswith("arn:aws:s3:::")
        else resource
    )
    return templates.resource_policies.get(owner, [])


def key_requests(templates: Templates, request: Request) -> list[Request]:
    """Using an encrypted resource also uses its key: writes GenerateDataKey, reads Decrypt."""
    owner = (
        request.resource.split("/", 1)[0]
        if request.resource.startswith("arn:aws:s3:::")
        else request.resource
    )
    key = templates.keys_of.get(owner)
    if key is None:
        return []
    verb = request.action.split(":", 1)[1]
    writes = verb.startswith(("Put", "Send", "Publish", "Upload"))
    return [Request("kms:GenerateDataKey" if writes else "kms:Decrypt", key)]
