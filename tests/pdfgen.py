"""A tiny PDF writer for test fixtures: text pages laid out like a word processor's export, and
image-only pages like a scanner's. Written by hand so the tests need no PDF library to build
their inputs (pypdf, which grader reads PDFs with, only reads them here)."""

from __future__ import annotations

import textwrap
import zlib

PAGE_WIDTH, PAGE_HEIGHT = 612, 792
MARGIN = 72
FONT_SIZE = 11
LEADING = 14  # baseline to baseline within a paragraph
PARAGRAPH_GAP = 10  # extra space between paragraphs, as word processors add
WRAP = 80  # characters per line


def _escape(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _layout(markdown: str) -> list[list[tuple[float, float, bytes]]]:
    """Paragraphs (split on blank lines) wrapped into lines, placed on as many pages as needed."""
    pages: list[list[tuple[float, float, bytes]]] = [[]]
    y = PAGE_HEIGHT - MARGIN
    for paragraph in markdown.strip().split("\n\n"):
        lines: list[str] = []
        for source_line in paragraph.split("\n"):
            lines.extend(textwrap.wrap(source_line, WRAP) or [""])
        for line in lines:
            if y < MARGIN:
                pages.append([])
                y = PAGE_HEIGHT - MARGIN
            pages[-1].append((MARGIN, y, _escape(line)))
            y -= LEADING
        y -= PARAGRAPH_GAP
    return pages


def _content_for(lines: list[tuple[float, float, bytes]]) -> bytes:
    ops = [b"BT", f"/F1 {FONT_SIZE} Tf".encode()]
    for x, y, text in lines:
        ops.append(f"1 0 0 1 {x:.0f} {y:.0f} Tm".encode())
        ops.append(b"(" + text + b") Tj")
    ops.append(b"ET")
    return b"\n".join(ops)


def _image_content() -> bytes:
    return b"q 468 0 0 600 72 100 cm /Im1 Do Q"


def build_pdf(text_pages: str | None = None, *, image_pages: int = 0) -> bytes:
    """A PDF whose text layer holds `text_pages` (paragraphs separated by blank lines), followed
    by `image_pages` pages that carry only a picture, as a scanner makes them."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below
    pages_id = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    pixels = zlib.compress(bytes(range(0, 256, 16)) * 16)
    image = add(
        b"<< /Type /XObject /Subtype /Image /Width 16 /Height 16 /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /Filter /FlateDecode /Length "
        + str(len(pixels)).encode()
        + b" >>\nstream\n"
        + pixels
        + b"\nendstream"
    )
    contents = [_content_for(lines) for lines in (_layout(text_pages) if text_pages else [])]
    contents += [_image_content()] * image_pages
    page_ids = []
    for content in contents:
        stream = add(
            b"<< /Length "
            + str(len(content)).encode()
            + b" >>\nstream\n"
            + content
            + b"\nendstream"
        )
        page_ids.append(
            add(
                f"<< /Type /Page /Parent {pages_id} 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
                f"/Resources << /Font << /F1 {font} 0 R >> /XObject << /Im1 {image} 0 R >> >> "
                f"/Contents {stream} 0 R >>".encode()
            )
        )
    kids = " ".join(f"{p} 0 R" for p in page_ids)
    objects[catalog - 1] = f"<< /Type /Catalog /Pages {pages_id} 0 R >>".encode()
    objects[pages_id - 1] = f"<< /Type /Pages /Kids [{kids}] /Count {len(page_ids)} >>".encode()
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root {catalog} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
