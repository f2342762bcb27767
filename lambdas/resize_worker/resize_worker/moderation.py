"""Moderators: what labels an image's JPEG earns. One interface, two implementations.

- ``RekognitionModerator``: Amazon Rekognition ``DetectModerationLabels`` on the bytes the worker has just
  encoded (no second decode, no S3 read by Rekognition). Any error is raised: the message is retried and
  the image stays pending; a failed call never passes an image.
- ``LocalModerator``: a deterministic rule for the local pipeline (the demo and ``make serve``), which has
  no Rekognition. It labels a picture whose average colour is strongly red (red over 170, green and
  blue under 90, from a 1x1 reduction of the JPEG) ``Graphic Violence`` under ``Violence`` at 97 %; every
  other picture gets no label. Not a classifier: a stand-in that lets the held flow run without AWS.
"""

from __future__ import annotations

import io
from typing import Any, Protocol

from photo_contract.moderation import ModerationLabel
from PIL import Image

LOCAL_MODEL = "local-red-rule-1"


class Moderator(Protocol):
    def labels(self, jpeg: bytes, *, min_confidence: float) -> tuple[list[ModerationLabel], str]:
        """The image's moderation labels at or above ``min_confidence``, and the model's version."""
        ...


class RekognitionModerator:
    def __init__(self, rekognition: Any) -> None:
        self._client = rekognition

    def labels(self, jpeg: bytes, *, min_confidence: float) -> tuple[list[ModerationLabel], str]:
        response = self._client.detect_moderation_labels(Image={"Bytes": jpeg}, MinConfidence=min_confidence)
        found = [
            ModerationLabel(
                name=str(label["Name"]),
                parent=str(label.get("ParentName", "")),
                confidence=round(float(label["Confidence"]), 2),
            )
            for label in response.get("ModerationLabels", [])
        ]
        return found, str(response.get("ModerationModelVersion", ""))


class LocalModerator:
    def labels(self, jpeg: bytes, *, min_confidence: float) -> tuple[list[ModerationLabel], str]:
        with Image.open(io.BytesIO(jpeg)) as image:
            image.draft("RGB", (64, 64))  # a DCT-scaled decode of a few KB: well under a millisecond
            red, green, blue = image.convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))  # type: ignore[misc]
        if red > 170 and green < 90 and blue < 90 and min_confidence <= 97:
            return [
                ModerationLabel(name="Violence", confidence=97.0),
                ModerationLabel(name="Graphic Violence", parent="Violence", confidence=97.0),
            ], LOCAL_MODEL
        return [], LOCAL_MODEL
