"""Reading a job posting: company, role, required vs nice-to-have skills, years asked for, salary, red flags."""

import copy
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache

from .limits import MAX_INPUT_CHARS, MAX_ITEMS, MAX_LINES
from .sections import TITLE_WORDS
from .skills import extract_skills
from .textutil import clean, is_bullet, lines, sentences, strip_bullet

# Up to four capitalised words on one line. Words are possessive and a name starts only where a word starts,
# so a long run of capitals is scanned once, not once per letter.
_CAPS = r"(?<![\w&.'’-])[A-Z][\w&.'’-]*+(?:[ \t]++(?:of[ \t]++|&[ \t]++)?[A-Z][\w&.'’-]*+){0,3}"
_SPACE = r"[^\S\n]"  # whitespace within a line; `^\s*` under (?m) would rescan every blank line below it
_COMPANY = (
    re.compile(rf"(?im)^{_SPACE}*(?:company|employer|organi[sz]ation){_SPACE}*:\s*+(?P<c>[^\n]+)$"),
    re.compile(rf"(?m)^{_SPACE}*About{_SPACE}+(?P<c>{_CAPS}){_SPACE}*+:?{_SPACE}*$"),
    re.compile(rf"\b[Jj]oin\s++(?:the\s+team\s+at\s++)?(?P<c>{_CAPS})"),
    re.compile(rf"\b(?:At|at)\s++(?P<c>{_CAPS}),?\s++(?:we|you|our)\b"),
    re.compile(rf"(?P<c>{_CAPS})\s++is\s++(?:a|an|the|hiring|looking|seeking|building|on\s+a\s+mission)\b"),
)
_NOT_COMPANY = {
    "we",
    "you",
    "our",
    "this",
    "the",
    "it",
    "your",
    "role",
    "job",
    "team",
    "about",
    "us",
    "position",
    "company",
    "they",
    "he",
    "she",
    "who",
    "what",
    "there",
    "here",
    "senior",
    "junior",
}
_ROLE_LABEL = re.compile(rf"(?im)^{_SPACE}*(?:job{_SPACE}+title|title|position|role){_SPACE}*:\s*+(?P<r>[^\n]+)$")
_ROLE_PHRASE = re.compile(
    r"(?:hiring|looking\s+for|seeking|searching\s+for|recruiting)\s+(?:an?\s+|our\s+next\s+|an?\s+new\s+)?"
    r"(?P<r>(?:[A-Z][\w+#/&.-]*\s+){0,4}[A-Z][\w+#/&.-]*)"
)
_REQ_HEAD = re.compile(
    r"^(?:requirements?|required|must[- ]haves?|(?:minimum |basic |key )?qualifications|"
    r"what you(?:'ll| will)? need|what we(?:'re| are)? looking for|you have|who you are|essential)",
    re.I,
)
_PREF_HEAD = re.compile(
    r"^(?:nice[- ]to[- ]haves?|bonus(?: points)?|preferred(?: qualifications)?|pluses|desirable|"
    r"good to have|extra credit|it'?s a plus)",
    re.I,
)
_RESP_HEAD = re.compile(
    r"^(?:responsibilities|what you(?:'ll| will)? do|the role|your role|day[- ]to[- ]day|"
    r"duties|in this role)",
    re.I,
)
_OTHER_HEAD = re.compile(
    r"^(?:about|who we are|our (?:mission|story|values|team)|benefits|perks|what we offer|"
    r"why join|compensation|salary|location|how to apply)",
    re.I,
)
_PREF_CUE = re.compile(
    r"nice[- ]to[- ]have|\bbonus\b|\bpreferred\b|\ba plus\b|\bideally\b|\bdesirable\b|"
    r"good to have|familiarity with|exposure to|\bplus\b",
    re.I,
)
_REQ_CUE = re.compile(r"\bmust\b|\brequired\b|\brequirement|\bessential\b|\bmandatory\b|\bat least\b|\bminimum\b", re.I)
_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
# Possessive spaces: three optional parts each followed by `\s*` made "5" + 10,000 spaces cubic.
_YEARS = re.compile(
    r"\b(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)\s*+(?:\+|plus)?\s*+"
    r"(?:(?:-|–|to)\s*+\d{1,2}\s*+)?\+?\s*+(?:years?|yrs)",
    re.I,
)
_SALARY = re.compile(
    r"[$£€₹]\s?\d[\d,.]*+\s?[kK]?(?:\s*+(?:-|–|to)\s*+[$£€₹]?\s?\d[\d,.]*+\s?[kK]?)?|"
    r"\b\d{2,3}\s?[kK]\s*(?:-|–|to)\s*\d{2,3}\s?[kK]\b|\b(?:USD|GBP|EUR|CAD|AUD|INR)\s?\d[\d,.]*",
    re.I,
)
RED_FLAGS = (
    (
        r"\brock\s?stars?\b|\bninjas?\b|\bgurus?\b|\bwizards?\b|\bsuperstars?\b",
        "Hype titles (rockstar, ninja, guru)",
        "Often signals vague expectations or a culture of overwork.",
    ),
    (
        r"unlimited (?:pto|vacation|paid time off|holiday)",
        "Unlimited PTO",
        "Can mean people take less leave; ask how many days the team actually took last year.",
    ),
    (r"fast[- ]paced", "Fast-paced", "Ask what a normal week looks like and how often priorities change."),
    (
        r"wear(?:ing)? (?:many|multiple|a lot of) hats",
        "Wear many hats",
        "The role may be several jobs in one; ask what is in scope.",
    ),
    (r"like (?:a|one big) family", '"We\'re like a family"', "Can blur work and personal boundaries."),
    (r"work hard,? play hard", "Work hard, play hard", "May mean long hours; ask about typical working hours."),
    (
        r"other duties as (?:assigned|required)",
        "Other duties as assigned",
        "Ask how much of the job is outside the listed duties.",
    ),
    (r"\bhustle\b|\bgrind\b", "Hustle culture", "Ask how the team avoids burnout."),
    (r"high[- ]pressure|thrive(?:s)? under pressure", "High pressure", "Ask about on-call, deadlines and staffing."),
    (
        r"24/7|always[- ]on|available (?:at all times|around the clock)",
        "Always available",
        "Ask about on-call and after-hours expectations.",
    ),
    (r"competitive (?:salary|pay|compensation)", '"Competitive salary" without numbers', "Ask for the range early."),
    (
        r"self[- ]starter|minimal supervision|hit the ground running",
        "Little onboarding",
        "Ask what onboarding and mentoring look like.",
    ),
)


@dataclass
class JobPosting:
    """What a job posting asks for."""

    company: str = ""
    role: str = ""
    required: list[str] = field(default_factory=list)
    preferred: list[str] = field(default_factory=list)
    years_required: int | None = None
    salary: str = ""
    red_flags: list[dict] = field(default_factory=list)
    requirements: list[str] = field(default_factory=list)
    nice_to_haves: list[str] = field(default_factory=list)
    responsibilities: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)

    @property
    def skills(self) -> list[str]:
        """Required then preferred skills."""
        return self.required + [s for s in self.preferred if s not in self.required]


def find_company(text: str) -> str:
    """The hiring company named in a posting, or ''."""
    for pattern in _COMPANY:
        for hit in pattern.finditer(text or ""):
            name = clean(hit.group("c")).strip(" .,:;")
            if name and name.split()[0].lower() not in _NOT_COMPANY and not extract_skills(name):
                return name
    return ""


def find_role(text: str) -> str:
    """The job title in a posting: a "Title:" label, a title-like first line or "hiring a …", or ''."""
    label = _ROLE_LABEL.search(text or "")
    if label:
        return clean(label.group("r"))
    first = next(iter(lines(text)), "")
    if TITLE_WORDS.search(first) and len(first.split()) <= 8 and not first.endswith("."):
        return clean(re.split(r"\s+[|–—-]\s+|\s+at\s+|,", first)[0])
    for hit in _ROLE_PHRASE.finditer(text or ""):
        if TITLE_WORDS.search(hit.group("r")):
            return clean(hit.group("r"))
    return ""


def _context(line: str, current: str) -> tuple[str, bool]:
    """The section a line belongs to and whether the line is itself a heading."""
    bare = strip_bullet(line).rstrip(":").strip()
    if is_bullet(line) or len(bare.split()) > 8:
        return current, False
    for name, head in (
        ("preferred", _PREF_HEAD),
        ("required", _REQ_HEAD),
        ("responsibilities", _RESP_HEAD),
        ("other", _OTHER_HEAD),
    ):
        if head.match(bare):
            return name, True
    return ("other", True) if line.endswith(":") else (current, False)


def _tier(sentence: str, context: str, has_requirements: bool) -> str:
    if _PREF_CUE.search(sentence) and not _REQ_CUE.search(sentence):
        return "preferred"
    if _REQ_CUE.search(sentence) or context in ("required", "responsibilities"):
        return "required"
    if context == "other" and has_requirements:
        return "ignore"  # company blurbs and perks mention words that are not asks
    return "preferred" if context == "preferred" else "required"


def find_years(text: str) -> int | None:
    """The most years of experience the posting asks for ("5+ years" → 5; "3-5 years" → 3), or None."""
    found = []
    for hit in _YEARS.finditer(text or ""):
        value = hit.group(1).lower()
        number = int(value) if value.isdigit() else _NUMBER_WORDS[value]
        if 0 < number <= 30:
            found.append(number)
    return max(found) if found else None


def find_flags(text: str) -> list[dict]:
    """Red-flag phrases found, with why they matter; a missing salary is a flag too."""
    flags = [{"flag": label, "why": why} for pattern, label, why in RED_FLAGS if re.search(pattern, text or "", re.I)]
    if not _SALARY.search(text or ""):
        flags.append({"flag": "No salary range", "why": "Ask for the range before investing in interviews."})
    return flags


def analyse(text: str) -> JobPosting:
    """Everything the engine reads from a posting (its first MAX_INPUT_CHARS characters and MAX_LINES lines;
    a fresh copy each call; results are cached by text)."""
    return copy.deepcopy(_analyse("\n".join((text or "")[:MAX_INPUT_CHARS].splitlines()[:MAX_LINES])))


@lru_cache(maxsize=32)
def _analyse(text: str) -> JobPosting:
    job = JobPosting(
        company=find_company(text), role=find_role(text), years_required=find_years(text), red_flags=find_flags(text)
    )
    salary = _SALARY.search(text or "")
    job.salary = clean(salary.group(0)) if salary else ""
    _classify(text, job)
    return job


def _classify(text: str, job: JobPosting) -> None:
    context, tagged = "other", []
    for line in lines(text):
        context, heading = _context(line, context)
        if not heading:
            tagged.append((line, context))
    has_requirements = any(ctx == "required" for _, ctx in tagged)
    for line, ctx in tagged:
        for part in sentences(line):
            tier = _tier(part, ctx, has_requirements)
            if tier == "ignore":
                continue
            found = extract_skills(part)
            target = job.preferred if tier == "preferred" else job.required
            target.extend(s for s in found if s not in target)
            if ctx == "responsibilities":
                job.responsibilities.append(part)
            elif found or _YEARS.search(part) or (ctx in ("required", "preferred") and is_bullet(line)):
                (job.nice_to_haves if tier == "preferred" else job.requirements).append(part)
    job.preferred = [s for s in job.preferred if s not in job.required]
    for name in ("requirements", "nice_to_haves", "responsibilities"):
        setattr(job, name, getattr(job, name)[:MAX_ITEMS])
