"""The pages against a flock on moto server: overview, jobs, job, new batch, results."""

from __future__ import annotations

import io
import json
import time
import zipfile

import pytest
from shepard_core import JobStatus
from ui_testkit import inputs_text, job_row, zip_bytes


def _zip_members(bucket_body: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(bucket_body)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _stored_zip(flock, key: str) -> dict[str, bytes]:
    body = flock.client("s3").get_object(Bucket=flock.inputs_bucket, Key=key)["Body"].read()
    return _zip_members(body)


class TestOverview:
    def test_counts_per_group_and_tag_and_the_newest_problems(self, browser, flock):
        """The figures JSON counts each group and TAG and lists failures with reason, exit code and link."""
        flock.write(
            job_row(1, JobStatus.JOB_COMPLETE, inputs={"TAG": "run1"}),
            job_row(2, JobStatus.JOB_FAILED, inputs={"TAG": "run1"}, failure_reason="boom", exit_code=3),
            job_row(3, JobStatus.REJECTED, rejection_reason="inputs.txt is not JSON"),
            job_row(4, JobStatus.SUBMITTED, inputs={"TAG": "run2"}),
        )
        data = browser.get("/api/overview").json()
        assert data["groups"] == {"submitted": 1, "running": 0, "complete": 1, "failed": 1, "rejected": 1}
        assert (data["total"], data["ended"], data["percent"]) == (4, 3, 75.0)
        assert {tag["tag"]: tag["total"] for tag in data["tags"]} == {"run1": 2, "run2": 1}
        problems = {problem["uuid"][-1]: problem for problem in data["problems"]}
        assert problems["2"]["reason"] == "boom"
        assert problems["2"]["exit_code"] == 3
        assert problems["2"]["link"].endswith("/error.zip")
        assert problems["3"]["link"].endswith("/report.json")
        assert data["items_read"] <= 100
        page = browser.get("/").text
        assert "boom" in page
        assert 'id="count-failed">1<' in page

    def test_the_spend_so_far_in_all_and_per_tag_from_the_counters(self, browser, flock):
        """An hour of a quarter of local.flock (USD 0.20/h) is USD 0.05; shown in all and per TAG."""
        run = {
            "instance_type": "local.flock",
            "capacity_type": "on-demand",
            "vcpus": 1,
            "memory_mib": 2048,
            "run_started_ms": 0,
        }
        flock.write(
            job_row(1, JobStatus.JOB_COMPLETE, inputs={"TAG": "run1"}, **run, run_ended_ms=3_600_000),
            job_row(2, JobStatus.JOB_FAILED, inputs={"TAG": "run1"}, **run, run_ended_ms=1_800_000),
            job_row(3, JobStatus.JOB_COMPLETE, inputs={"TAG": "run2"}, **run, run_ended_ms=7_200_000),
            job_row(4, JobStatus.JOB_COMPLETE, run_started_ms=0, run_ended_ms=1_000),
            job_row(5, JobStatus.SUBMITTED, inputs={"TAG": "run2"}),
        )
        data = browser.get("/api/overview").json()
        assert data["spend"]["total_usd"] == pytest.approx(0.05 + 0.025 + 0.10)
        assert (data["spend"]["priced"], data["spend"]["unpriced"]) == (3, 1)
        spend = {tag["tag"]: tag["spend_usd"] for tag in data["tags"]}
        assert spend == pytest.approx({"run1": 0.075, "run2": 0.10})
        assert data["items_read"] <= 100
        page = browser.get("/").text
        assert 'Spend so far: $<span id="spend">0.175000</span>' in page
        assert '<td class="spend">0.075000</td>' in page

    def test_no_ended_job_spends_nothing(self, browser, flock):
        """A flock whose jobs have not ended shows a spend of zero over no priced job."""
        flock.write(job_row(1, JobStatus.SUBMITTED))
        assert browser.get("/api/overview").json()["spend"] == {
            "total_usd": 0.0,
            "priced": 0,
            "unpriced": 0,
            "by_tag": {},
            "spot_estimated": False,
            "counted_by": "counters",
        }


class TestJobs:
    def test_filters_by_status_word_and_tag(self, browser, flock):
        """Status words select their groups; a TAG selects its jobs."""
        flock.write(
            job_row(1, JobStatus.JOB_COMPLETE, inputs={"TAG": "a"}),
            job_row(2, JobStatus.JOB_FAILED, inputs={"TAG": "b"}),
            job_row(3, JobStatus.IN_PROGRESS, inputs={"TAG": "a"}),
        )
        finished = browser.get("/jobs?status=finished").text
        assert "00000001" not in finished or "job-1.zip" in finished
        assert "job-1.zip" in finished
        assert "job-2.zip" in finished
        assert "job-3.zip" not in finished
        tagged = browser.get("/jobs?tag=a").text
        assert "job-1.zip" in tagged
        assert "job-3.zip" in tagged
        assert "job-2.zip" not in tagged

    def test_pages_newest_first_with_a_cursor(self, browser, flock):
        """Sixty jobs fill a first page of fifty, newest first, and a next page of the other ten."""
        flock.write(*(job_row(n) for n in range(60)))
        first = browser.get("/jobs?status=complete").text
        assert first.index("job-59.zip") < first.index("job-58.zip")
        assert "job-9.zip<" not in first
        start = first.index('href="', first.index('id="next-page"') - 300)
        link = first[first.index('href="', start) + 6 : first.index('"', first.index('href="', start) + 6)]
        second = browser.get(link.replace("&amp;", "&")).text
        assert "job-9.zip" in second
        assert "job-10.zip" not in second
        assert 'id="next-page"' not in second

    def test_a_bad_status_word_or_cursor_is_explained(self, browser, flock):
        """An unknown status word or a malformed cursor gives a page saying so, not a traceback."""
        answer = browser.get("/jobs?status=nonsense")
        assert answer.status_code == 400
        assert "unknown status" in answer.text
        answer = browser.get("/jobs?cursor=not-a-cursor")
        assert answer.status_code == 400


class TestJob:
    def test_inputs_times_outputs_and_a_download(self, browser, flock):
        """The Job page shows the row's inputs, times, exit code, and its zips with sizes and downloads."""
        row = job_row(5, JobStatus.JOB_COMPLETE, inputs={"SAMPLE": "s42", "TAG": "t"}, exit_code=0,
                      submit_time="2026-05-01T00:00:05Z", finish_time="2026-05-01T00:01:05Z")  # fmt: skip
        flock.write(row)
        key = f"t_result@{row.uuid}_{row.start_time}_root.zip"
        flock.put(flock.outputs_bucket, key, b"12345")
        page = browser.get(f"/jobs/{row.uuid}").text
        for expected in ("SAMPLE", "s42", "2026-05-01T00:01:05Z", key, ">5<"):
            assert expected in page
        link = f"/download/outputs/{key.replace('@', '%40')}"
        assert link in page
        assert browser.get(link).content == b"12345"

    def test_a_rejected_job_says_what_must_change(self, browser, flock):
        """A rejected job's page gives its reason, what to fix, and its report."""
        row = job_row(6, JobStatus.REJECTED, rejection_reason="TAG must be text")
        flock.write(row)
        flock.put(
            flock.errors_bucket,
            f"rejected/{row.input_zip_name}.json",
            json.dumps({"uuid": row.uuid}).encode(),
        )
        page = browser.get(f"/jobs/{row.uuid}").text
        assert "TAG must be text" in page
        assert "fix the job" in page
        report = browser.get(f"/jobs/{row.uuid}/report.json")
        assert report.status_code == 200
        assert json.loads(report.content) == {"uuid": row.uuid}

    def test_an_unknown_job_is_a_404_page(self, browser, flock):
        """A UUID the table does not hold gives a page saying so."""
        answer = browser.get("/jobs/00000000-0000-4000-8000-999999999999")
        assert answer.status_code == 404
        assert "is not in table" in answer.text

    def test_cancelling_an_ended_job_says_so(self, browser, flock):
        """Cancel on a job that already ended changes nothing and says why, as `shepard cancel` does."""
        row = job_row(7, JobStatus.JOB_COMPLETE)
        flock.write(row)
        answer = browser.post(f"/api/jobs/{row.uuid}/cancel")
        assert answer.json()["message"].startswith(f"Job {row.uuid} already ended")


class TestLog:
    def test_the_tail_then_what_came_after(self, flock):
        """The first read gives the stream's newest lines; reading after its token gives only newer ones."""
        from shepard_ui import Flock
        from shepard_ui._logs import TAIL_LINES, _read_stream
        from ui_testkit import Factory

        logs = flock.client("logs")
        logs.create_log_group(logGroupName="/aws/batch/job")
        logs.create_log_stream(logGroupName="/aws/batch/job", logStreamName="s")
        now = int(time.time() * 1000)
        events = [{"timestamp": now + n, "message": f"line {n}"} for n in range(TAIL_LINES + 20)]
        logs.put_log_events(logGroupName="/aws/batch/job", logStreamName="s", logEvents=events)
        reader = Flock(flock.names(), Factory(flock.endpoint))
        first = _read_stream(reader, "/aws/batch/job", "s", None, ended=False)
        assert first.lines[-1] == f"line {TAIL_LINES + 19}"
        assert len(first.lines) == TAIL_LINES
        later = [{"timestamp": now + 100_000, "message": "new line"}]
        logs.put_log_events(logGroupName="/aws/batch/job", logStreamName="s", logEvents=later)
        second = _read_stream(reader, "/aws/batch/job", "s", first.after, ended=False)
        assert second.lines == ("new line",)


class TestNewBatch:
    def test_a_dropped_folder_becomes_the_zip_shepard_batch_makes(self, browser, flock):
        """A folder's files are checked, zipped without the chosen folder's name, and uploaded."""
        files = [
            ("file", ("myjob/inputs.txt", inputs_text({"SAMPLE": "s1"}))),
            ("file", ("myjob/data/reads.txt", b"ACGT")),
        ]
        answer = browser.post("/api/batch", files=files)
        assert answer.status_code == 200, answer.text
        [job] = answer.json()["jobs"]
        assert job["uuid"]
        assert flock.keys(flock.inputs_bucket) == [job["key"]]
        assert _stored_zip(flock, job["key"]) == {
            "inputs.txt": b'{"SAMPLE": "s1"}',
            "data/reads.txt": b"ACGT",
        }

    @pytest.mark.parametrize(
        ("inputs", "expected"),
        [
            (b"[1, 2]", "inputs.txt"),
            (b'{"A": [1]}', "inputs.txt"),
            (b"not json", "inputs.txt"),
            (None, "has no inputs.txt"),
        ],
    )
    def test_a_bad_job_folder_is_refused_and_nothing_is_uploaded(self, browser, flock, inputs, expected):
        """A folder whose inputs.txt breaks core's rules, or has none, is refused with the reason."""
        files = [("file", ("myjob/other.txt", b"x"))]
        if inputs is not None:
            files.append(("file", ("myjob/inputs.txt", inputs)))
        answer = browser.post("/api/batch", files=files)
        assert answer.status_code == 422
        body = answer.json()
        assert any(expected in problem for problem in body["problems"])
        assert "/tmp" not in json.dumps(body)
        assert flock.keys(flock.inputs_bucket) == []

    @pytest.mark.parametrize("name", ["../escape.txt", "/etc/passwd", "a/../../b", "a\\b.txt"])
    def test_an_unsafe_file_name_is_refused(self, browser, flock, name):
        """A file name that is absolute, climbs out or holds a backslash is refused; nothing is uploaded."""
        files = [("file", ("job/inputs.txt", b"{}")), ("file", (name, b"x"))]
        answer = browser.post("/api/batch", files=files)
        assert answer.status_code == 422
        assert flock.keys(flock.inputs_bucket) == []

    def test_a_zip_is_checked_and_zipped_again(self, browser, flock):
        """A dropped zip of a job folder (the folder inside it) is batched like the folder."""
        dropped = zip_bytes({"job/inputs.txt": b'{"X": 1}', "job/a.txt": b"a"})
        answer = browser.post("/api/batch", files={"zip": ("job.zip", dropped)})
        assert answer.status_code == 200, answer.text
        [job] = answer.json()["jobs"]
        assert _stored_zip(flock, job["key"]) == {"inputs.txt": b'{"X": 1}', "a.txt": b"a"}

    def test_a_tsv_makes_one_job_per_line(self, browser, flock):
        """A folder and a TSV of parameter sets make one zip per line, its inputs.txt the line's values."""
        files = [
            ("file", ("job/inputs.txt", b'{"SAMPLE": "base", "K": "1"}')),
            ("tsv", ("params.tsv", b"SAMPLE\tK\ns1\t2\ns2\t\n")),
        ]
        answer = browser.post("/api/batch", files=files)
        assert answer.status_code == 200, answer.text
        jobs = answer.json()["jobs"]
        assert [job["label"] for job in jobs] == ["params.tsv line 2", "params.tsv line 3"]
        stored = [json.loads(_stored_zip(flock, job["key"])["inputs.txt"]) for job in jobs]
        assert stored == [{"SAMPLE": "s1", "K": "2"}, {"SAMPLE": "s2", "K": "1"}]

    def test_a_tsv_with_bad_lines_names_each_and_uploads_nothing(self, browser, flock):
        """Every ambiguous line of the TSV is named on its own; no job of it is uploaded."""
        files = [
            ("file", ("job/inputs.txt", b"{}")),
            ("tsv", ("params.tsv", b"A\tB\n1\t2\n1\n1\t2\t3\n")),
        ]
        answer = browser.post("/api/batch", files=files)
        assert answer.status_code == 422
        problems = answer.json()["problems"]
        assert len(problems) == 2
        assert "line 3" in problems[0]
        assert "line 4" in problems[1]
        assert flock.keys(flock.inputs_bucket) == []


class TestResults:
    def test_all_outputs_of_a_tag_in_one_zip(self, browser, flock):
        """The TAG's output zips come back whole inside one zip; other TAGs' do not."""
        flock.put(flock.outputs_bucket, "run1_result@a_2026-05-01T00-00-00Z_root.zip", b"A" * 3_000_000)
        flock.put(flock.outputs_bucket, "run1_result@b_2026-05-01T00-00-00Z_root.zip", b"B")
        flock.put(flock.outputs_bucket, "run2_result@c_2026-05-01T00-00-00Z_root.zip", b"C")
        answer = browser.get("/results/outputs.zip?tag=run1")
        assert answer.status_code == 200
        assert "run1-outputs.zip" in answer.headers["content-disposition"]
        members = _zip_members(answer.content)
        assert members == {
            "run1_result@a_2026-05-01T00-00-00Z_root.zip": b"A" * 3_000_000,
            "run1_result@b_2026-05-01T00-00-00Z_root.zip": b"B",
        }

    def test_outputs_of_chosen_jobs_in_one_zip(self, browser, flock):
        """Chosen jobs' outputs (found by each row's TAG) come back in one zip."""
        one, two, three = job_row(1, inputs={"TAG": "x"}), job_row(2), job_row(3)
        flock.write(one, two, three)
        for row, prefix in ((one, "x_"), (two, ""), (three, "")):
            flock.put(
                flock.outputs_bucket,
                f"{prefix}result@{row.uuid}_{row.start_time}_root.zip",
                row.uuid.encode(),
            )
        answer = browser.get(f"/results/outputs.zip?job={one.uuid}&job={two.uuid}")
        members = _zip_members(answer.content)
        assert sorted(members.values()) == sorted([one.uuid.encode(), two.uuid.encode()])

    def test_the_results_page_lists_complete_jobs(self, browser, flock):
        """The Results page offers the newest complete jobs to choose from."""
        flock.write(job_row(1), job_row(2, JobStatus.JOB_FAILED))
        page = browser.get("/results").text
        assert "job-1.zip" in page
        assert "job-2.zip" not in page


class TestTableWithoutIndexes:
    def test_overview_and_jobs_say_the_indexes_are_missing(self, browser, flock):
        """A table made before the job-list indexes gives pages saying what to update, not a traceback."""
        dynamodb = flock.client("dynamodb")
        dynamodb.delete_table(TableName=flock.table)
        dynamodb.create_table(
            TableName=flock.table,
            KeySchema=[{"AttributeName": "UUID", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "UUID", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        overview = browser.get("/")
        assert overview.status_code == 503
        assert "ByStatusGroup" in overview.text
        jobs = browser.get("/jobs")
        assert jobs.status_code == 400
        assert "ByStatusGroup" in jobs.text


class TestJustBatched:
    def test_a_job_just_uploaded_waits_for_the_scheduler(self, browser, flock):
        """The link from New batch names a job the scheduler has not recorded yet: a page that looks again."""
        answer = browser.get("/jobs/00000000-0000-4000-8000-000000000077?new=1")
        assert answer.status_code == 202
        assert 'data-page="pending"' in answer.text
        assert browser.get("/jobs/00000000-0000-4000-8000-000000000077").status_code == 404


class TestRunAgain:
    def _failed_upload(self, flock) -> object:
        """Upload a job zip and write the failed row made from that upload (its version)."""
        answer = flock.client("s3").put_object(Bucket=flock.inputs_bucket, Key="again.zip", Body=b"zip")
        row = job_row(40, JobStatus.JOB_FAILED, input_zip_name="again.zip",
                      input_zip_version=answer["VersionId"], failure_reason="exit 3")  # fmt: skip
        flock.write(row)
        return row

    def test_a_failed_job_runs_again_once_per_request(self, browser, flock):
        """Run again makes one new job from the original upload; the same request id again makes no other."""
        row = self._failed_upload(flock)
        first = browser.post(f"/api/jobs/{row.uuid}/run-again", json={"request_id": "click-1"})
        assert first.status_code == 200, first.text
        new_uuid = first.json()["job_uuid"]
        again = browser.post(f"/api/jobs/{row.uuid}/run-again", json={"request_id": "click-1"})
        assert again.json()["job_uuid"] == new_uuid
        assert "same request" in again.json()["message"]
        items = flock.client("dynamodb").scan(TableName=flock.table)["Items"]
        assert sum(item.get("SHEPARD_RUN_AGAIN_OF", {}).get("S") == row.uuid for item in items) == 1
        assert f'href="/jobs/{new_uuid}"' in browser.get(f"/jobs/{row.uuid}").text
        assert f'href="/jobs/{row.uuid}"' in browser.get(f"/jobs/{new_uuid}").text

    def test_a_rejected_job_is_not_run_again_and_says_why(self, browser, flock):
        """A rejected job is refused with what to do instead; no job is made."""
        row = job_row(41, JobStatus.REJECTED, rejection_reason="bad inputs")
        flock.write(row)
        answer = browser.post(f"/api/jobs/{row.uuid}/run-again", json={"request_id": "click-2"})
        assert answer.status_code == 409
        assert "rejected" in answer.json()["message"]
        items = flock.client("dynamodb").scan(TableName=flock.table)["Items"]
        assert not any("SHEPARD_RUN_AGAIN_OF" in item for item in items)

    def test_a_request_without_an_id_is_refused(self, browser, flock):
        """Without a request id (what makes a repeat harmless) nothing is run again."""
        row = self._failed_upload(flock)
        answer = browser.post(f"/api/jobs/{row.uuid}/run-again", json={})
        assert answer.status_code == 400
