import pytest
from shepard_core import Attr, JobRow, JobStatus, JobUsage

FULL = JobUsage(
    instance_type="m5.large",
    capacity_type="spot",
    availability_zone="us-east-1a",
    vcpus=1,
    memory_mib=2048,
    started_ms=1_700_000_000_000,
    ended_ms=1_700_000_360_500,
)


def _row_after(usage: JobUsage) -> JobRow:
    """Apply the usage's SET clauses the way DynamoDB would, to a minimal row item, and read it back."""
    clauses, names, values = usage.update_parts()
    item = JobRow(
        uuid="u-1", status=JobStatus.JOB_COMPLETE, inputs={}, input_zip_name="", is_invoked=True, end_time=1
    ).to_item()
    for clause in clauses:
        name, value = (part.strip() for part in clause.split("="))
        item[names[name]] = values[value]
    return JobRow.from_item(item)  # type: ignore[arg-type]


class TestJobUsage:
    def test_every_known_part_becomes_a_set_clause_with_its_own_placeholders(self):
        """Each part is one `#u_x = :u_x` clause; names map to the row's SHEPARD_ attributes."""
        clauses, names, values = FULL.update_parts()
        assert len(clauses) == 7
        assert all(c.startswith("#u_") and "= :u_" in c for c in clauses)
        assert set(names.values()) == {
            Attr.INSTANCE_TYPE,
            Attr.CAPACITY_TYPE,
            Attr.AVAILABILITY_ZONE,
            Attr.VCPUS,
            Attr.MEMORY_MIB,
            Attr.RUN_STARTED,
            Attr.RUN_ENDED,
        }
        assert all(name.startswith("SHEPARD_") for name in names.values())
        assert values[":u_vcpus"] == {"N": "1"}

    def test_unknown_parts_are_left_out(self):
        """A usage that knows only its times records only those; an empty one records nothing."""
        clauses, names, _ = JobUsage(started_ms=1, ended_ms=2).update_parts()
        assert set(names.values()) == {Attr.RUN_STARTED, Attr.RUN_ENDED}
        assert len(clauses) == 2
        assert JobUsage().update_parts() == ([], {}, {})

    @pytest.mark.parametrize("vcpus", [0.25, 2, 96])
    def test_the_row_reads_back_what_was_recorded(self, vcpus):
        """Fractional and whole vCPUs, memory, instance, capacity, zone and times round-trip through a row."""
        row = _row_after(JobUsage(**{**FULL.__dict__, "vcpus": vcpus}))
        assert row.vcpus == vcpus
        assert row.memory_mib == 2048
        assert (row.instance_type, row.capacity_type, row.availability_zone) == (
            "m5.large",
            "spot",
            "us-east-1a",
        )
        assert (row.run_started_ms, row.run_ended_ms) == (1_700_000_000_000, 1_700_000_360_500)
        assert JobRow.from_item(row.to_item()) == row  # type: ignore[arg-type]
