"""Turning an uploaded PDF, DOCX or TXT file into plain text, refusing anything else with a clear message."""

import io
import os
import warnings
import zipfile

from .errors import ResumeFileError
from .limits import MAX_RESUME_CHARS

MAX_PAGES = 20
MAX_CHARS = MAX_RESUME_CHARS  # longer is not a resume, and it would bloat storage
MAX_UNPACKED = 50 * 1024 * 1024
ALLOWED = {".pdf": "pdf", ".docx": "docx", ".txt": "txt"}
_SIGNATURES = (
    (b"%PDF-", "a PDF"), (b"PK\x03\x04", "a ZIP archive"), (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"), (b"MZ", "a Windows program"), (b"\x7fELF", "a program"), (b"{\\rtf", "an RTF document"),
    (b"\xd0\xcf\x11\xe0", "an old-style Office document"), (b"Rar!", "a RAR archive"), (b"\x1f\x8b", "a GZIP archive"),
    (b"RIFF", "a media file"), (b"BM", "a bitmap image"), (b"II*\x00", "a TIFF image"), (b"MM\x00*", "a TIFF image"),
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
    """The file type ("pdf", "docx" or "txt") when extension and content agree; raises otherwise."""
    ext = os.path.splitext((filename or "").strip().lower())[1]
    kind = sniff(data)
    if ext not in ALLOWED:
        hint = " Old .doc files: save them as .docx first." if ext == ".doc" else ""
        raise _refuse(f"{ext or 'Files without an extension'} files aren't supported. {_ONLY}{hint}")
    expected = {"pdf": "a PDF", "docx": "a ZIP archive", "txt": None}[ALLOWED[ext]]
    if kind != expected:
        found = kind or "not a recognised document"
        raise _refuse(f"This file is named {ext} but its content is {found}. {_ONLY}")
    if ALLOWED[ext] == "txt" and b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _refuse(f"This .txt file contains binary data, not text. {_ONLY}")
    return ALLOWED[ext]


def _unreadable(what: str) -> ResumeFileError:
    return ResumeFileError("unreadable_file", f"We couldn't read this {what}: it may be damaged or incomplete. "
                           "Open it, save a fresh copy and upload that.")


def pdf_text(data: bytes) -> tuple[str, dict]:
    """Text of the first pages of a PDF and {type, pages}."""
    from pypdf import PdfReader

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # malformed PDFs warn a lot; we only care whether text comes out
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted and not _decrypts(reader):
                raise ResumeFileError("unreadable_file",
                                      "This PDF is password-protected. Remove the password and upload it again.")
            pages = list(reader.pages)
            text = "\n".join(page.extract_text() or "" for page in pages[:MAX_PAGES])
    except ResumeFileError:
        raise
    except Exception as exc:  # pypdf raises many types for broken files
        raise _unreadable("PDF") from exc
    if not pages:
        raise _unreadable("PDF")
    return text, {"type": "pdf", "pages": len(pages), "tables": 0}


def _decrypts(reader) -> bool:
    try:
        return bool(reader.decrypt(""))
    except Exception:  # missing crypto backend or a real password: either way we cannot read it
        return False


def docx_text(data: bytes) -> tuple[str, dict]:
    """Text of a Word document (headers, paragraphs and tables in order) and {type, tables}."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _unreadable("Word file") from exc
    if "word/document.xml" not in names:
        raise _refuse(f"This file is named .docx but it isn't a Word document. {_ONLY}")
    if unpacked > MAX_UNPACKED:
        raise _unreadable("Word file")
    try:
        return _docx_body(data)
    except Exception as exc:  # python-docx and lxml raise many types for broken files
        raise _unreadable("Word file") from exc


def _docx_body(data: bytes) -> tuple[str, dict]:
    import docx
    from docx.table import Table

    document = docx.Document(io.BytesIO(data))
    out = [p.text for section in document.sections for p in section.header.paragraphs if p.text.strip()]
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            out.extend(_row_text(row) for row in block.rows)
        else:
            style = (block.style.name if block.style is not None else "") or ""
            out.append(f"• {block.text}" if "List" in style and block.text.strip() else block.text)
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
    if not data:
        raise ResumeFileError("empty_file", "The file is empty. Choose your resume file and upload it again.")
    if len(data) > max_bytes:
        limit = f"{max_bytes / (1024 * 1024):.0f} MB" if max_bytes >= 1024 * 1024 else f"{max_bytes} bytes"
        raise ResumeFileError("file_too_large", f"The file is larger than {limit}. Upload a smaller version of your resume.")
    kind = check_type(filename, data)
    text, info = {"pdf": pdf_text, "docx": docx_text, "txt": txt_text}[kind](data)
    if sum(ch.isalpha() for ch in text) < 20:
        raise ResumeFileError("no_text", "We couldn't find any text in this file. If it is a scanned image, "
                              "export a text-based PDF from your editor or upload a DOCX or TXT version.")
    info["truncated"] = len(text) > MAX_CHARS
    return text[:MAX_CHARS], info
