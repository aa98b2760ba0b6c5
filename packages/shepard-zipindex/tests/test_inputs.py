import pytest
from shepard_zipindex import AmbiguousInputsError, InputsNotFoundError, ZipIndex, locate_inputs


class TestLocateInputs:
    def test_root_inputs_wins(self):
        """inputs.txt at the root is the job's inputs, even beside a folder holding another one."""
        assert locate_inputs(["inputs.txt", "job/inputs.txt", "job/x"]) == "inputs.txt"

    def test_single_top_folder_is_the_root(self):
        """When every member sits under one folder, <folder>/inputs.txt is used."""
        assert locate_inputs(["job/", "job/inputs.txt", "job/data/a.csv"]) == "job/inputs.txt"

    def test_macos_metadata_is_ignored(self):
        """A Finder zip's __MACOSX/ folder does not count as a second top-level folder."""
        names = ["job/", "job/inputs.txt", "__MACOSX/", "__MACOSX/job/._inputs.txt"]
        assert locate_inputs(names) == "job/inputs.txt"

    def test_root_file_beside_folder_is_not_guessed(self):
        """A folder's inputs.txt beside other top-level entries is not taken as the job's inputs."""
        with pytest.raises(InputsNotFoundError, match="other top-level entries"):
            locate_inputs(["job/inputs.txt", "readme.md"])

    def test_two_folders_with_inputs_are_ambiguous(self):
        """Two top-level folders each holding inputs.txt raise AmbiguousInputsError."""
        with pytest.raises(AmbiguousInputsError, match="several top-level folders"):
            locate_inputs(["a/inputs.txt", "b/inputs.txt"])

    def test_duplicate_root_inputs_are_ambiguous(self):
        """Two members named inputs.txt at the root raise AmbiguousInputsError."""
        with pytest.raises(AmbiguousInputsError, match="2 members"):
            locate_inputs(["inputs.txt", "inputs.txt"])

    def test_deeply_nested_inputs_are_not_found(self):
        """inputs.txt two folders deep is reported as nested too deep."""
        with pytest.raises(InputsNotFoundError, match="too deep"):
            locate_inputs(["a/b/inputs.txt", "a/c"])

    def test_wrong_case_is_pointed_out(self):
        """An Inputs.txt at the root raises InputsNotFoundError explaining the exact name."""
        with pytest.raises(InputsNotFoundError, match="lower case"):
            locate_inputs(["Inputs.txt"])

    def test_empty_zip_has_no_inputs(self):
        """A zip with no members raises InputsNotFoundError."""
        with pytest.raises(InputsNotFoundError, match="empty"):
            locate_inputs([])

    def test_only_macos_metadata_counts_as_empty(self):
        """A zip holding only __MACOSX/ entries has no inputs."""
        with pytest.raises(InputsNotFoundError, match="empty"):
            locate_inputs(["__MACOSX/", "__MACOSX/._inputs.txt"])

    def test_index_find_inputs_uses_the_rules(self, make_zip, serve):
        """ZipIndex.find_inputs applies the rules to the zip's member names."""
        data = make_zip({"job/": b"", "job/inputs.txt": b"{}"})
        assert ZipIndex.open(serve(data)).find_inputs() == "job/inputs.txt"
