"""File checks without a database: the type comes from the bytes, names are made safe."""

from __future__ import annotations

import pytest

from engine.files.sniff import Sniffed, accepts, safe_name, sniff


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("evil\x00\r\n\t.pdf", "evil.pdf"),
        ("a\x1b[31mred.txt", "a[31mred.txt"),
        ("../../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("  .hidden ", "hidden"),
        ("", "file"),
        (None, "file"),
        ("e\u0301.txt", "\u00e9.txt"),  # NFC
        ("x" * 300 + ".docx", "x" * 250 + ".docx"),
    ],
)
def test_safe_name(raw, safe):
    assert safe_name(raw) == safe
    assert len(safe_name(raw)) <= 255


@pytest.mark.parametrize(
    ("head", "name", "content_type", "kind"),
    [
        (b"%PDF-1.7\n", "x.png", "application/pdf", "pdf"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "x.pdf", "image/png", "image"),
        (b"name,amount\n", "list.csv", "text/csv", "text"),
        (b"hello", "a.exe", "text/plain", "text"),
        (b"<svg onload=alert(1)>", "a.txt", "image/svg+xml", "other"),
        (b"<html><script>", "a.txt", "text/html", "other"),
        (b"\x00\x01\x02binary", "a.txt", "application/octet-stream", "other"),
    ],
)
def test_sniff_trusts_the_bytes_not_the_name(head, name, content_type, kind):
    assert sniff(head, name) == Sniffed(content_type, kind)


def test_accept_by_kind_or_exact_type():
    svg = Sniffed("image/svg+xml", "other")
    assert accepts([], svg)
    assert not accepts(["image"], svg)
    assert accepts(["image/svg+xml"], svg)
    assert accepts(["pdf", "text"], Sniffed("text/plain", "text"))
