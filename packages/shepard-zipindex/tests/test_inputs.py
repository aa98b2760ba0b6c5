import pytest
from shepard_zipindex import AmbiguousInputsError, InputsNotFoundError, ZipIndex, ZipIndexError, locate_inputs


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
        with pytest.raises(InputsNotFoundError, match="other files or folders sit beside it"):
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


class TestPlainMessages:
    def test_single_loose_file_reads_as_sentences(self):
        """A zip holding only a data file says, in sentences, where inputs.txt must go."""
        with pytest.raises(InputsNotFoundError) as caught:
            locate_inputs(["data.txt"])
        message = str(caught.value)
        assert message == (
            "The zip has no inputs.txt at its top level, where Shepard looks for it. Add an inputs.txt "
            "(a JSON object of the job's inputs) at the top level of the zip, then upload the zip again."
        )

    def test_folder_without_inputs_names_the_folder(self):
        """A zipped folder without inputs.txt names the folder and both places looked at."""
        with pytest.raises(InputsNotFoundError, match=r"sits in the folder 'job/'.*'job/inputs\.txt'"):
            locate_inputs(["job/", "job/data.csv"])

    def test_folder_beside_a_file_names_the_sibling(self):
        """A folder's inputs.txt beside a file named first is reported with that file, not the folder."""
        with pytest.raises(InputsNotFoundError, match=r"such as 'readme\.md'"):
            locate_inputs(["readme.md", "job/inputs.txt"])

    def test_not_a_zip_says_what_to_check(self, serve):
        """Bytes that are not a zip raise a message saying what was expected and what to check."""
        with pytest.raises(ZipIndexError) as caught:
            ZipIndex.open(serve(b"\x1f\x8b" + b"gzip data, not a zip" * 10))
        message = str(caught.value)
        assert message.startswith("The file is not a zip, or it was cut short:")
        assert "upload it again." in message
        assert "end of central directory record), and none was found in its last 202 bytes" in message

    @pytest.mark.parametrize(
        "names",
        [
            ["data.txt"],
            ["a/inputs.txt", "b/inputs.txt"],
            ["inputs.txt", "inputs.txt"],
            ["job/inputs.txt", "readme.md"],
            ["a/b/inputs.txt", "a/c"],
            ["Inputs.txt"],
            [],
        ],
    )
    def test_every_inputs_message_is_whole_sentences(self, names):
        """Each inputs.txt error starts with a capital letter and ends with a full stop."""
        with pytest.raises(ZipIndexError) as caught:
            locate_inputs(names)
        message = str(caught.value)
        assert message[0].isupper()
        assert message.endswith(".")
        assert "entries" not in message
