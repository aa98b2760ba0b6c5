"""What the flock's Lambda functions run on: the Python runtime, the Powertools layer, the bundled packages.

Standard library only, so the noxfile and `.ci/run` can read it before anything is installed.
"""

from __future__ import annotations

from typing import Final

LAMBDA_PYTHON: Final = "3.13"
"""The Python version of the Lambda functions' runtime; the code they bundle is tested on it too."""

LAMBDA_RUNTIME: Final = f"python{LAMBDA_PYTHON}"
"""The `Runtime` every Lambda function of the template names (the render fails on any other)."""

POWERTOOLS_LAYER: Final = f"{{{{resolve:ssm:/aws/service/powertools/python/x86_64/{LAMBDA_RUNTIME}/latest}}}}"
"""The public Powertools layer, by the SSM parameter AWS publishes for the runtime (a dynamic reference)."""

POWERTOOLS_LAYER_NAME: Final = f"AWSLambdaPowertoolsPythonV3-{LAMBDA_RUNTIME.replace('.', '')}-x86_64"
"""The name AWS publishes that layer under; an emulator gets a placeholder layer of this name."""

BUNDLED_DISTRIBUTIONS: Final = {
    "shepard_core": "shepard-core",
    "shepard_zipindex": "shepard-zipindex",
    "shepard_scheduler": "shepard-scheduler",
}
"""The packages every Lambda's inline `index.py` carries (import name: distribution), in dependency order."""

BUNDLED_PACKAGES: Final = tuple(BUNDLED_DISTRIBUTIONS)
"""The import names of the bundled packages, in dependency order."""
