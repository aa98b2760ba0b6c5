"""The worker's GPUs: NVIDIA_VISIBLE_DEVICES read and checked, and what each runtime gives its payload."""

from __future__ import annotations

import io
import logging

import pytest
from shepard_core import JobStatus
from shepard_worker import ExitCode, WorkerConfig, WorkerConfigError, run_job
from shepard_worker._gpus import (
    GpuAssignment,
    GpuAssignmentError,
    assigned_gpus,
    inherited_gpu_variables,
)

UUID_A = "GPU-3b2c1e8a-9f4d-4c21-8e5b-0a1b2c3d4e5f"
UUID_B = "GPU-71f0d9c6-5e2a-4b8f-a1c3-d4e5f6a7b8c9"
UUID_C = "GPU-0e9d8c7b-6a5f-4e3d-2c1b-0a9f8e7d6c5b"
DUMP_ENV = 'env > "$ROOT_OUTPUT_NAME/env.txt"\n'


def _requests(assignment: GpuAssignment) -> list[dict[str, object]]:
    """Return the device requests as the engine's API receives them."""
    return [dict(request) for request in assignment.device_requests()]


class TestAssignedGpus:
    @pytest.mark.parametrize("value", [None, "", "  ", "none", "void"])
    @pytest.mark.parametrize("on_batch", [True, False])
    def test_no_value_none_and_void_give_no_gpu(self, value: str | None, on_batch: bool) -> None:  # noqa: FBT001
        """Unset, empty, `none` and `void` (the toolkit's words for no GPU) give no device request."""
        assignment = assigned_gpus(value, on_batch=on_batch)
        assert not assignment.has_gpus
        assert assignment.device_requests() == []
        assert assignment.environment() == {"NVIDIA_VISIBLE_DEVICES": "void"}

    @pytest.mark.parametrize(
        ("value", "ids"),
        [
            (UUID_A, (UUID_A,)),
            ("0", ("0",)),
            (f"{UUID_A},{UUID_B},{UUID_C}", (UUID_A, UUID_B, UUID_C)),
            ("0,1,3", ("0", "1", "3")),
            (f" 2 , {UUID_B} ", ("2", UUID_B)),
            ("07", ("7",)),
            (UUID_A.upper(), (UUID_A.upper(),)),
        ],
    )
    def test_the_assigned_ids_are_requested_exactly(self, value: str, ids: tuple[str, ...]) -> None:
        """UUIDs and indices, one or several, become one nvidia device request naming exactly those ids."""
        assignment = assigned_gpus(value, on_batch=True)
        assert assignment.device_ids == ids
        assert _requests(assignment) == [
            {"Driver": "nvidia", "Count": 0, "DeviceIDs": list(ids), "Capabilities": [["gpu"]], "Options": {}}
        ]
        assert assignment.environment() == {"NVIDIA_VISIBLE_DEVICES": ",".join(ids)}

    def test_all_on_batch_assigns_no_gpu_and_says_so(self, caplog: pytest.LogCaptureFixture) -> None:
        """On AWS Batch `all` is no assignment (Batch lists ids): the payload gets none, with a warning."""
        with caplog.at_level(logging.WARNING, logger="shepard_worker"):
            assignment = assigned_gpus("all", on_batch=True)
        assert not assignment.has_gpus
        assert assignment.device_requests() == []
        assert assignment.environment() == {"NVIDIA_VISIBLE_DEVICES": "void"}
        assert "no GPU was assigned to this job" in caplog.text

    def test_all_off_batch_is_every_gpu_of_the_engine(self) -> None:
        """Outside Batch (a `--gpus all` worker) `all` gives the payload every GPU, as the worker has."""
        assignment = assigned_gpus("all", on_batch=False)
        assert assignment.every_gpu
        assert _requests(assignment) == [
            {"Driver": "nvidia", "Count": -1, "DeviceIDs": [], "Capabilities": [["gpu"]], "Options": {}}
        ]
        assert assignment.environment() == {"NVIDIA_VISIBLE_DEVICES": "all"}

    @pytest.mark.parametrize(
        ("value", "names"),
        [
            ("GPU-123", "'GPU-123'"),
            ("gpu0", "'gpu0'"),
            ("0,,1", "an empty item"),
            ("0,", "an empty item"),
            ("-1", "'-1'"),
            ("64", "'64'"),
            ("ALL", "'ALL'"),
            ("all,0", "'all'"),
            (f"MIG-{UUID_A[4:]}", "'MIG-"),
            ("0;touch /tmp/x", "'0;touch /tmp/x'"),
            (UUID_A + "0", f"'{UUID_A}0'"),
            (UUID_A.lower(), f"'{UUID_A.lower()}'"),
        ],
    )
    def test_anything_else_is_a_config_error_naming_it(self, value: str, names: str) -> None:
        """A value naming no GPU is a GpuAssignmentError (a WorkerConfigError) quoting it and the forms."""
        with pytest.raises(GpuAssignmentError) as raised:
            assigned_gpus(value, on_batch=True)
        message = str(raised.value)
        assert f"NVIDIA_VISIBLE_DEVICES={value!r}" in message
        assert names in message
        assert "GPU UUIDs" in message
        assert isinstance(raised.value, WorkerConfigError)
        assert raised.value.exit_code is ExitCode.CONFIG_ERROR

    @pytest.mark.parametrize("value", ["0,0", f"{UUID_A},1,{UUID_A}", "3,03"])
    def test_a_gpu_named_twice_is_refused(self, value: str) -> None:
        """An assignment naming one GPU twice is malformed: refused, not requested twice."""
        with pytest.raises(GpuAssignmentError, match="twice"):
            assigned_gpus(value, on_batch=True)


class TestInheritedVariables:
    def test_the_worker_s_gpu_variables_are_kept(self) -> None:
        """Both variables reach a payload in the worker's container; the worker's NVIDIA value wins."""
        worker = {"NVIDIA_VISIBLE_DEVICES": UUID_A, "CUDA_VISIBLE_DEVICES": "0", "OTHER": "x"}
        kept = inherited_gpu_variables(worker, {"NVIDIA_VISIBLE_DEVICES": "all"})
        assert kept == {"NVIDIA_VISIBLE_DEVICES": UUID_A, "CUDA_VISIBLE_DEVICES": "0"}

    def test_an_input_s_cuda_choice_stays(self) -> None:
        """A job's own CUDA_VISIBLE_DEVICES (a choice among the container's GPUs) is not overwritten."""
        worker = {"NVIDIA_VISIBLE_DEVICES": f"{UUID_A},{UUID_B}", "CUDA_VISIBLE_DEVICES": "0,1"}
        kept = inherited_gpu_variables(worker, {"CUDA_VISIBLE_DEVICES": "1"})
        assert kept == {"NVIDIA_VISIBLE_DEVICES": f"{UUID_A},{UUID_B}"}

    @pytest.mark.parametrize("value", [UUID_A, f"{UUID_A},{UUID_B}", f" {UUID_A} , {UUID_C}"])
    def test_assigned_uuids_narrow_cuda_to_them(self, value: str) -> None:
        """GPUs assigned by UUID become CUDA_VISIBLE_DEVICES: a privileged container uses no other."""
        kept = inherited_gpu_variables({"NVIDIA_VISIBLE_DEVICES": value}, {})
        assert kept == {
            "NVIDIA_VISIBLE_DEVICES": value,
            "CUDA_VISIBLE_DEVICES": ",".join(token.strip() for token in value.split(",")),
        }

    @pytest.mark.parametrize("value", ["0", "1,3", f"{UUID_A},2", "all", "void", ""])
    def test_indices_and_keywords_are_not_copied_to_cuda(self, value: str) -> None:
        """Indices (numbered anew inside a container) and keywords leave CUDA_VISIBLE_DEVICES unset."""
        assert inherited_gpu_variables({"NVIDIA_VISIBLE_DEVICES": value}, {}) == {
            "NVIDIA_VISIBLE_DEVICES": value
        }

    def test_a_worker_without_gpus_adds_nothing(self) -> None:
        """Without the variables on the worker, the payload's environment gains nothing."""
        assert inherited_gpu_variables({"PATH": "/bin"}, {}) == {}


class TestConfig:
    def test_the_worker_reads_its_assigned_gpus_unchecked(self, flock) -> None:
        """WorkerConfig keeps NVIDIA_VISIBLE_DEVICES as set, to check it when the job's payload starts."""
        assert flock.config(NVIDIA_VISIBLE_DEVICES="0,1").visible_gpus == "0,1"
        assert flock.config(NVIDIA_VISIBLE_DEVICES="bogus").visible_gpus == "bogus"
        assert WorkerConfig.from_env(flock.env()).visible_gpus is None


def _run(flock, **overrides: str):
    return run_job(flock.config(**overrides), handle_signals=False, echo=io.BytesIO())


class TestWholeJob:
    @pytest.mark.parametrize("value", ["gpu0", "0,,1", "1,1"])
    def test_a_bad_assignment_fails_the_job_where_the_user_looks(self, flock, value: str) -> None:
        """A malformed NVIDIA_VISIBLE_DEVICES fails the job (config error), with its reason and error zip."""
        flock.schedule(inputs={})
        result = _run(
            flock,
            SHEPARD_RUNTIME="docker",
            SHEPARD_PAYLOAD_IMAGE="never-pulled:1",
            NVIDIA_VISIBLE_DEVICES=value,
        )
        assert result.exit_code is ExitCode.CONFIG_ERROR
        assert f"NVIDIA_VISIBLE_DEVICES={value!r}" in (result.reason or "")
        row = flock.job()
        assert row.status is JobStatus.JOB_FAILED
        assert row.exit_code == int(ExitCode.CONFIG_ERROR)
        assert result.error_key is not None
        reason = flock.zip(flock.ERRORS, result.error_key).read("reason.txt").decode()
        assert "NVIDIA_VISIBLE_DEVICES" in reason
        assert flock.keys(flock.OUTPUTS) == []

    def test_the_process_runtime_keeps_the_worker_s_gpus_visible(self, flock, monkeypatch) -> None:
        """run.sh sees the worker's NVIDIA_VISIBLE_DEVICES (not an input's) and CUDA_VISIBLE_DEVICES."""
        monkeypatch.setenv("NVIDIA_VISIBLE_DEVICES", f"{UUID_A},{UUID_B}")
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
        flock.quick_deploy("qd", {"run.sh": DUMP_ENV})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd", "NVIDIA_VISIBLE_DEVICES": "all"})
        result = _run(flock, NVIDIA_VISIBLE_DEVICES=f"{UUID_A},{UUID_B}")
        assert result.exit_code is ExitCode.OK, result.reason
        env = flock.zip(flock.OUTPUTS, result.output_keys[0]).read("env.txt").decode().splitlines()
        assert f"NVIDIA_VISIBLE_DEVICES={UUID_A},{UUID_B}" in env
        assert "CUDA_VISIBLE_DEVICES=0,1" in env

    def test_the_process_runtime_narrows_cuda_to_the_assigned_uuids(self, flock, monkeypatch) -> None:
        """A worker given GPUs by UUID and no CUDA_VISIBLE_DEVICES hands run.sh those UUIDs for CUDA."""
        monkeypatch.setenv("NVIDIA_VISIBLE_DEVICES", UUID_B)
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
        flock.quick_deploy("qd", {"run.sh": DUMP_ENV})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        result = _run(flock, NVIDIA_VISIBLE_DEVICES=UUID_B)
        assert result.exit_code is ExitCode.OK, result.reason
        env = flock.zip(flock.OUTPUTS, result.output_keys[0]).read("env.txt").decode().splitlines()
        assert f"NVIDIA_VISIBLE_DEVICES={UUID_B}" in env
        assert f"CUDA_VISIBLE_DEVICES={UUID_B}" in env

    def test_the_process_runtime_adds_no_gpu_variable_to_a_worker_without_gpus(
        self, flock, monkeypatch
    ) -> None:
        """Without GPU variables on the worker, the payload gets none either (nothing invented)."""
        monkeypatch.delenv("NVIDIA_VISIBLE_DEVICES", raising=False)
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
        flock.quick_deploy("qd", {"run.sh": DUMP_ENV})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        result = _run(flock)
        assert result.exit_code is ExitCode.OK, result.reason
        env = flock.zip(flock.OUTPUTS, result.output_keys[0]).read("env.txt").decode()
        assert "NVIDIA_VISIBLE_DEVICES" not in env
        assert "CUDA_VISIBLE_DEVICES" not in env
