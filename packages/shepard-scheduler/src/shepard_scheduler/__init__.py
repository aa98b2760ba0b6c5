"""Shepard's Lambda handlers: the S3-event scheduler and the batching endpoint."""
