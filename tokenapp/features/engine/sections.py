"""Splitting resume text into sections and reading the experience, education and skills sections."""

import re

from .dates import find_range, find_single, last_year
from .limits import MAX_BULLET_CHARS, MAX_BULLETS, MAX_ENTRIES, MAX_ITEMS
from .skills import normalise
from .textutil import clean, is_bullet, split_list, strip_bullet

HEADINGS: dict[str, tuple[str, ...]] = {
    "summary": (
        "summary",
        "professional summary",
        "profile",
        "professional profile",
        "about",
        "about me",
        "objective",
        "career objective",
        "career summary",
        "overview",
        "personal statement",
    ),
    "experience": (
        "experience",
        "work experience",
        "professional experience",
        "work history",
        "employment",
        "employment history",
        "career history",
        "relevant experience",
        "professional background",
    ),
    "education": (
        "education",
        "education and training",
        "academic background",
        "academic qualifications",
        "qualifications",
        "education and certifications",
    ),
    "skills": (
        "skills",
        "technical skills",
        "core skills",
        "key skills",
        "core competencies",
        "competencies",
        "skills and tools",
        "technologies",
        "tools",
        "areas of expertise",
        "expertise",
        "tech stack",
        "skills and abilities",
        "skills summary",
    ),
    "projects": ("projects", "personal projects", "key projects", "selected projects", "side projects"),
    "certifications": (
        "certifications",
        "certificates",
        "licenses",
        "licenses and certifications",
        "certifications and licenses",
        "licences",
        "training",
    ),
    "other": (
        "interests",
        "hobbies",
        "awards",
        "honors",
        "honours",
        "achievements",
        "publications",
        "languages",
        "volunteer",
        "volunteering",
        "volunteer experience",
        "references",
        "activities",
        "affiliations",
        "memberships",
        "additional information",
    ),
}
_LOOKUP = {name: section for section, names in HEADINGS.items() for name in names}
TITLE_WORDS = re.compile(
    r"\b(?:engineer|developer|manager|analyst|designer|scientist|nurse|teacher|accountant|director|lead|intern|"
    r"consultant|specialist|officer|coordinator|associate|assistant|representative|executive|architect|"
    r"administrator|programmer|researcher|head|president|vp|founder|co-founder|owner|technician|writer|editor|"
    r"marketer|recruiter|advisor|adviser|strategist|supervisor|tutor|instructor|lecturer|professor|clerk|agent|"
    r"cashier|chef|pharmacist|therapist|physician|auditor|controller|bookkeeper|trainee|apprentice|fellow|"
    r"scrum master|product owner|educator|practitioner)s?\b",
    re.I,
)
# A spaced separator is tried only where a run of spaces starts (`(?<!\s)`), so a long run of tabs costs
# one scan, not one per tab.
_SEPARATORS = re.compile(r"(?<!\s)\s++(?:[|•·]|[–—-]|at|@)\s+|,\s+|\t|\s{3,}")
_EDU_SEPARATORS = re.compile(
    r"(?<!\s)\s++(?:[|•·]|[–—-])\s+|,\s+|\t|\s{3,}"
)  # no " at ": "University of Texas at Austin"
US_STATES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "DC",
    ]
)
_STATE = re.compile(r"[A-Z]{2}")
ORG_WORDS = re.compile(
    r"\b(?:inc|llc|ltd|limited|corp|corporation|company|co|group|gmbh|plc|labs?|technologies|solutions|systems|"
    r"hospital|clinic|medical center|health|university|college|school|academy|bank|agency|studio|partners|"
    r"foundation|institute|council|department of|ministry|consulting|software|services)\b\.?",
    re.I,
)


def heading_of(line: str) -> tuple[str, str] | None:
    """(section, rest of line) when the line is a section heading, else None."""
    label, _, rest = line.partition(":")
    if len(label) > 40:
        return None
    key = re.sub(r"\s+", " ", re.sub(r"[^a-z ]", " ", label.lower().replace("&", " and "))).strip()
    if key in _LOOKUP and len(label) <= 40 and (rest.strip() == "" or ":" in line):
        return _LOOKUP[key], rest.strip()
    return None


def split_sections(text: str) -> tuple[list[str], dict[str, list[str]]]:
    """The lines above the first heading and each section's lines (repeated sections are joined)."""
    header: list[str] = []
    sections: dict[str, list[str]] = {}
    current: list[str] = header
    for raw in text.splitlines():
        line = clean(raw)
        if not line:
            continue
        found = heading_of(line)
        if found and found[1] and current is sections.get("skills"):
            found = None  # "Languages: Python, Go" labels a group inside the skills section
        if found:
            current = sections.setdefault(found[0], [])
            if found[1]:
                current.append(found[1])
        else:
            current.append(line)
    return header, sections


def _parts(lines: list[str], separators: re.Pattern[str] = _SEPARATORS) -> list[str]:
    return [p.strip(" ,.;") for line in lines for p in separators.split(line) if p and p.strip(" ,.;")]


def split_title_company(lines: list[str]) -> tuple[str, str]:
    """(job title, company) from an entry's header lines."""
    parts = [p for p in _parts(lines) if not (_STATE.fullmatch(p) or p.lower() == "remote")]
    titles = [p for p in parts if TITLE_WORDS.search(p)]
    title = next((p for p in titles if not ORG_WORDS.search(p)), titles[0] if titles else "")
    rest = [p for p in parts if p != title]
    if not title and len(rest) >= 2 and not ORG_WORDS.search(rest[0]):
        title = rest.pop(0)  # no title word: assume the common "Title, Company" order
    company = next((p for p in rest if ORG_WORDS.search(p)), rest[0] if rest else "")
    return title, company


def _fill(entry: dict, line: str) -> bool:
    """Put a line under a fresh entry into its empty title or company; False when both are set."""
    if entry["bullets"] or (entry["title"] and entry["company"]) or len(line.split()) > 8:
        return False
    title, company = split_title_company([line])
    if not entry["title"] and TITLE_WORDS.search(line):
        entry["title"] = title or line
    elif not entry["company"]:
        entry["company"] = company or title or line
    else:
        entry["title"] = title or line
    return True


def _new_entry(header: list[str], start: str = "", end: str = "") -> dict:
    title, company = split_title_company(header)
    return {"title": title, "company": company, "start": start, "end": end, "bullets": []}


def parse_experience(lines: list[str]) -> list[dict]:
    """Jobs as {title, company, start, end, bullets} from the experience section's lines."""
    entries: list[dict] = []
    pending: list[str] = []
    for line in lines:
        dated = None if is_bullet(line) else (find_range(line) or find_single(line))
        if dated:
            rest = clean((line[: dated.span[0]] + " " + line[dated.span[1] :]).strip(" ,|()–—-"))
            entries.append(_new_entry(pending + ([rest] if rest else []), dated.start, dated.end))
            pending = []
        elif is_bullet(line) or (entries and _is_prose(line)):
            _add_bullet(entries, pending, strip_bullet(line))
            pending = []
        elif not (entries and not pending and _fill(entries[-1], line)):
            pending.append(line)
    if pending:
        entries.append(_new_entry(pending))
    return [e for e in entries if e["title"] or e["company"] or e["bullets"]][:MAX_ENTRIES]


def _is_prose(line: str) -> bool:
    return len(line.split()) >= 9 or line.endswith(".") or line[:1].islower()


def _add_bullet(entries: list[dict], pending: list[str], text: str) -> None:
    if pending:
        entries.append(_new_entry(pending))
    if not entries:
        entries.append(_new_entry([]))
    bullets = entries[-1]["bullets"]
    if bullets and text[:1].islower() and not bullets[-1].endswith(".") and len(bullets[-1]) < MAX_BULLET_CHARS:
        bullets[-1] = f"{bullets[-1]} {text}"  # a bullet wrapped onto the next line (bounded: no quadratic growth)
    elif len(bullets) < MAX_BULLETS:
        bullets.append(text)


DEGREE = re.compile(
    r"(?<![A-Za-z])(?:bachelor'?s?|master'?s?|mba|doctorate|associate'?s? degree|diploma|certificate|high school|ged|"
    r"bsn|msn|llb|llm|pgce|a-levels?|gcses?|(?-i:B\.?S\.?c?|B\.?A\.?|B\.?Eng|B\.?Ed|M\.?S\.?c?|M\.?A\.?|M\.?Eng|M\.?Ed|"
    r"Ph\.?\s?D|J\.?D|M\.?D|A\.?A\.?S?))(?![A-Za-z])",
    re.I,
)
INSTITUTION = re.compile(
    r"\b(?:university|college|institute|school|academy|polytechnic|conservatory|universit\w+)\b", re.I
)


def parse_education(lines: list[str]) -> list[dict]:
    """Degrees as {degree, institution, year} from the education section's lines."""
    entries: list[dict] = []
    for line in (text for text in lines if not is_bullet(text)):
        first_part = line.partition(",")[0]
        parts = [p for p in _parts([line], _EDU_SEPARATORS) if not (_STATE.fullmatch(p) and p not in first_part)]
        degree = next((p for p in parts if DEGREE.search(p) and not INSTITUTION.search(p)), "")
        school = next((p for p in parts if INSTITUTION.search(p)), "")
        year = last_year(line)
        if not (degree or school):
            if entries and year and not entries[-1]["year"]:
                entries[-1]["year"] = year
            continue
        current = entries[-1] if entries else None
        if current is None or (degree and current["degree"]) or (school and current["institution"]):
            current = {"degree": "", "institution": "", "year": ""}
            entries.append(current)
        current["degree"] = current["degree"] or _strip_years(degree)
        current["institution"] = current["institution"] or _strip_years(school)
        current["year"] = year or current["year"]
    return entries[:MAX_ENTRIES]


def _strip_years(text: str) -> str:
    return clean(re.sub(r"\(?\b(?:19|20)\d\d\b\)?|[–—-]\s*$", "", text)).strip(" ,-–—")


def parse_skill_lines(lines: list[str]) -> list[str]:
    """Skill names from a skills section, dropping labels like "Languages:" and sentence-like items."""
    items: list[str] = []
    for line in lines:
        label, colon, rest = strip_bullet(line).partition(":")
        body = rest if colon and len(label.split()) <= 3 else strip_bullet(line)
        items.extend(i for i in split_list(body) if len(i) <= 40 and len(i.split()) <= 4)
    return [normalise(i) for i in items[:MAX_ITEMS]]
