"""Engine discovery under its former private name: this name is the module shepard_cli.engine itself.

Code not yet importing shepard_cli.engine (the local flock) keeps working, patches included.
"""

import sys

from shepard_cli import engine
from shepard_cli.engine import DEFAULT_SOCKET, LOCAL_ENGINE_SOCKET, adopt_local_engine

__all__ = ["DEFAULT_SOCKET", "LOCAL_ENGINE_SOCKET", "adopt_local_engine"]

sys.modules[__name__] = engine
