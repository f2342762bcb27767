"""Where the runtime sources the Lambda assets are built from live.

In the repository they are ``lambdas/`` beside ``stacks/``; in an installed wheel (another CDK app that
did ``pip install photo-pipeline``) they travel inside this package under ``_bundled/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # photo_pipeline_cdk/, where the wheel puts _bundled
# Built layers and function packages, keyed by everything that goes into them (-c asset_cache_dir=…).
DEFAULT_ASSET_CACHE = Path.home() / ".cache" / "photo-pipeline" / "assets"


@dataclass(frozen=True)
class RuntimeSources:
    root: Path

    @property
    def lambdas(self) -> Path:
        return self.root / "lambdas"

    @property
    def constraints(self) -> Path:
        return self.root / "constraints.txt"

    @property
    def wheel_hashes(self) -> Path:
        return self.root / "wheel-hashes.txt"

    @property
    def contract(self) -> Path:
        return self.lambdas / "contract"

    @property
    def resize_core(self) -> Path:
        return self.lambdas / "resize_core"

    @property
    def resize_worker(self) -> Path:
        return self.lambdas / "resize_worker"

    @property
    def upload_api(self) -> Path:
        return self.lambdas / "upload_api"


def runtime_sources() -> RuntimeSources:
    for root in (_PACKAGE / "_bundled", _PACKAGE.parents[1]):
        if (root / "lambdas" / "resize_core").is_dir():
            return RuntimeSources(root)
    raise FileNotFoundError(
        f"no lambdas/ sources beside or inside {_PACKAGE}; is photo-pipeline installed whole?"
    )
