"""Turning an uploaded PDF, DOCX or TXT file into plain text, refusing anything else with a clear message.

`check_upload` is cheap (size, magic bytes, the extension agreeing with the content: linear scans of the bytes
in C) and fits inside a request. The text extractors are the expensive part: they are bounded here in pages,
parts, unpacked bytes and characters, and are meant to run under a time and memory limit
(`tokenapp.features.isolation`).
"""

import io
import os
import warnings
import zipfile
from contextlib import contextmanager

from .errors import ResumeFileError
from .limits import MAX_RESUME_CHARS

MAX_PAGES = 20
MAX_CHARS = MAX_RESUME_CHARS  # longer is not a resume, and it would bloat storage
MAX_UNPACKED = 30 * 1024 * 1024  # every part of a Word file together, as its archive declares them
MAX_DOCUMENT_XML = 5 * 1024 * 1024  # the body of a Word file; a long resume is well under 1 MB
MAX_ZIP_ENTRIES = 500  # a Word file has a few dozen parts
MAX_TABLE_ROWS = 500
MAX_PDF_STREAM = 20 * 1024 * 1024  # decompressed bytes of one PDF stream
MAX_PDF_PAGE_TREE = 10_000  # page-tree entries read (the first MAX_PAGES pages are used)
MAX_PDF_CONTENT = 1_500_000  # decoded page-content bytes read in all (text extraction runs ~1 MB/s)
MAX_PDF_OPERATIONS = 300_000  # operands and operators parsed per content stream
MAX_PDF_FORMS = 200  # embedded forms drawn per page
ALLOWED = {".pdf": "pdf", ".docx": "docx", ".txt": "txt"}
_SIGNATURES = (
    (b"%PDF-", "a PDF"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a program"),
    (b"{\\rtf", "an RTF document"),
    (b"\xd0\xcf\x11\xe0", "an old-style Office document"),
    (b"Rar!", "a RAR archive"),
    (b"\x1f\x8b", "a GZIP archive"),
    (b"RIFF", "a media file"),
    (b"BM", "a bitmap image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
)
_ONLY = "Upload your resume as a PDF, Word (.docx) or plain text (.txt) file."


def sniff(data: bytes) -> str | None:
    """What the bytes look like ("a PDF", "a PNG image"…), or None for unrecognised content."""
    if b"%PDF-" in data[:1024]:  # the spec lets junk precede the header
        return "a PDF"
    binary = b"\x00" in data[:4096]
    for magic, kind in _SIGNATURES:
        # Two-byte signatures ("MZ", "BM") also start ordinary words, so they count only for binary content.
        if data.startswith(magic) and (len(magic) > 2 or binary):
            return kind
    return None


def _refuse(message: str) -> ResumeFileError:
    return ResumeFileError("unsupported_type", message)


def check_type(filename: str, data: bytes) -> str:
    """The file type ("pdf", "docx" or "txt") when extension and content agree; raises otherwise.

    Cheap: a whole ZIP named .docx must name its body part (word/document.xml) and a TXT must hold no NUL
    byte, both found with one scan of the bytes."""
    ext = os.path.splitext((filename or "").strip().lower())[1]
    kind = sniff(data)
    if ext not in ALLOWED:
        hint = " Old .doc files: save them as .docx first." if ext == ".doc" else ""
        raise _refuse(f"{ext or 'Files without an extension'} files aren't supported. {_ONLY}{hint}")
    expected = {"pdf": "a PDF", "docx": "a ZIP archive", "txt": None}[ALLOWED[ext]]
    if kind != expected:
        found = kind or "not a recognised document"
        raise _refuse(f"This file is named {ext} but its content is {found}. {_ONLY}")
    if ALLOWED[ext] == "txt" and b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _refuse(f"This .txt file contains binary data, not text. {_ONLY}")
    if ALLOWED[ext] == "docx" and b"PK\x05\x06" in data[-65_557:] and b"word/document.xml" not in data:
        # A whole archive (it has its end record) without a Word body; a damaged one is left to the parse.
        raise _refuse(f"This file is named .docx but it isn't a Word document. {_ONLY}")
    return ALLOWED[ext]


def check_upload(filename: str, data: bytes, max_bytes: int) -> str:
    """The cheap checks a request can afford: not empty, not too large, a supported type; returns the type."""
    if not data:
        raise ResumeFileError("empty_file", "The file is empty. Choose your resume file and upload it again.")
    if len(data) > max_bytes:
        limit = f"{max_bytes / (1024 * 1024):.0f} MB" if max_bytes >= 1024 * 1024 else f"{max_bytes} bytes"
        raise ResumeFileError(
            "file_too_large", f"The file is larger than {limit}. Upload a smaller version of your resume."
        )
    return check_type(filename, data)


def _unreadable(what: str) -> ResumeFileError:
    return ResumeFileError(
        "unreadable_file",
        f"We couldn't read this {what}: it may be damaged or incomplete. Open it, save a fresh copy and upload that.",
    )


def too_complex(what: str) -> ResumeFileError:
    """The error for a file past the size or complexity the parser accepts."""
    return ResumeFileError(
        "too_complex",
        f"This {what} is too large or too complex to read. Save a simpler copy "
        "(fewer pages or images), or upload a DOCX or TXT version.",
    )


@contextmanager
def _pdf_limits():
    """pypdf's own resource limits, tightened to resume size (older pypdf without them: no-op)."""
    import pypdf

    apply = getattr(pypdf, "apply_configuration", None)
    if apply is None:
        yield
        return
    wanted = {
        "zlib_maximum_output_length": MAX_PDF_STREAM,
        "lzw_maximum_output_length": MAX_PDF_STREAM,
        "run_length_maximum_output_length": MAX_PDF_STREAM,
        "brotli_maximum_output_length": MAX_PDF_STREAM,
        "jbig2_maximum_output_length": MAX_PDF_STREAM,
        "image_maximum_buffer_size": MAX_PDF_STREAM,
        "array_based_stream_maximum_output_length": MAX_PDF_STREAM,
        "maximum_declared_stream_length": MAX_PDF_STREAM,
        "page_tree_maximum_entries": MAX_PDF_PAGE_TREE,
        "page_tree_maximum_page_entries": MAX_PDF_PAGE_TREE * 10,
        "stream_parsing_work_maximum_count": MAX_PDF_OPERATIONS,
        "stream_decoding_work_maximum_length": MAX_PDF_STREAM * 2,
        "xform_maximum_invocations_per_extraction": MAX_PDF_FORMS,
    }
    known = set(getattr(pypdf.Configuration, "__dataclass_fields__", {}))
    with apply(**{name: value for name, value in wanted.items() if name in known}):
        yield


def pdf_text(data: bytes) -> tuple[str, dict]:
    """Text of the first MAX_PAGES pages of a PDF (at most MAX_CHARS characters, from at most MAX_PDF_CONTENT
    bytes of page content) and {type, pages}."""
    from pypdf import PdfReader, errors

    limit_reached = getattr(errors, "LimitReachedError", MemoryError)  # pypdf's own bounds (older: none)

    try:
        with warnings.catch_warnings(), _pdf_limits():
            warnings.simplefilter("ignore")  # malformed PDFs warn a lot; we only care whether text comes out
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted and not _decrypts(reader):
                raise ResumeFileError(
                    "unreadable_file", "This PDF is password-protected. Remove the password and upload it again."
                )
            pages = reader.pages
            count = len(pages)
            texts: list[str]
            texts, size, budget = [], 0, MAX_PDF_CONTENT
            for index in range(min(count, MAX_PAGES)):
                contents = pages[index].get_contents()
                weight = len(contents.get_data()) if contents is not None else 0
                if weight > budget:
                    if not texts:
                        raise too_complex("PDF")
                    break  # later pages are cut, like text past MAX_CHARS
                budget -= weight
                texts.append(pages[index].extract_text() or "")
                size += len(texts[-1])
                if size > MAX_CHARS:
                    break
    except ResumeFileError:
        raise
    except (limit_reached, MemoryError, RecursionError) as exc:
        raise too_complex("PDF") from exc
    except Exception as exc:  # pypdf raises many types for broken files
        raise _unreadable("PDF") from exc
    if not count:
        raise _unreadable("PDF")
    return "\n".join(texts), {"type": "pdf", "pages": count, "tables": 0}


def _decrypts(reader) -> bool:
    try:
        return bool(reader.decrypt(""))
    except Exception:  # noqa: BLE001 - missing crypto backend or a real password: either way we cannot read it
        return False


def docx_text(data: bytes) -> tuple[str, dict]:
    """Text of a Word document (headers, paragraphs and tables in order) and {type, tables}."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = {info.filename: info.file_size for info in archive.infolist()}
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _unreadable("Word file") from exc
    if "word/document.xml" not in parts:
        raise _refuse(f"This file is named .docx but it isn't a Word document. {_ONLY}")
    # zipfile never unpacks a part past its declared size (a part that lies fails its CRC check), so
    # checking the declared sizes bounds what python-docx can unpack: a zip bomb is refused here.
    if (
        len(parts) > MAX_ZIP_ENTRIES
        or sum(parts.values()) > MAX_UNPACKED
        or parts["word/document.xml"] > MAX_DOCUMENT_XML
    ):
        raise too_complex("Word file")
    try:
        return _docx_body(data)
    except (MemoryError, RecursionError) as exc:
        raise too_complex("Word file") from exc
    except Exception as exc:  # python-docx and lxml raise many types for broken files
        raise _unreadable("Word file") from exc


def _docx_body(data: bytes) -> tuple[str, dict]:
    import docx
    from docx.table import Table

    document = docx.Document(io.BytesIO(data))
    out = [p.text for section in document.sections for p in section.header.paragraphs if p.text.strip()]
    size, rows = sum(map(len, out)), 0
    style_names: dict[str | None, str] = {}
    for block in document.iter_inner_content():
        if size > MAX_CHARS:
            break  # the rest would be cut anyway
        if isinstance(block, Table):
            for row in block.rows:
                rows += 1
                if rows > MAX_TABLE_ROWS:
                    break
                out.append(_row_text(row))
                size += len(out[-1])
        else:
            # A style is looked up once per style id (python-docx searches the styles part on every
            # `.style`), and the text is read once: a long body is read in a third of the time.
            style_id = block._p.style
            if style_id not in style_names:
                style_names[style_id] = (block.style.name if block.style is not None else "") or ""
            text = block.text
            out.append(f"• {text}" if "List" in style_names[style_id] and text.strip() else text)
            size += len(out[-1])
    return "\n".join(out), {"type": "docx", "pages": None, "tables": len(document.tables)}


def _row_text(row) -> str:
    cells: list[str] = []
    for cell in row.cells:
        text = cell.text.strip()
        if text and (not cells or cells[-1] != text):  # merged cells repeat their text
            cells.append(text)
    return " | ".join(cells)


def txt_text(data: bytes) -> tuple[str, dict]:
    """Text of a plain-text file: UTF-8 (or UTF-16 with a BOM), falling back to Latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), {"type": "txt", "pages": None, "tables": 0}
        except UnicodeDecodeError as exc:
            raise _unreadable("text file") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text, {"type": "txt", "pages": None, "tables": 0}


def extract_text(filename: str, data: bytes, max_bytes: int) -> tuple[str, dict]:
    """Checked plain text of an upload and facts about the file; raises ResumeFileError."""
    kind = check_upload(filename, data, max_bytes)
    text, info = {"pdf": pdf_text, "docx": docx_text, "txt": txt_text}[kind](data)
    if sum(ch.isalpha() for ch in text) < 20:
        raise ResumeFileError(
            "no_text",
            "We couldn't find any text in this file. If it is a scanned image, "
            "export a text-based PDF from your editor or upload a DOCX or TXT version.",
        )
    info["truncated"] = len(text) > MAX_CHARS
    return text[:MAX_CHARS], info
