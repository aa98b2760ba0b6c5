"""request_payload: what the batching endpoint validates, from a direct invocation or an HTTP request."""

from __future__ import annotations

import json

from shepard_scheduler.endpoint import is_http_event, request_payload


class TestRequestPayload:
    def test_inputs_object_is_serialized(self):
        """A direct invocation's event is the inputs object, serialized to JSON bytes."""
        assert json.loads(request_payload({"a": "é", "n": 1})) == {"a": "é", "n": 1}

    def test_inputs_named_body_stay_inputs(self):
        """An inputs object with keys named body or requestContext (as strings) is not an HTTP request."""
        event = {"body": "x", "requestContext": "y"}
        assert not is_http_event(event)
        assert json.loads(request_payload(event)) == event

    def test_function_url_body_is_the_payload(self, events):
        """A function-URL request's body is the payload, byte for byte."""
        request = events.load("function_url_request")
        assert request_payload(request) == request["body"].encode()

    def test_base64_body_is_decoded(self, events):
        """An API Gateway request with isBase64Encoded gets its body decoded."""
        assert request_payload(events.load("api_gateway_request_base64")) == b'{"test": "from API Gateway"}'

    def test_missing_body_is_empty(self, events):
        """An HTTP request without a body gives an empty payload (rejected as invalid JSON later)."""
        request = events.load("function_url_request")
        del request["body"]
        assert request_payload(request) == b""
