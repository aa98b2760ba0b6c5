"""The Docker runtime's parts that need no engine: the payload tar, limits, image users, the log copy."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from typing import TYPE_CHECKING

import pytest
from shepard_worker._errors import PayloadStartError
from shepard_worker._log_copy import CappedCopy
from shepard_worker._payload_containers import own_container_id
from shepard_worker._payload_image import tar_image_id
from shepard_worker._payload_limits import (
    MIN_PAYLOAD_MEMORY,
    PayloadLimits,
    payload_budget,
    read_own_limits,
)
from shepard_worker._payload_user import give_to_user, resolve_user

if TYPE_CHECKING:
    from pathlib import Path

CONFIG = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}}).encode()


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def image_tar(path: Path, images: int = 1, layer: bytes = b"x" * 4096) -> Path:
    """Write a `docker save`-shaped tar holding `images` images (each: config + one layer)."""
    manifest = []
    with tarfile.open(path, "w") as archive:
        for number in range(images):
            config = CONFIG[:-1] + f', "n": {number}}}'.encode()
            digest = hashlib.sha256(config).hexdigest()
            _add(archive, f"blobs/sha256/{digest}", config)
            _add(archive, f"layer{number}.tar", layer)
            manifest.append(
                {
                    "Config": f"blobs/sha256/{digest}",
                    "RepoTags": [f"p:{number}"],
                    "Layers": [f"layer{number}.tar"],
                }
            )
        _add(archive, "manifest.json", json.dumps(manifest).encode())
    return path


class TestPayloadTar:
    def test_the_id_is_the_digest_of_the_image_config(self, tmp_path: Path) -> None:
        """A one-image tar yields sha256 of its config blob, the id the engine gives the image."""
        tar = image_tar(tmp_path / "p.tar")
        config = CONFIG[:-1] + b', "n": 0}'
        assert tar_image_id(tar) == "sha256:" + hashlib.sha256(config).hexdigest()

    @pytest.mark.parametrize(
        ("damage", "message"),
        [
            ("empty-file", "is empty"),
            ("empty-archive", "is empty"),
            ("random-bytes", "corrupt or truncated"),
            ("truncated", "truncated"),
            ("no-manifest", "has no manifest.json"),
            ("bad-manifest", "malformed manifest.json"),
            ("two-images", "holds 2 images"),
        ],
    )
    def test_a_damaged_tar_is_refused_with_its_path(self, tmp_path: Path, damage: str, message: str) -> None:
        """Empty, corrupt, truncated, manifest-less or two-image tars raise a staging error naming the tar."""
        tar = tmp_path / "payload.tar"
        if damage == "empty-file":
            tar.write_bytes(b"")
        elif damage == "empty-archive":
            tarfile.open(tar, "w").close()
        elif damage == "random-bytes":
            tar.write_bytes(os.urandom(10_000))
        elif damage == "truncated":
            image_tar(tar, layer=b"y" * 100_000)
            data = tar.read_bytes()
            tar.write_bytes(data[: len(data) // 2])
        elif damage == "no-manifest":
            with tarfile.open(tar, "w") as archive:
                _add(archive, "layer.tar", b"z")
        elif damage == "bad-manifest":
            with tarfile.open(tar, "w") as archive:
                _add(archive, "manifest.json", b"{not json")
        else:
            image_tar(tar, images=2)
        with pytest.raises(PayloadStartError) as raised:
            tar_image_id(tar)
        assert str(tar) in str(raised.value)
        assert message in str(raised.value)


class TestLimits:
    def test_cgroup_v2_limits_are_read_from_the_unified_files(self, tmp_path: Path) -> None:
        """memory.max, cpu.max and pids.max of the process's own cgroup become the payload's limits."""
        own = tmp_path / "batch" / "job"
        own.mkdir(parents=True)
        (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
        (own / "memory.max").write_text("268435456\n")
        (own / "cpu.max").write_text("150000 100000\n")
        (own / "pids.max").write_text("512\n")
        proc = tmp_path / "proc-cgroup"
        proc.write_text("0::/batch/job\n")
        assert read_own_limits(tmp_path, proc) == PayloadLimits(268435456, 1_500_000_000, 512)

    def test_cgroup_v2_budget_leaves_the_payload_what_the_worker_does_not_hold(self, tmp_path: Path) -> None:
        """The payload gets the memory limit less the worker's use without page cache, and the pids left."""
        own = tmp_path / "batch" / "job"
        own.mkdir(parents=True)
        (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
        files = {
            "memory.max": "1073741824",
            "memory.current": "314572800",
            "memory.stat": "anon 104857600\nfile 209715200\nkernel 0\n",
            "cpu.max": "200000 100000",
            "pids.max": "4096",
            "pids.current": "21",
        }
        for name, text in files.items():
            (own / name).write_text(text + "\n")
        proc = tmp_path / "proc-cgroup"
        proc.write_text("0::/batch/job\n")
        budget = payload_budget(tmp_path, proc)
        assert budget == PayloadLimits(1073741824 - 104857600, 2_000_000_000, 4096 - 21)

    def test_cgroup_v1_budget_takes_off_rss_not_cache(self, tmp_path: Path) -> None:
        """v1: usage_in_bytes less total_cache, and pids.current, come off the limits."""
        for controller, files in {
            "memory": {
                "memory.limit_in_bytes": "536870912",
                "memory.usage_in_bytes": "400000000",
                "memory.stat": "cache 1\nrss 2\ntotal_cache 300000000\ntotal_rss 100000000",
            },
            "pids": {"pids.max": "100", "pids.current": "7"},
        }.items():
            folder = tmp_path / controller / "ecs" / "task" / "abc"
            folder.mkdir(parents=True)
            for name, text in files.items():
                (folder / name).write_text(text + "\n")
        proc = tmp_path / "proc-cgroup"
        proc.write_text("5:memory:/ecs/task/abc\n3:pids:/ecs/task/abc\n")
        assert payload_budget(tmp_path, proc) == PayloadLimits(536870912 - 100000000, None, 93)

    def test_a_worker_holding_almost_everything_still_starts_its_payload(self, tmp_path: Path) -> None:
        """When the worker holds nearly all its memory the payload gets the engine-acceptable minimum."""
        (tmp_path / "cgroup.controllers").write_text("memory\n")
        (tmp_path / "memory.max").write_text("67108864\n")
        (tmp_path / "memory.current").write_text("67100000\n")
        assert payload_budget(tmp_path, tmp_path / "absent").memory_bytes == MIN_PAYLOAD_MEMORY

    def test_the_pids_bound_of_the_flock_narrows_the_budget(self) -> None:
        """`within` keeps the tighter of each limit; None is no limit."""
        budget = PayloadLimits(memory_bytes=100, nano_cpus=None, pids=500)
        assert budget.within(PayloadLimits(pids=64)) == PayloadLimits(100, None, 64)
        assert budget.within(PayloadLimits(pids=None)) == budget
        assert PayloadLimits().within(PayloadLimits(pids=64)) == PayloadLimits(pids=64)

    def test_cgroup_v2_max_means_unlimited(self, tmp_path: Path) -> None:
        """`max` in every file (a cgroup namespace: the mount is the process's own) gives no limits."""
        (tmp_path / "cgroup.controllers").write_text("memory\n")
        for name, text in {"memory.max": "max", "cpu.max": "max 100000", "pids.max": "max"}.items():
            (tmp_path / name).write_text(text + "\n")
        proc = tmp_path / "proc-cgroup"
        proc.write_text("0::/\n")
        assert read_own_limits(tmp_path, proc) == PayloadLimits()

    def test_cgroup_v1_limits_are_read_per_controller(self, tmp_path: Path) -> None:
        """memory.limit_in_bytes, cfs quota/period and pids.max of the v1 controllers become the limits."""
        for controller, files in {
            "memory": {"memory.limit_in_bytes": "536870912"},
            "cpu": {"cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000"},
            "pids": {"pids.max": "max"},
        }.items():
            folder = tmp_path / controller / "docker" / "abc"
            folder.mkdir(parents=True)
            for name, text in files.items():
                (folder / name).write_text(text + "\n")
        proc = tmp_path / "proc-cgroup"
        proc.write_text("5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n3:pids:/docker/abc\n")
        assert read_own_limits(tmp_path, proc) == PayloadLimits(536870912, 500_000_000, None)

    def test_an_unlimited_v1_memory_and_no_quota_give_no_limits(self, tmp_path: Path) -> None:
        """v1's huge "no limit" number and a -1 quota mean unlimited."""
        (tmp_path / "memory").mkdir()
        (tmp_path / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
        (tmp_path / "cpu").mkdir()
        (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
        (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
        assert read_own_limits(tmp_path, tmp_path / "absent") == PayloadLimits()

    def test_limits_become_container_options_without_extra_swap(self) -> None:
        """Memory sets mem_limit and an equal memswap_limit; unset limits add nothing."""
        assert PayloadLimits(64, 10, 5).container_options() == {
            "mem_limit": 64,
            "memswap_limit": 64,
            "nano_cpus": 10,
            "pids_limit": 5,
        }
        assert PayloadLimits().container_options() == {}


class TestContainerId:
    @pytest.mark.parametrize(
        "line",
        [
            "1234 99 0:50 /var/lib/docker/containers/{id}/hostname /etc/hostname rw - ext4 /dev/vda rw",
            "12:memory:/docker/{id}",
            "0::/system.slice/docker-{id}.scope",
        ],
    )
    def test_the_worker_finds_its_container_id(self, tmp_path: Path, line: str) -> None:
        """The id is read from a mount of the container's files, or from a v1 or systemd cgroup path."""
        container = "ab" * 32
        source = tmp_path / "source"
        source.write_text(line.format(id=container) + "\n")
        assert own_container_id(source, tmp_path / "absent") == container

    def test_outside_a_container_there_is_no_id(self, tmp_path: Path) -> None:
        """Plain mounts and cgroups give None."""
        source = tmp_path / "source"
        source.write_text("0::/user.slice\n")
        assert own_container_id(source, source) is None


class TestImageUser:
    PASSWD = "root:x:0:0:root:/root:/bin/sh\nsheep:x:1234:2345::/home/sheep:/bin/sh\n"  # noqa: S105 - an /etc/passwd text
    GROUP = "root:x:0:\nflock:x:3456:sheep\n"

    @pytest.mark.parametrize(
        ("user", "expected"),
        [
            ("1000", (1000, 0)),
            ("1000:1000", (1000, 1000)),
            ("1234", (1234, 2345)),
            ("sheep", (1234, 2345)),
            ("sheep:flock", (1234, 3456)),
            ("sheep:77", (1234, 77)),
        ],
    )
    def test_a_user_spec_resolves_like_the_container_runtime(
        self, user: str, expected: tuple[int, int]
    ) -> None:
        """Numeric ids stand as given; names come from the image's passwd and group files."""
        assert resolve_user(user, self.PASSWD, self.GROUP) == expected

    @pytest.mark.parametrize("user", ["nobody-here", "sheep:nogroup"])
    def test_an_unknown_name_is_a_staging_error(self, user: str) -> None:
        """A name the image's files lack is refused with the name."""
        with pytest.raises(PayloadStartError, match=user.rsplit(":", maxsplit=1)[-1]):
            resolve_user(user, self.PASSWD, self.GROUP)

    @pytest.mark.skipif(os.geteuid() != 0, reason="changing owners needs root")
    def test_the_folders_go_to_the_user_at_any_depth_with_modes_kept(self, tmp_path: Path) -> None:
        """Every folder and file, 300 deep too, is given away; a 0600 secret stays 0600; link targets stay."""
        top = tmp_path / "job"
        deep = top.joinpath(*["d"] * 300)
        deep.mkdir(parents=True)
        secret = top / "secret"
        secret.write_text("s")
        secret.chmod(0o600)
        outside = tmp_path / "outside"
        outside.write_text("o")
        (top / "link").symlink_to(outside)
        give_to_user([top], 1000, 1001)
        for path in (top, deep, secret, top / "link"):
            stat = path.lstat()
            assert (stat.st_uid, stat.st_gid) == (1000, 1001)
        assert secret.stat().st_mode & 0o777 == 0o600
        assert outside.stat().st_uid == 0


class TestCappedCopy:
    def test_a_short_log_is_kept_whole(self) -> None:
        """Below the cap every line is kept, in order, with no marker."""
        copy = CappedCopy(head_bytes=100, tail_bytes=100)
        for number in range(5):
            copy.write(f"line {number}\n".encode())
        assert b"".join(copy.chunks()) == b"".join(f"line {n}\n".encode() for n in range(5))
        copy.close()

    def test_a_long_log_keeps_its_head_and_tail_with_a_marker(self) -> None:
        """Past the cap the first and last lines stay whole and a marker counts what was dropped."""
        copy = CappedCopy(head_bytes=30, tail_bytes=30)
        for number in range(100):
            copy.write(f"line {number:03}\n".encode())
        lines = b"".join(copy.chunks()).decode().splitlines()
        assert lines[:3] == ["line 000", "line 001", "line 002"]
        assert lines[-3:] == ["line 097", "line 098", "line 099"]
        assert lines[3].startswith("[shepard: 94 lines (846 bytes) dropped here")
        assert len(lines) == 7
        copy.close()
