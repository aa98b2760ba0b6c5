"""Engine discovery under its former private name: this name is the module shepard_cli.engine itself.

Code not yet importing shepard_cli.engine (the local flock) keeps working, patches included.
"""

import sys

from shepard_cli import engine

sys.modules[__name__] = engine
