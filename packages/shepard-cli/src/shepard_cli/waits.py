"""Why a job waits for AWS Batch, for programs (the web ui): `diagnose_wait(session, batch_job_id)`."""

from shepard_cli._wait_diagnosis import WaitDiagnosis
from shepard_cli._wait_reader import ClientSource, WaitReader, diagnose_wait

__all__ = ["ClientSource", "WaitDiagnosis", "WaitReader", "diagnose_wait"]
