"""The reconciler: an EventBridge-triggered Lambda handler ending the jobs Batch ended without a worker."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import TYPE_CHECKING, Any, Final

from shepard_scheduler._aws import aws_clients
from shepard_scheduler._config import ReconcilerConfig
from shepard_scheduler._observability import logger
from shepard_scheduler._reconcile import ReconcileKind, Reconciler, Reconciliation

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

PROJECT_DIMENSION: Final = "Project"
JOBS_FAILED: Final = "JobsFailed"
"""The worker's failed-job count (namespace and dimension the project): the failed-job alarm reads it."""


def failed_job_metric(project: str, outcome: Reconciliation) -> dict[str, Any]:
    """Return the EMF document counting one job the reconciler failed, as the worker counts its own."""
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": project,
                    "Dimensions": [[PROJECT_DIMENSION]],
                    "Metrics": [{"Name": JOBS_FAILED, "Unit": "Count"}],
                }
            ],
        },
        PROJECT_DIMENSION: project,
        "JobId": outcome.job_uuid,
        "BatchJobId": outcome.batch_job_id,
        "EndedBy": "aws-batch",
        JOBS_FAILED: 1,
    }


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Reconcile the row of the job a "Batch Job State Change" event ends; return what was done.

    An error (DynamoDB or S3 unavailable) is raised, so EventBridge's asynchronous invocation retries the
    event and sends it to the dead-letter queue after the last retry.
    """
    config = ReconcilerConfig.from_env(os.environ)
    clients = aws_clients(os.environ)
    reconciler = Reconciler(config, dynamodb_client=clients.dynamodb, s3_client=clients.s3)
    logger.append_keys(project=config.project_name, request_id=context.aws_request_id)
    outcome = reconciler.reconcile(event)
    fields = outcome.to_json()
    if outcome.kind is ReconcileKind.RECORDED:
        logger.warning("job ended by AWS Batch without its worker; recorded as failed", extra=fields)
        sys.stdout.write(json.dumps(failed_job_metric(config.project_name, outcome)) + "\n")
        sys.stdout.flush()
    else:
        logger.info("Batch end event changed nothing", extra=fields)
    return fields
