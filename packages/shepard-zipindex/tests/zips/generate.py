"""Regenerate the committed test zips with other writers (Info-ZIP zip, 7-Zip, bsdtar, jar).

Needs Debian's `zip`, `p7zip-full`, `libarchive-tools` and a JDK. Run: python3 generate.py
Writes the zips beside this script and `expected.json`, which says what reading each must give.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
MTIME = 1_700_000_000
INPUTS = json.dumps({f"KEY_{i}": f"value number {i} for the job" for i in range(12)}, indent=2) + "\n"
NOTES = "".join(f"line {i}: the quick brown fox jumps over the lazy dog\n" for i in range(200))
FAKE_END_RECORD = b"PK\x05\x06" + bytes(16) + b"\x00\x00"
COMMENT = b"comment with a fake end record: " + FAKE_END_RECORD + b" and PK\x05\x06 again\n"


def tree(root: Path, *, blob: int = 1024, macos: bool = False) -> None:
    """Write the job folder (and optionally Finder's __MACOSX metadata) under root."""
    rng = random.Random(blob)  # noqa: S311 - reproducible filler, not secrets
    files = {
        "job/inputs.txt": INPUTS.encode(),
        "job/data/notes.txt": NOTES.encode(),
        "job/data/random.bin": rng.randbytes(blob),
    }
    if macos:
        files["__MACOSX/job/._inputs.txt"] = b"\x00\x05\x16\x07" + bytes(60)
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for path in [root, *root.rglob("*")]:
        os.utime(path, (MTIME, MTIME))


def run(args: list[str], cwd: Path, *, stdin: bytes | None = None) -> bytes:
    """Run a writer and return its standard output."""
    return subprocess.run(args, cwd=cwd, input=stdin, capture_output=True, check=True).stdout  # noqa: S603


def main() -> None:
    """Write every zip and expected.json."""
    for tool in ("zip", "7z", "bsdtar", "jar"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed")
    expected: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        plain, finder, split = work / "plain", work / "finder", work / "split"
        tree(plain)
        tree(finder, macos=True)
        tree(split, blob=100_000)
        ok, root_ok = {"inputs": "job/inputs.txt"}, {"inputs": "inputs.txt"}

        def make(
            name: str, args: list[str], outcome: dict[str, str], *, cwd: Path = plain, **kw: bytes
        ) -> None:
            out = work / name
            stdout = run([a.replace("OUT", str(out)) for a in args], cwd, **kw)
            if not out.exists():
                out.write_bytes(stdout)
            shutil.copyfile(out, HERE / name)
            expected[name] = outcome

        zip_ = ["zip", "-q", "-r", "-X"]
        make("infozip_3_0_folder.zip", [*zip_, "OUT", "job"], ok)
        make("infozip_3_0_zip64_forced.zip", [*zip_, "-fz", "OUT", "job"], ok)
        make("infozip_3_0_data_descriptors.zip", [*zip_, "-fd", "OUT", "job"], ok)
        make("infozip_3_0_streamed_to_pipe.zip", [*zip_, "-", "job"], ok)
        make(
            "infozip_3_0_zip64_with_descriptors_no_locator.zip",
            [*zip_, "-fz", "-fd", "OUT", "job"],
            {"error": "CorruptZipError", "match": "zip64 locator .* is missing"},
        )
        make("infozip_3_0_comment_with_fake_end_record.zip", [*zip_, "-z", "OUT", "job"], ok, stdin=COMMENT)
        make("infozip_3_0_bzip2.zip", [*zip_, "-Z", "bzip2", "OUT", "job"], ok)
        make("infozip_3_0_finder_style_macosx.zip", [*zip_, "OUT", "job", "__MACOSX"], ok, cwd=finder)
        make(
            "infozip_3_0_traditional_encryption.zip",
            [*zip_, "-P", "secret", "OUT", "job"],
            {"error": "EncryptedMemberError", "match": "encrypted"},
        )
        make(
            "infozip_3_0_split_last_part.zip",
            [*zip_, "-s", "64k", "OUT", "job"],
            {"error": "MultiDiskArchiveError", "match": "split"},
            cwd=split,
        )
        seven = ["7z", "a", "-tzip", "-bd", "-bso0"]
        make("sevenzip_16_02_deflate.zip", [*seven, "OUT", "job"], ok)
        make("sevenzip_16_02_lzma.zip", [*seven, "-mm=LZMA", "OUT", "job"], ok)
        make("sevenzip_16_02_bzip2.zip", [*seven, "-mm=BZip2", "OUT", "job"], ok)
        make(
            "sevenzip_16_02_deflate64.zip",
            [*seven, "-mm=Deflate64", "OUT", "job"],
            {"error": "Deflate64Error", "match": "Deflate64"},
        )
        make(
            "sevenzip_16_02_aes256.zip",
            [*seven, "-psecret", "-mem=AES256", "OUT", "job"],
            {"error": "EncryptedMemberError", "match": "encrypted"},
        )
        bsdtar = ["bsdtar", "--format", "zip"]
        make("bsdtar_3_6_deflate.zip", [*bsdtar, "-cf", "OUT", "job"], ok)
        store = ["--options", "zip:compression=store"]
        make("bsdtar_3_6_stored.zip", [*bsdtar, *store, "-cf", "OUT", "job"], ok)
        make("bsdtar_3_6_zip64.zip", [*bsdtar, "--options", "zip:zip64", "-cf", "OUT", "job"], ok)
        make("bsdtar_3_6_to_pipe_zero_padded.zip", [*bsdtar, "-cf", "-", "job"], ok)
        jar = ["jar", "--create", "--file", "OUT"]
        make("jar_17_root_with_manifest.jar", [*jar, "-C", "job", "."], root_ok)
        make("jar_17_folder_no_manifest.jar", [*jar, "--no-manifest", "job"], ok)
        make("jar_17_stored.jar", [*jar, "--no-compress", "-C", "job", "."], root_ok)
    document = {"inputs_txt": INPUTS, "zips": expected}
    (HERE / "expected.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
