"""Moderation: an environment's rules, the labels a moderator returns, the verdict, and the decisions
recorded on an image. Stdlib only; the worker's adapters (Rekognition, local) produce the labels.

A rule names a category of Amazon Rekognition's moderation taxonomy (a top-level label such as
``Explicit`` or ``Violence``, or any label below one), a minimum confidence, and what to do: ``hold`` the
image for review or ``reject`` it. A label matches a rule when its name or its parent's is the rule's
category. Any matching ``reject`` rule wins over a ``hold``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

MODERATORS_GROUP = "moderators"  # the Cognito group (``cognito:groups`` claim) that may review


class ModerationAction(StrEnum):
    HOLD = "hold"
    REJECT = "reject"


class Decision(StrEnum):
    CLEARED = "cleared"
    REJECTED = "rejected"


@dataclass(frozen=True, kw_only=True)
class ModerationRule:
    category: str
    min_confidence: float  # 0-100, as Rekognition reports confidence
    action: ModerationAction

    def __post_init__(self) -> None:
        if not self.category:
            raise ValueError("a moderation rule needs a category")
        if not 0 <= self.min_confidence <= 100:
            raise ValueError(f"min_confidence must be 0..100, got {self.min_confidence}")


@dataclass(frozen=True, kw_only=True)
class ModerationLabel:
    name: str
    confidence: float
    parent: str = ""


@dataclass(frozen=True, kw_only=True)
class ModerationPolicy:
    """An environment's rules (empty: moderation off)."""

    rules: tuple[ModerationRule, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.rules)

    @property
    def min_confidence(self) -> float:
        """The lowest confidence any rule acts on: what to ask the moderator for."""
        return min((rule.min_confidence for rule in self.rules), default=50.0)

    def verdict(
        self, labels: list[ModerationLabel]
    ) -> tuple[ModerationAction | None, tuple[ModerationLabel, ...]]:
        """What the rules say of these labels, and the labels that matched (None: publish)."""
        matched: dict[ModerationLabel, ModerationAction] = {}
        for label in labels:
            for rule in self.rules:
                applies = (
                    rule.category in (label.name, label.parent) and label.confidence >= rule.min_confidence
                )
                if applies and matched.get(label) is not ModerationAction.REJECT:
                    matched[label] = rule.action
        if not matched:
            return None, ()
        action = (
            ModerationAction.REJECT if ModerationAction.REJECT in matched.values() else ModerationAction.HOLD
        )
        return action, tuple(sorted(matched, key=lambda lab: (-lab.confidence, lab.name)))

    def to_env(self) -> str:
        """``MODERATION``: the rules as JSON ("" is off)."""
        if not self.rules:
            return ""
        return json.dumps([asdict(rule) for rule in self.rules], separators=(",", ":"))

    @classmethod
    def from_env(cls, value: str) -> ModerationPolicy:
        if not value.strip():
            return cls()
        return cls(
            rules=tuple(
                ModerationRule(
                    category=str(rule["category"]),
                    min_confidence=float(rule["min_confidence"]),
                    action=ModerationAction(rule["action"]),
                )
                for rule in json.loads(value)
            )
        )


# Staging and prod: sexual content above 90 % is refused outright, anything explicit or violent above
# 60-80 % waits for a person. Categories from Rekognition's moderation taxonomy (version 7).
DEFAULT_POLICY = ModerationPolicy(
    rules=(
        ModerationRule(category="Explicit", min_confidence=90, action=ModerationAction.REJECT),
        ModerationRule(category="Explicit", min_confidence=60, action=ModerationAction.HOLD),
        ModerationRule(category="Violence", min_confidence=80, action=ModerationAction.HOLD),
        ModerationRule(category="Visually Disturbing", min_confidence=80, action=ModerationAction.HOLD),
        ModerationRule(category="Hate Symbols", min_confidence=70, action=ModerationAction.HOLD),
    )
)


@dataclass(frozen=True, kw_only=True)
class ModerationRecord:
    """What moderation said of an image and, after a review, who decided what and when."""

    action: ModerationAction | None  # the rules' verdict (None: passed)
    labels: tuple[ModerationLabel, ...] = ()  # the labels that matched
    model: str = ""  # the moderator's model version (Rekognition ModerationModelVersion)
    decision: Decision | None = None
    decided_by: str | None = None
    decided_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.value if self.action else None,
            "labels": [asdict(label) for label in self.labels],
            "model": self.model,
            "decision": self.decision.value if self.decision else None,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ModerationRecord:
        data = json.loads(text)
        return cls(
            action=ModerationAction(data["action"]) if data.get("action") else None,
            labels=tuple(ModerationLabel(**label) for label in data.get("labels", ())),
            model=data.get("model", ""),
            decision=Decision(data["decision"]) if data.get("decision") else None,
            decided_by=data.get("decided_by"),
            decided_at=data.get("decided_at"),
        )
