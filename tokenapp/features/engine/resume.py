"""Resume parsing: contact details, summary, skills, experience and education from PDF, DOCX or TXT."""

import re
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from . import sections as sec
from .dates import total_years
from .files import extract_text
from .limits import MAX_ITEMS, MAX_LINES, MAX_NAME_CHARS, MAX_RESUME_CHARS
from .skills import extract_skills, merge
from .textutil import clean, dedupe, strip_bullet

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

MAX_BYTES = 5 * 1024 * 1024
# Each pattern starts only where its run of characters starts, and runs are possessive: a long run of
# letters, dots or hyphens is scanned once instead of once per position (which was quadratic).
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]++@[\w-]++(?:\.[\w-]++)+")
_PHONE = re.compile(r"(?<![\w/])\+?\(?\d[\d\s().-]{7,18}\d(?![\w/])")
_URL = re.compile(
    r"(?:https?://|www\.)[^\s|,;<>()]++|(?<![\w-])(?:[\w-]++\.)?(?:linkedin\.com|github\.com|"
    r"gitlab\.com|behance\.net|dribbble\.com|medium\.com)/[^\s|,;<>()]++",
    re.I,
)
_CHUNKS = re.compile(r"(?<!\s)\s*+[|•·◦▪]\s*+|\t|\s{3,}")
_LOCATION = re.compile(
    r"[A-Z][A-Za-z .'-]++,\s*+(?P<region>[A-Z]{2}|[A-Z][a-z][A-Za-z .'-]++)(?:,\s*+[A-Z][A-Za-z .'-]++)?"
)
_CREDENTIAL = re.compile(r",\s*(?:[A-Z][A-Za-z.]{1,5})(?:\s*,\s*[A-Z][A-Za-z.]{1,5})*$")  # "Jane Doe, RN, MBA"
_YEARS_CLAIM = re.compile(r"(\d{1,2})\+?\s*(?:years|yrs)", re.I)


@dataclass
class Experience:
    """One job."""

    title: str = ""
    company: str = ""
    start: str = ""
    end: str = ""
    bullets: list[str] = field(default_factory=list)


@dataclass
class Education:
    """One degree or qualification."""

    degree: str = ""
    institution: str = ""
    year: str = ""


@dataclass
class ParsedResume:
    """What a resume says, ready to store as JSON and reuse across features."""

    name: str = ""
    email: str = ""
    phone: str = ""
    links: list[str] = field(default_factory=list)
    location: str = ""
    summary: str = ""
    skills: list[str] = field(default_factory=list)
    experience: list[Experience] = field(default_factory=list)
    education: list[Education] = field(default_factory=list)
    projects: list[str] = field(default_factory=list)
    certifications: list[str] = field(default_factory=list)
    raw_text: str = ""
    file_info: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ParsedResume":
        """Rebuild from `to_dict()` output, ignoring unknown keys."""
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        known["experience"] = [Experience(**_pick(Experience, e)) for e in known.get("experience") or []]
        known["education"] = [Education(**_pick(Education, e)) for e in known.get("education") or []]
        return cls(**known)

    def years_of_experience(self, today: date | None = None) -> float:
        """Years covered by dated jobs (overlaps once), else the largest "N years" claim in the text."""
        years = total_years([(e.start, e.end) for e in self.experience if e.start], today)
        if years:
            return years
        claims = [int(n) for n in _YEARS_CLAIM.findall(self.summary or self.raw_text[:2000])]
        return float(max(claims)) if claims else 0.0

    def stated_years(self) -> int:
        """The largest "N years" the summary claims, or 0."""
        return max((int(n) for n in _YEARS_CLAIM.findall(self.summary or "")), default=0)

    @property
    def current_title(self) -> str:
        """The most recent job title listed, or ''."""
        return next((e.title for e in self.experience if e.title), "")

    def bullets(self) -> list[tuple[Experience, str]]:
        """Every experience bullet with its job, in resume order."""
        return [(job, bullet) for job in self.experience for bullet in job.bullets]


def _pick(kind: "type[DataclassInstance]", data: dict) -> dict:
    return {k: v for k, v in (data or {}).items() if k in kind.__dataclass_fields__}


def parse_resume(filename: str, data: bytes, max_bytes: int = MAX_BYTES) -> ParsedResume:
    """Parse an uploaded PDF, DOCX or TXT resume; raises ResumeFileError for unusable files."""
    text, info = extract_text(filename, data, max_bytes)
    parsed = parse_text(text)
    parsed.file_info = info
    return parsed


def parse_text(text: str) -> ParsedResume:
    """Parse resume plain text (its first MAX_RESUME_CHARS characters and MAX_LINES lines)."""
    text = "\n".join(text[:MAX_RESUME_CHARS].replace("\r\n", "\n").replace("\r", "\n").splitlines()[:MAX_LINES])
    header, parts = sec.split_sections(text)
    top = header[:8] or [clean(line) for line in text.splitlines() if clean(line)][:6]
    return ParsedResume(
        name=find_name(top),
        email=_first(EMAIL, text),
        phone=find_phone(top) or find_phone(text.splitlines()),
        links=find_links(text)[:MAX_ITEMS],
        location=find_location(top),
        summary=_summary(parts, header),
        skills=merge(sec.parse_skill_lines(parts.get("skills", [])), extract_skills(text))[:MAX_ITEMS],
        experience=[Experience(**e) for e in sec.parse_experience(parts.get("experience", []))],
        education=[Education(**e) for e in sec.parse_education(parts.get("education", []))],
        projects=_items(parts.get("projects", []))[:MAX_ITEMS],
        certifications=_items(parts.get("certifications", []))[:MAX_ITEMS],
        raw_text=text.strip(),
    )


def _first(pattern: re.Pattern[str], text: str) -> str:
    hit = pattern.search(text or "")
    return hit.group(0).rstrip(".") if hit else ""


def find_phone(lines: list[str]) -> str:
    """The first phone-number-like run of 9 to 15 digits that is not a date range."""
    for line in lines:
        for hit in _PHONE.finditer(line):
            candidate = hit.group(0).strip()
            digits = re.sub(r"\D", "", candidate)
            if 9 <= len(digits) <= 15 and not re.search(r"(?:19|20)\d\d\s*[-–]\s*(?:19|20)\d\d", candidate):
                return candidate
    return ""


def find_links(text: str) -> list[str]:
    """Profile and web links (LinkedIn, GitHub, portfolio), without trailing punctuation."""
    links = [hit.group(0).rstrip(".,;:)") for hit in _URL.finditer(text or "")]
    return dedupe([link for link in links if "@" not in link])


def _chunks(lines: list[str]) -> list[str]:
    return [c.strip() for line in lines for c in _CHUNKS.split(line) if c and c.strip()]


def _name_shaped(text: str) -> bool:
    parts = text.split()
    return 2 <= len(parts) <= 4 and all(p[0].isupper() and all(c.isalpha() or c in "'’.-" for c in p) for p in parts)


def find_name(lines: list[str]) -> str:
    """The first header chunk shaped like a person's name (2–4 capitalised words, no digits or job words)."""
    for chunk in _chunks(lines[:5]):
        if len(chunk) > MAX_NAME_CHARS:
            continue  # not a name, and _CREDENTIAL is quadratic in a long comma-separated line
        candidate = _CREDENTIAL.sub("", chunk)
        candidate = candidate.title() if candidate.isupper() else candidate
        if (
            _name_shaped(candidate)
            and not sec.TITLE_WORDS.search(candidate)
            and not sec.heading_of(candidate)
            and not extract_skills(candidate)
        ):
            return candidate
    return ""


def find_location(lines: list[str]) -> str:
    """A "City, ST" or "City, Country" chunk in the header, or a "Location:" label."""
    for chunk in _chunks(lines):
        label, colon, rest = chunk.partition(":")
        if colon and label.strip().lower() in ("location", "address", "based in"):
            return rest.strip()
        hit = _LOCATION.fullmatch(chunk)
        region = hit.group("region") if hit else ""
        if hit and (len(region) > 2 or region in sec.US_STATES) and not sec.TITLE_WORDS.search(chunk):
            return chunk
    return ""


def _summary(parts: dict[str, list[str]], header: list[str]) -> str:
    if parts.get("summary"):
        return clean(" ".join(strip_bullet(line) for line in parts["summary"]))
    prose = [line for line in header[1:] if len(line.split()) >= 12 and not EMAIL.search(line)]
    return clean(" ".join(prose))


def _items(lines: list[str]) -> list[str]:
    return [strip_bullet(line) for line in lines if strip_bullet(line)]
