"""Shepard's AWS Batch container entrypoint: stage a job, run its payload, ship its outputs."""
