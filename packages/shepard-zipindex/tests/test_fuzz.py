import contextlib
import os
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shepard_zipindex import ZipIndex, ZipIndexError
from zipindex_testkit import BytesRangeReader, Unseekable, build_zip

_PAYLOAD = {"inputs.txt": b'{"KEY": "value", "OTHER": 3}' * 4, "job/data.csv": b"a,b,c\n1,2,3\n" * 40}


def _seeds() -> list[bytes]:
    seeds = [
        build_zip(_PAYLOAD, compression=method)
        for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
    ]
    seeds.append(build_zip(_PAYLOAD, force_zip64=True, comment=b"a comment PK\x05\x06"))
    stream = Unseekable()
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in _PAYLOAD.items():
            archive.writestr(name, data)
    seeds.append(stream.getvalue())
    return seeds


SEEDS = _seeds()
# A bounded run keeps the suite fast; raise it locally to search harder.
FUZZ_EXAMPLES = int(os.environ.get("ZIPINDEX_FUZZ_EXAMPLES", "400"))
EXTREMES = [b"\x00", b"\xff", b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\xff\xff", b"\x7f\xff\xff\xff"]


@st.composite
def mutated_zips(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "extreme", "truncate", "insert", "delete"]))
        # Half the mutations land in the last 256 bytes, where the directory and end records live.
        low = draw(st.sampled_from([0, max(0, len(data) - 256)]))
        position = draw(st.integers(low, max(low, len(data) - 1)))
        if kind == "flip" and data:
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "extreme":
            value = draw(st.sampled_from(EXTREMES))
            data[position : position + len(value)] = value
        elif kind == "truncate":
            del data[position:]
        elif kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[position : position + draw(st.integers(1, 64))]
    return bytes(data)


class TestMutatedZips:
    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(mutated_zips())
    def test_only_zipindex_errors_escape(self, data):
        """Whatever the corruption, indexing and reading raise nothing but ZipIndexError subclasses."""
        # GIVEN a mutated zip; WHEN every step runs; THEN only ZipIndexError may stop it.
        with contextlib.suppress(ZipIndexError):
            index = ZipIndex.open(BytesRangeReader(data))
            with contextlib.suppress(ZipIndexError):
                index.find_inputs()
            for name in index.names():
                with contextlib.suppress(ZipIndexError):
                    index.read(name, max_size=1 << 16)
