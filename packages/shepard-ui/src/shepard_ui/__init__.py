"""`shepard ui`: a local web app over a Shepard flock: batch, watch, look into, cancel, retry, retrieve."""

from shepard_ui._app import app_url, bind, create_app, serve
from shepard_ui._flock import Flock, FlockNames
from shepard_ui._security import Secrets

__all__ = ["Flock", "FlockNames", "Secrets", "app_url", "bind", "create_app", "serve"]
