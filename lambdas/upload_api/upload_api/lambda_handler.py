"""Lambda entry point (API Gateway HTTP API, payload v2): the same app through Mangum."""

from __future__ import annotations

import os

from mangum import Mangum

from upload_api.settings import ApiSettings
from upload_api.wiring import build_app

handler = Mangum(build_app(ApiSettings.from_env(os.environ)), lifespan="off")
