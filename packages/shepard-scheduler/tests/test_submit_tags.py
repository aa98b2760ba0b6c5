"""Every SubmitJob carries the flock's tags, the jobs' TAG when one covers the array, and propagateTags."""

from __future__ import annotations

import json
import os

import pytest
from shepard_core import parse_child_job_id
from shepard_scheduler import s3_events
from shepard_scheduler._aws import aws_clients
from shepard_scheduler._submit_tags import clean_tag_text, flock_tags, submit_tags

FLOCK_TAGS = {"Project": "ShepardTest", "Team": "genomics", "Contact": "unset", "WorkloadType": "batch"}


class _SentRequests:
    """Records the parameters of every SubmitJob the client is asked to send (a botocore hook)."""

    def __init__(self, client):
        self.params: list[dict] = []
        client.meta.events.register("before-parameter-build.batch.SubmitJob", self)

    def __call__(self, params, **_):
        self.params.append(dict(params))


def _submit(flock, context, tags_by_key: dict[str, str | None]):
    """Upload one zip per key (with its TAG, if any), run the scheduler on them; return the sent requests."""
    for key, tag in tags_by_key.items():
        inputs = {"N": key} if tag is None else {"N": key, "TAG": tag}
        flock.upload(key, {"inputs.txt": json.dumps(inputs)})
    event = flock.job_messages()
    sent = _SentRequests(aws_clients(os.environ).batch)
    assert s3_events.handler(event, context) == {"batchItemFailures": []}
    return sent.params


def _stored_tags(flock, job_id: str) -> dict[str, str]:
    [job] = flock.batch.describe_jobs(jobs=[job_id])["jobs"]
    return dict(flock.batch.list_tags_for_resource(resourceArn=job["jobArn"])["tags"])


class TestSubmitJobTags:
    def test_an_array_whose_jobs_share_a_tag_carries_it_and_the_flock_s_tags(self, flock, context):
        """Three uploads with TAG=run-7: one array whose request has all five tags and propagateTags."""
        [request] = _submit(flock, context, {"a.zip": "run-7", "b.zip": "run-7", "c.zip": "run-7"})
        assert request["propagateTags"] is True
        assert request["tags"] == {**FLOCK_TAGS, "ShepardTag": "run-7"}
        assert request["arrayProperties"] == {"size": 3}
        parents = {parse_child_job_id(row["SHEPARD_BATCH_JOB_ID"])[0] for row in flock.rows()}
        [parent] = parents
        assert _stored_tags(flock, parent) == request["tags"]

    def test_an_array_of_several_tags_carries_only_the_flock_s(self, flock, context):
        """Jobs with different TAGs (or none) share no TAG: the request carries the flock's tags alone."""
        [request] = _submit(flock, context, {"a.zip": "one", "b.zip": "two", "c.zip": None})
        assert request["tags"] == FLOCK_TAGS
        assert request["propagateTags"] is True

    def test_jobs_without_a_tag_carry_only_the_flock_s(self, flock, context):
        """No job has a TAG: no ShepardTag."""
        [request] = _submit(flock, context, {"a.zip": None, "b.zip": None})
        assert request["tags"] == FLOCK_TAGS

    def test_a_single_job_carries_its_tag(self, flock, context):
        """A plain job (one upload) is tagged like an array of one."""
        [request] = _submit(flock, context, {"solo.zip": "solo"})
        assert "arrayProperties" not in request
        assert request["tags"]["ShepardTag"] == "solo"

    @pytest.mark.parametrize(
        ("tag", "stored"),
        [
            ("x" * 300, "x" * 256),
            ("a<b>|c\n", "a_b__c"),
            ("aws:billing", "aws_billing"),
            ("Ünïcødé run 1", "Ünïcødé run 1"),
        ],
    )
    def test_a_tag_batch_would_refuse_is_cleaned_and_the_jobs_are_submitted(
        self, flock, context, tag, stored
    ):
        """Too long, bad characters or AWS's reserved prefix: cleaned, never a failed submission."""
        [request] = _submit(flock, context, {"a.zip": tag, "b.zip": tag})
        assert request["tags"]["ShepardTag"] == stored
        assert {row["JOB_STATUS"] for row in flock.rows()} == {"submitted"}


class TestTagCleaning:
    def test_empty_flock_tags_are_left_off(self):
        """A parameter left empty (TeamName "") gives no tag; values are cleaned like the job's TAG."""
        tags = flock_tags(
            {"SHEPARD_TAG_PROJECT": " p ", "SHEPARD_TAG_TEAM": "", "SHEPARD_TAG_CONTACT": "a@b.c"}
        )
        assert tags == {"Project": "p", "Contact": "a@b.c"}

    def test_allowed_punctuation_is_kept(self):
        """Batch's tag characters `_.:/=+-@` and spaces pass unchanged."""
        assert clean_tag_text("a_b.c:d/e=f+g-h@i j", 256) == "a_b.c:d/e=f+g-h@i j"

    def test_a_tag_that_cleans_to_nothing_is_left_off(self):
        """A TAG of only spaces is no tag."""
        assert submit_tags({}, ["   ", "   "]) == {}
