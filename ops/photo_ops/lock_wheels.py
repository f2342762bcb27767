"""Write wheel-hashes.txt (every third-party wheel a Lambda asset may install) and
containers/api/requirements.txt (the API image's packages), each with its sha256.

``make lock-wheels`` after changing a pin in constraints.txt; the asset build and the image then install
with ``pip --require-hashes``, so a replaced file on the index (or a mirror) fails the build.
"""

from __future__ import annotations

import sys
from pathlib import Path

from photo_pipeline_cdk.assets.bundling import lock_requirements, lock_wheel_hashes
from photo_pipeline_cdk.assets.sources import runtime_sources
from photo_pipeline_cdk.config import DEFAULT_PYTHON_VERSION, ENVIRONMENTS, Architecture

# The image's platform and Python: containers/api/Dockerfile's base image (linux/arm64, 3.13).
API_IMAGE_REQUIREMENTS = Path("containers/api/requirements.txt")


def main() -> int:
    src = runtime_sources()
    versions = sorted({config.resize.python_version for config in ENVIRONMENTS.values()})
    count = lock_wheel_hashes(
        [src.contract, src.resize_core, src.resize_worker, src.upload_api],
        constraints=src.constraints,
        python_versions=versions,
        destination=src.wheel_hashes,
    )
    print(f"{src.wheel_hashes}: {count} distributions (Python {', '.join(versions)}, arm64 and x86_64)")
    count = lock_requirements(
        [(src.contract, ""), (src.upload_api, "[server]")],
        constraints=src.constraints,
        architecture=Architecture.ARM_64,
        python_version=DEFAULT_PYTHON_VERSION,
        destination=src.root / API_IMAGE_REQUIREMENTS,
    )
    print(f"{API_IMAGE_REQUIREMENTS}: {count} distributions (arm64, Python {DEFAULT_PYTHON_VERSION})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
