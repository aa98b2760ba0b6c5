from shepard_core import parse_inputs


def test_parse_inputs_turns_scalars_into_strings():
    """Scalar JSON values become the strings an environment variable holds."""
    assert parse_inputs(b'{"a": 1, "b": true, "c": "x"}') == {"a": "1", "b": "True", "c": "x"}
