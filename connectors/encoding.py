"""Text encodings of the file and stdin sources: byte-order marks and transcoding to UTF-8.

The learner reads UTF-8 (invalid sequences replaced and counted). A source whose input is
in another encoding hands it UTF-8 all the same, through :func:`utf8_reader`:

* a byte-order mark (BOM) at the start of the input decides the encoding, whatever
  ``encoding`` says: ``EF BB BF`` UTF-8, ``FF FE`` UTF-16 LE, ``FE FF`` UTF-16 BE
  (UTF-32 BOMs are not recognised: ``FF FE 00 00`` reads as UTF-16 LE);
* UTF-8 input is passed through unchanged (the caller drops a UTF-8 BOM), so byte offsets
  are offsets in the file;
* any other encoding (``latin-1``, ``cp1252``, ``utf-16``...) is decoded incrementally
  (undecodable bytes become U+FFFD and are counted) and re-encoded as UTF-8; byte offsets
  then count bytes of that UTF-8 stream.
"""

from __future__ import annotations

import codecs
from typing import BinaryIO

__all__ = ["normalize_encoding", "detect_bom", "utf8_reader", "Utf8Stream"]

_BOMS = [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")]


def normalize_encoding(name: str) -> str:
    """Python's canonical name of an encoding (``"UTF8"`` → ``"utf-8"``, ``"utf-8-sig"`` → ``"utf-8"``).

    Raises
    ------
    LookupError
        If Python knows no such encoding.

    Examples
    --------
    >>> normalize_encoding("UTF8"), normalize_encoding("Latin-1"), normalize_encoding("utf-8-sig")
    ('utf-8', 'iso8859-1', 'utf-8')
    """
    n = codecs.lookup(name).name
    return "utf-8" if n == "utf-8-sig" else n


def detect_bom(head: bytes) -> tuple[str | None, int]:
    """The encoding a byte-order mark at the start of ``head`` declares, and the BOM's length in bytes.

    Examples
    --------
    >>> detect_bom(b"\\xef\\xbb\\xbfcafe"), detect_bom(b"\\xff\\xfec\\x00"), detect_bom(b"cafe")
    (('utf-8', 3), ('utf-16-le', 2), (None, 0))
    """
    for bom, enc in _BOMS:
        if head.startswith(bom):
            return enc, len(bom)
    return None, 0


class Utf8Stream:
    """A binary stream of UTF-8 bytes read from another one (see :func:`utf8_reader`).

    Attributes
    ----------
    encoding : str
        The encoding read (after BOM detection).
    bom : int
        Bytes of a UTF-8 BOM still at the start of the stream (0 or 3): the caller drops
        them from the text but counts them in offsets. 0 for transcoded streams (their
        BOM is consumed here).
    transcoded : bool
        True when the input is decoded and re-encoded (offsets count UTF-8 bytes, not
        bytes of the input).
    replaced : int
        Undecodable bytes replaced by U+FFFD so far (transcoded streams only; the learner
        counts invalid UTF-8 itself).
    """

    def __init__(self, raw: BinaryIO, head: bytes, encoding: str, bom: int, transcoded: bool):
        self._raw = raw
        self._read = getattr(raw, "read1", raw.read)
        self._head = head
        self.encoding = encoding
        self.bom = bom
        self.transcoded = transcoded
        self.replaced = 0
        self._done = False
        self._dec = codecs.getincrementaldecoder(encoding)(errors="replace") if transcoded else None

    def _raw_read(self, n: int) -> bytes:
        if self._head:
            h, self._head = self._head, b""
            return h
        return self._read(n)

    def read1(self, n: int = 1 << 20) -> bytes:
        """Up to about ``n`` bytes of UTF-8 (more for a transcoded stream); ``b""`` at the end."""
        if self._dec is None:
            return self._raw_read(n)
        while not self._done:
            piece = self._raw_read(n)
            text = self._dec.decode(piece, final=not piece)
            if not piece:
                self._done = True
            if text:
                self.replaced += text.count("\ufffd")
                return text.encode("utf-8")
        return b""

    read = read1


def utf8_reader(raw: BinaryIO, encoding: str = "utf-8", at_start: bool = True) -> Utf8Stream:
    """Wrap a binary stream so that it reads as UTF-8, detecting a BOM when ``at_start``.

    Parameters
    ----------
    raw : binary file object
        Read with ``read1`` (or ``read``); the first 4 bytes are read here to look for a BOM.
    encoding : str
        Encoding of the input when it has no BOM (default UTF-8).
    at_start : bool
        False when ``raw`` was positioned past the start (no BOM can be there).

    Returns
    -------
    Utf8Stream

    Raises
    ------
    LookupError
        If ``encoding`` is unknown.

    Examples
    --------
    >>> import io
    >>> s = utf8_reader(io.BytesIO("café\\n".encode("utf-16")))
    >>> s.encoding, b"".join(iter(lambda: s.read1(100), b"")).decode("utf-8")
    ('utf-16-le', 'café\\n')
    >>> utf8_reader(io.BytesIO("café".encode("latin-1")), "latin-1").read1(100)
    b'caf\\xc3\\xa9'
    """
    encoding = normalize_encoding(encoding)
    head = b""
    if at_start:
        read = getattr(raw, "read1", raw.read)
        while len(head) < 4:  # a pipe may deliver fewer bytes per read
            piece = read(4 - len(head))
            if not piece:
                break
            head += piece
    found, n = detect_bom(head)
    if found is not None:
        encoding = found
    if encoding == "utf-8":
        return Utf8Stream(raw, head, "utf-8", n, transcoded=False)
    return Utf8Stream(raw, head[n:], encoding, 0, transcoded=True)
