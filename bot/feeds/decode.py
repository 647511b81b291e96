"""Undo a response's Content-Encoding as the body arrives, never past a size cap.

``read_decoded`` takes the raw body chunks and returns the decoded body, in this order:

1. the Content-Encoding header is read (names case-insensitive, ``identity`` ignored); an unknown
   coding, or more than ``MAX_ENCODINGS`` stacked ones, is refused with a ``FeedError`` before
   any byte is read;
2. without a coding, a Content-Length above ``max_bytes`` is refused before any byte is read;
3. each chunk goes through the decoders, last applied first: gzip (x-gzip), deflate (zlib-wrapped
   or raw, as browsers accept) and br. Every step yields at most ``_PIECE`` bytes and the total is
   checked after each one, so a compression bomb stops with a ``FeedError`` at ``max_bytes`` of
   decoded data without ever being held in memory;
4. bytes that are not valid in their coding raise ``DecodeError``, for the caller to explain.

``ACCEPT_ENCODING`` is the request header naming the codings this module can bound.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterable, Iterator
from typing import Protocol

import brotli

from bot.errors import FeedError

__all__ = ["ACCEPT_ENCODING", "MAX_ENCODINGS", "DecodeError", "read_decoded"]

# Brotli output can only be bounded with the Decompressor API of brotli >= 1.2; without it a
# few hundred compressed bytes could expand to gigabytes in one call, so "br" is not offered.
_BOUNDED_BROTLI = hasattr(brotli.Decompressor, "can_accept_more_data")
ACCEPT_ENCODING = "gzip, deflate, br" if _BOUNDED_BROTLI else "gzip, deflate"
MAX_ENCODINGS = 2
_PIECE = 64 * 1024  # most decoded bytes produced per decompression step


class DecodeError(Exception):
    """The body is not valid data in its declared Content-Encoding."""


async def read_decoded(
    raw: AsyncIterable[bytes],
    content_encoding: str | None,
    *,
    max_bytes: int,
    content_length: str | None = None,
) -> bytes:
    """Decode ``raw`` per ``content_encoding``, stopping as soon as it passes ``max_bytes``."""
    too_large = FeedError(f"response larger than {_size(max_bytes)} (limit)")
    decoder = _DecoderChain.for_header(content_encoding)
    length = content_length or ""
    if not decoder.decoders and length.isdigit() and int(length) > max_bytes:
        raise too_large
    body = bytearray()
    try:
        async for chunk in raw:
            for piece in decoder.decode(chunk):
                body += piece
                if len(body) > max_bytes:
                    raise too_large
        for piece in decoder.flush():
            body += piece
            if len(body) > max_bytes:
                raise too_large
    except (zlib.error, brotli.error):
        raise DecodeError(f"not valid {content_encoding} data") from None
    return bytes(body)


class _Decoder(Protocol):
    def decode(self, data: bytes) -> Iterator[bytes]: ...
    def flush(self) -> Iterator[bytes]: ...


class _ZlibDecoder:
    """gzip or deflate, producing at most ``_PIECE`` bytes per step."""

    def __init__(self, wbits: int) -> None:
        self._zlib = zlib.decompressobj(wbits)
        # "deflate" should be zlib-wrapped, but some servers send raw deflate; decide on the
        # first bytes, as browsers do.
        self._may_be_raw = wbits == zlib.MAX_WBITS

    def decode(self, data: bytes) -> Iterator[bytes]:
        while data and not self._zlib.eof:
            try:
                out = self._zlib.decompress(data, _PIECE)
            except zlib.error:
                if not self._may_be_raw:
                    raise
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                self._may_be_raw = False
                continue
            self._may_be_raw = False
            data = self._zlib.unconsumed_tail
            if out:
                yield out

    def flush(self) -> Iterator[bytes]:
        if out := self._zlib.flush():
            yield out


class _BrotliDecoder:
    def __init__(self) -> None:
        self._brotli = brotli.Decompressor()

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self._brotli.is_finished():
            return  # trailing bytes after the stream: ignore, as zlib does
        out = self._brotli.process(data, output_buffer_limit=_PIECE)
        while True:
            if out:
                yield out
            if self._brotli.can_accept_more_data() or self._brotli.is_finished():
                return
            out = self._brotli.process(b"", output_buffer_limit=_PIECE)

    def flush(self) -> Iterator[bytes]:
        return iter(())


def _decoder(name: str) -> _Decoder:
    if name in ("gzip", "x-gzip"):
        return _ZlibDecoder(zlib.MAX_WBITS | 16)
    if name == "deflate":
        return _ZlibDecoder(zlib.MAX_WBITS)
    if name == "br" and _BOUNDED_BROTLI:
        return _BrotliDecoder()
    raise FeedError(f"unsupported Content-Encoding '{name}'")


class _DecoderChain:
    """Undoes the Content-Encodings of a response, last applied first."""

    def __init__(self, decoders: list[_Decoder]) -> None:
        self.decoders = decoders

    @classmethod
    def for_header(cls, header: str | None) -> _DecoderChain:
        names = [name.strip().lower() for name in (header or "").split(",")]
        names = [name for name in names if name and name != "identity"]
        if len(names) > MAX_ENCODINGS:
            raise FeedError(
                f"refused: {len(names)} stacked Content-Encodings (at most {MAX_ENCODINGS})"
            )
        return cls([_decoder(name) for name in reversed(names)])

    def decode(self, data: bytes, start: int = 0) -> Iterator[bytes]:
        if start == len(self.decoders):
            yield data
            return
        for piece in self.decoders[start].decode(data):
            yield from self.decode(piece, start + 1)

    def flush(self) -> Iterator[bytes]:
        for index, decoder in enumerate(self.decoders):
            for piece in decoder.flush():
                yield from self.decode(piece, index + 1)


def _size(n: int) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"
