"""Hostile resume files of 5 MB or less, built in memory: bombs, loops, deep nesting, huge bodies.

Each builder returns (filename, bytes). `CRAFTED` names them all; `BENIGN` is a small real resume.
Shared by tests/test_upload_limits.py and bench/upload_bench.py.
"""

import io
import zipfile
import zlib

LIMIT = 5 * 1024 * 1024
_DRAW_OPS = b"1 0 0 1 2 3 cm 0 0 m 9 9 l S\n"
_TEXT_OPS = b"BT /F1 9 Tf 20 700 Td (Python engineer, Acme Corp, 2019 - 2021) Tj ET\n"


def _pdf(objects: list[bytes], root: int = 1, extra_trailer: bytes = b"") -> bytes:
    """A PDF from numbered object bodies (1-based), with a correct xref table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, root, extra_trailer, xref)
    )
    return out.getvalue()


def _stream(data: bytes, compress: bool = True) -> bytes:
    body = zlib.compress(data, 9) if compress else data
    flate = b"/Filter /FlateDecode " if compress else b""
    return b"<< %s/Length %d >>\nstream\n" % (flate, len(body)) + body + b"\nendstream"


def _font() -> bytes:
    return b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def pdf_text_bomb() -> tuple[str, bytes]:
    """One page whose compressed content stream unpacks to ~19 MB of text operators (under pypdf's cap)."""
    content = _TEXT_OPS * (19 * 1024 * 1024 // len(_TEXT_OPS))
    return "bomb.pdf", _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            _stream(content),
            _font(),
        ]
    )


def pdf_flate_bomb() -> tuple[str, bytes]:
    """A content stream of zeros that unpacks to about 300 MB."""
    zeros = zlib.compressobj(9)
    chunk = b"\x00" * (1024 * 1024)
    body = b"".join(zeros.compress(chunk) for _ in range(300)) + zeros.flush()
    stream = b"<< /Filter /FlateDecode /Length %d >>\nstream\n" % len(body) + body + b"\nendstream"
    return "zeros.pdf", _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            stream,
        ]
    )


def pdf_many_pages(count: int = 20_000) -> tuple[str, bytes]:
    """Tens of thousands of pages sharing one content stream."""
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(count))
    pages = [
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R "
        b"/Resources << /Font << /F1 4 0 R >> >> >>"
    ] * count
    return "pages.pdf", _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count),
            _stream(_TEXT_OPS * 40),
            _font(),
            *pages,
        ]
    )


def pdf_deep_nesting(depth: int = 200_000) -> tuple[str, bytes]:
    """An object of arrays nested 200,000 deep, reached from the page's resources."""
    nested = b"[" * depth + b"]" * depth
    return "nested.pdf", _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /X 5 0 R >> >>",
            _stream(_TEXT_OPS),
            nested,
        ]
    )


def pdf_page_tree_loop() -> tuple[str, bytes]:
    """A page tree whose node lists itself as its own kid, and a trailer whose /Prev points at its own xref."""
    data = _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            _stream(_TEXT_OPS),
        ]
    )
    xref = int(data.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    return "loop.pdf", data.replace(b"/Root 1 0 R ", b"/Root 1 0 R /Prev %d " % xref)


def pdf_dense_pages() -> tuple[str, bytes]:
    """Twenty pages of drawing operators (no text) that together sit just under the content budget: the
    most parsing work a PDF may ask for."""
    from tokenapp.features.engine.files import MAX_PAGES, MAX_PDF_CONTENT

    content = _DRAW_OPS * ((MAX_PDF_CONTENT - 4096) // MAX_PAGES // len(_DRAW_OPS))
    pages = [
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R "
        b"/Resources << /Font << /F1 4 0 R >> >> >>"
    ] * MAX_PAGES
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(MAX_PAGES))
    return "dense.pdf", _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, MAX_PAGES),
            _stream(content),
            _font(),
            *pages,
        ]
    )


def docx_zip_bomb() -> tuple[str, bytes]:
    """A Word file whose body unpacks to 256 MB of spaces (about 250 KB packed)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        with archive.open("word/document.xml", "w", force_zip64=True) as body:
            body.write(b'<?xml version="1.0"?><w:document xmlns:w="%s"><w:body>' % _W)
            chunk = b" " * (1024 * 1024)
            for _ in range(256):
                body.write(chunk)
            body.write(b"</w:body></w:document>")
    return "bomb.docx", buffer.getvalue()


def docx_many_entries(count: int = 40_000) -> tuple[str, bytes]:
    """A Word file with 40,000 tiny parts."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("word/document.xml", _document([b"Ada Lovelace"]))
        for index in range(count):
            archive.writestr(f"x/{index}", b"")
    return "entries.docx", buffer.getvalue()


def docx_huge_body() -> tuple[str, bytes]:
    """A valid Word file just under the body-size bound: about 5 MB of one-word paragraphs."""
    from tokenapp.features.engine.files import MAX_DOCUMENT_XML

    paragraph_count = (MAX_DOCUMENT_XML - 1024) // 43
    return "long.docx", _docx(_document([b"Python"] * paragraph_count))


def docx_billion_laughs() -> tuple[str, bytes]:
    """A Word body declaring nested entities that would expand to gigabytes if resolved."""
    entities = b'<!ENTITY a0 "lol">' + b"".join(
        b'<!ENTITY a%d "%s">' % (i, b"&a%d;" % (i - 1) * 10) for i in range(1, 10)
    )
    body = (
        b'<?xml version="1.0"?><!DOCTYPE w:document [%s]><w:document xmlns:w="%s"><w:body><w:p><w:r>'
        b"<w:t>&a9;</w:t></w:r></w:p></w:body></w:document>" % (entities, _W)
    )
    return "laughs.docx", _docx(body)


def txt_one_character() -> tuple[str, bytes]:
    """5 MB of one letter."""
    return "a.txt", b"a" * LIMIT


def txt_separators() -> tuple[str, bytes]:
    """5 MB of separators the resume reader splits on: pipes, commas, tabs, spaces and bullets."""
    unit = "| , \t   • - / @ . : ( ) "
    return "separators.txt", (unit * (LIMIT // len(unit.encode()))).encode()[:LIMIT]


def txt_bullets() -> tuple[str, bytes]:
    """5 MB of an Experience heading and deeply repeated bullets and wrapped lines."""
    unit = "- a\nb\n• 2019 - 2020\n"
    return "bullets.txt", ("Experience\n" + unit * (LIMIT // len(unit.encode()) - 1)).encode()


def benign_docx() -> tuple[str, bytes]:
    """A small real resume."""
    import docx

    document = docx.Document()
    for line in [
        "Ada Lovelace",
        "ada@example.com | +44 20 7946 0958",
        "Skills",
        "Python, PostgreSQL, Docker",
        "Experience",
        "Senior Engineer, Analytical Engines Ltd, 2015 - Present",
        "Built pipelines in Python",
        "Education",
        "BSc Mathematics, University of London, 2012",
    ]:
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return "ada.docx", buffer.getvalue()


_W = b"http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_CONTENT_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="word/document.xml"/></Relationships>'
)


def _document(paragraphs: list[bytes]) -> bytes:
    body = b"".join(b"<w:p><w:r><w:t>%s</w:t></w:r></w:p>" % text for text in paragraphs)
    return b'<?xml version="1.0"?><w:document xmlns:w="%s"><w:body>%s</w:body></w:document>' % (_W, body)


def _docx(document_xml: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("word/document.xml", document_xml)
    return buffer.getvalue()


CRAFTED = {
    "pdf_text_bomb": pdf_text_bomb,
    "pdf_flate_bomb": pdf_flate_bomb,
    "pdf_many_pages": pdf_many_pages,
    "pdf_dense_pages": pdf_dense_pages,
    "pdf_deep_nesting": pdf_deep_nesting,
    "pdf_page_tree_loop": pdf_page_tree_loop,
    "docx_zip_bomb": docx_zip_bomb,
    "docx_many_entries": docx_many_entries,
    "docx_huge_body": docx_huge_body,
    "docx_billion_laughs": docx_billion_laughs,
    "txt_one_character": txt_one_character,
    "txt_separators": txt_separators,
    "txt_bullets": txt_bullets,
}
