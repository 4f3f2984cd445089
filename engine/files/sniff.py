"""What a file really is: its type sniffed from the bytes (never from the name or the header), the kind
an attachment field's `accept` names, a safe display name, and the image checks (decompression bombs)."""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from dataclasses import dataclass

import filetype
from PIL import Image

# Raster images pillow can thumbnail, and what may be shown inline in a browser at all.
IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff"})
INLINE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})
MAX_PIXELS = 50_000_000  # a 10,000 x 5,000 image; beyond it pillow's decoder could exhaust memory
OFFICE = frozenset({
    "application/msword", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint", "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation", "application/rtf",
})  # fmt: skip
ARCHIVES = frozenset({
    "application/zip", "application/x-tar", "application/gzip", "application/x-bzip2", "application/x-xz",
    "application/x-7z-compressed", "application/x-rar-compressed", "application/zstd",
})  # fmt: skip
TEXT_BY_SUFFIX = {".csv": "text/csv", ".md": "text/markdown", ".json": "application/json", ".tsv": "text/tab-separated-values"}
MARKUP = re.compile(rb"<\s*(svg|html|!doctype\s+html|script|\?xml)", re.IGNORECASE)
SEPARATORS = re.compile(r"[\\/]")


class Refused(ValueError):
    """A file that must not be stored; `code` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Sniffed:
    content_type: str
    kind: str  # image | pdf | office | text | archive | audio | video | other

    @property
    def is_image(self) -> bool:
        return self.content_type in IMAGES


def sniff(head: bytes, name: str) -> Sniffed:
    """The type of a file from its first bytes; the name only refines text (a CSV is plain text)."""
    guess = filetype.guess_mime(head)
    if guess is None:
        return _textual(head, name)
    return Sniffed(guess, kind_of(guess))


def _textual(head: bytes, name: str) -> Sniffed:
    if b"\x00" in head:
        return Sniffed("application/octet-stream", "other")
    if MARKUP.search(head[:2048]):  # SVG and HTML run scripts in a browser: only by exact MIME type
        return Sniffed("image/svg+xml" if b"<svg" in head.lower() else "text/html", "other")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the head
            return Sniffed("application/octet-stream", "other")
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    return Sniffed(TEXT_BY_SUFFIX.get(suffix, "text/plain"), "text")


def kind_of(content_type: str) -> str:
    major = content_type.split("/")[0]
    if content_type in IMAGES or (major == "image" and content_type != "image/svg+xml"):
        return "image"
    if content_type == "application/pdf":
        return "pdf"
    if content_type in OFFICE:
        return "office"
    if content_type in ARCHIVES:
        return "archive"
    return major if major in ("audio", "video", "text") else "other"


def accepts(accept: list[str], sniffed: Sniffed) -> bool:
    """An empty list accepts anything; else the file's kind or exact MIME type must be listed."""
    return not accept or sniffed.kind in accept or sniffed.content_type in accept


def check_image(data: bytes) -> None:
    """Refuse images pillow could not open safely (decompression bombs) or that are not images at all."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise Refused("too_many_pixels", f"images may have at most {MAX_PIXELS:,} pixels")
                img.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused("too_many_pixels", f"images may have at most {MAX_PIXELS:,} pixels") from None
    except Refused:
        raise
    except Exception:  # any decoder error: the bytes only look like an image
        raise Refused("invalid_image", "the file looks like an image but cannot be read as one") from None


def safe_name(raw: str | None) -> str:
    """The display name kept for a file: the last path segment, without control or format characters
    (bidi overrides), NFC-normalised, at most 255 characters with the extension kept. Never a path."""
    name = SEPARATORS.split(raw or "")[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c) not in ("Cc", "Cf", "Cs"))
    name = name.strip().lstrip(".").strip()
    if len(name) > 255:
        dot = name.rfind(".")
        ext = name[dot:] if dot > 0 and len(name) - dot <= 16 else ""
        name = name[: 255 - len(ext)] + ext
    return name or "file"


def thumbnail(data: bytes, size: int = 256) -> bytes:
    """A PNG no larger than size x size (aspect kept)."""
    with Image.open(io.BytesIO(data)) as img:
        img.thumbnail((size, size))
        out = io.BytesIO()
        (img if img.mode in ("RGB", "RGBA", "L", "LA") else img.convert("RGBA")).save(out, "PNG")
        return out.getvalue()
