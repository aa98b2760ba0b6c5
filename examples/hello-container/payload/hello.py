"""A Shepard payload: greets someone, counts the words of the job's data file and writes both out.

Shepard hands every job its inputs.txt keys as environment variables, the folder holding the job's
zip as ROOT_INPUT_NAME, and a folder whose contents become the output zip as ROOT_OUTPUT_NAME.
"""

import json
import os
import sys
import time
import zipfile
from pathlib import Path


def main() -> int:
    """Write greeting.txt and words.json to the output folder; exit 3 when asked to fail."""
    greeting = os.environ.get("GREETING", "Hello")
    name = os.environ.get("NAME", "world")
    inputs = Path(os.environ["ROOT_INPUT_NAME"])
    outputs = Path(os.environ["ROOT_OUTPUT_NAME"])
    print(f"job {os.environ.get('UUID')} starting: {greeting}, {name}!", flush=True)

    words = 0
    zip_name = os.environ.get("INPUT_ZIP_NAME", "")
    job_zip = inputs / zip_name if zip_name else None
    if job_zip is not None and job_zip.is_file():
        with zipfile.ZipFile(job_zip) as archive:
            if "words.txt" in archive.namelist():
                words = len(archive.read("words.txt").split())

    time.sleep(float(os.environ.get("SLEEP_SECONDS", "0")))
    if os.environ.get("FAIL", "False") == "True":
        print("FAIL is True: failing on purpose", file=sys.stderr, flush=True)
        return 3

    (outputs / "greeting.txt").write_text(f"{greeting}, {name}!\n")
    (outputs / "words.json").write_text(json.dumps({"words": words, "job": os.environ.get("UUID")}) + "\n")
    print(f"wrote {sorted(p.name for p in outputs.iterdir())}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
