"""Date ranges in resumes ("Jan 2020 – Present", "2018-2021", "03/2019 - 06/2021") and years of experience."""

import re
from dataclasses import dataclass
from datetime import date

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_YEAR = r"(?:19[5-9]\d|20\d\d)"
DATE = rf"(?:{MONTH},?\s+{_YEAR}|(?:0?[1-9]|1[0-2])[/.-]{_YEAR}|{_YEAR})"
_NOW = r"(?:present|current(?:ly)?|now|today|date|ongoing)"
RANGE = re.compile(
    rf"(?<![\w/])(?P<start>{DATE})\s*(?:-|–|—|to|until|through|~)\s*(?P<end>{DATE}|{_NOW})(?![\w/])", re.I
)
YEAR = re.compile(rf"(?<!\d){_YEAR}(?!\d)")
PRESENT = "Present"


@dataclass(frozen=True)
class DateRange:
    """A start and end as written-out strings ("2020-01", "2018", "Present") and where they were found."""

    start: str
    end: str
    span: tuple[int, int]


def _normalise(text: str) -> str:
    text = text.strip().lower().rstrip(".")
    if re.fullmatch(_NOW, text):
        return PRESENT
    year = YEAR.search(text).group(0)  # type: ignore[union-attr]  # callers pass a matched date, which holds a year
    month = re.match(r"(\d{1,2})[/.-]", text)
    if month:
        return f"{year}-{int(month.group(1)):02d}"
    name = re.match(r"[a-z]{3}", text)
    return f"{year}-{_MONTHS.index(name.group(0)) + 1:02d}" if name else year


def find_range(line: str) -> DateRange | None:
    """The first date range in a line, or None."""
    hit = RANGE.search(line or "")
    if not hit:
        return None
    return DateRange(_normalise(hit.group("start")), _normalise(hit.group("end")), hit.span())


def to_month(value: str, today: date, is_end: bool) -> int | None:
    """Months since year 0 for "2020-03", "2020" or "Present"; a bare year counts as Jan (start) or Dec (end)."""
    if not value:
        return None
    if value == PRESENT:
        return today.year * 12 + today.month - 1
    match = re.fullmatch(r"(\d{4})(?:-(\d{2}))?", value)
    if not match:
        return None
    month = int(match.group(2)) if match.group(2) else (12 if is_end else 1)
    return int(match.group(1)) * 12 + month - 1


def total_years(ranges: list[tuple[str, str]], today: date | None = None) -> float:
    """Years covered by the ranges with overlaps counted once, to one decimal."""
    today = today or date.today()
    spans = []
    for start, end in ranges:
        first, last = to_month(start, today, False), to_month(end or start, today, True)
        if first is not None and last is not None and last >= first:
            spans.append((first, last + 1))
    months, reach = 0, -1
    for first, last in sorted(spans):
        if last > reach:
            months += last - max(first, reach)
            reach = last
    return round(months / 12, 1)


def display(value: str) -> str:
    """'2020-03' → 'Mar 2020'; years and 'Present' unchanged."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", value or "")
    if not match:
        return value or ""
    return f"{_MONTHS[int(match.group(2)) - 1].title()} {match.group(1)}"


def last_year(text: str) -> str:
    """The last four-digit year in the text, or ''."""
    years = YEAR.findall(text or "")
    return years[-1] if years else ""


_SINGLE = re.compile(rf"\(?\b(?:(?:spring|summer|fall|autumn|winter)\s+)?(?P<date>{DATE})\)?\s*$", re.I)


def find_single(line: str) -> DateRange | None:
    """A lone date closing a line ("Intern, Acme (Summer 2019)"), as a range starting and ending there."""
    hit = _SINGLE.search(line or "")
    if not hit or hit.start() == 0:
        return None
    value = _normalise(hit.group("date"))
    return DateRange(value, value, hit.span())
