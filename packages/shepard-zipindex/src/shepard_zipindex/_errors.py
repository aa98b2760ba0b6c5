"""The exceptions raised for zips that cannot be read; every one is a ZipIndexError."""

from __future__ import annotations


class ZipIndexError(Exception):
    """The zip cannot be indexed or the member cannot be read; the message says why."""


class ReadFailedError(ZipIndexError):
    """The bytes of the zip could not be fetched."""


class ObjectNotFoundError(ReadFailedError, FileNotFoundError):
    """The zip (file or S3 object) does not exist."""


class ObjectChangedError(ReadFailedError):
    """The zip was replaced between two reads of it, so its pieces no longer fit together."""


class NotAZipError(ZipIndexError, ValueError):
    """The input has no valid end of central directory record: it is not a zip (or it is empty)."""


class TruncatedZipError(ZipIndexError, ValueError):
    """A record or a member's data runs past the end of the input."""


class CorruptZipError(ZipIndexError, ValueError):
    """The zip's records contradict each other or are malformed."""


class DecompressionError(CorruptZipError):
    """A member's compressed data is not a valid stream for its compression method."""


class CRCMismatchError(CorruptZipError):
    """A member's decompressed data does not match the CRC-32 its header declares."""


class DirectoryTooLargeError(ZipIndexError, ValueError):
    """The central directory is larger than the cap given to ZipIndex.open."""


class TooManyMembersError(DirectoryTooLargeError):
    """The zip holds more members than the max_members cap given to ZipIndex.open."""


class UnsupportedFeatureError(ZipIndexError):
    """The zip uses a feature this reader does not implement."""


class Deflate64Error(UnsupportedFeatureError):
    """A member is compressed with Deflate64 (method 9), which the standard library cannot inflate."""


class EncryptedMemberError(UnsupportedFeatureError):
    """A member is encrypted (traditional PKWARE, strong encryption or AES)."""


class MultiDiskArchiveError(UnsupportedFeatureError):
    """The zip is one part of a split or spanned (multi-disk) archive."""


class UnsupportedCompressionError(UnsupportedFeatureError):
    """A member uses a compression method other than stored, deflate, bzip2, lzma (or Deflate64)."""


class MemberError(ZipIndexError, LookupError):
    """A named member cannot be picked out of the zip."""


class MemberNotFoundError(MemberError):
    """No member has the requested name."""


class DuplicateMemberError(MemberError):
    """Several members share the requested name, so which one to read is ambiguous."""


class MemberTooLargeError(ZipIndexError, ValueError):
    """A member's declared or actual decompressed size is larger than the max_size asked for."""


class InputsLocationError(ZipIndexError, LookupError):
    """The zip's inputs.txt cannot be located without guessing."""


class InputsNotFoundError(InputsLocationError):
    """The zip has no inputs.txt at its root nor in its single top-level folder."""


class AmbiguousInputsError(InputsLocationError):
    """The zip holds more than one member that could be its inputs.txt."""
