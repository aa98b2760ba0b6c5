"""The `shepard` commands, one module per group; shepard_cli._registry lists them and loads them lazily."""
