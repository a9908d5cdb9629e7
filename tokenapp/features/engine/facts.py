"""Facts pulled from a parsed resume for the writing generators: strongest bullets, headline, top skills."""

import re

from .resume import Experience, ParsedResume
from .skills import mentions_skill
from .textutil import STRONG_VERBS, WEAK_OPENERS, has_metric, lower_first

_VERB_START = re.compile(rf"^(?:{'|'.join(STRONG_VERBS)})\b", re.I)


def bullet_strength(bullet: str, focus: list[str]) -> int:
    """Higher for bullets with numbers, strong verbs and the skills in focus."""
    score = 3 if has_metric(bullet) else 0
    score += 2 if _VERB_START.match(bullet) else 0
    score += sum(2 for skill in focus if mentions_skill(bullet, skill))
    words = len(bullet.split())
    return score + (1 if 8 <= words <= 30 else 0)


def strongest(cv: ParsedResume | None, focus: list[str] | None = None, count: int = 2) -> list[tuple[Experience, str]]:
    """The `count` best bullets, at most one per job first, in a stable order."""
    if not cv:
        return []
    ranked = sorted(enumerate(cv.bullets()), key=lambda item: (-bullet_strength(item[1][1], focus or []), item[0]))
    picked: list[tuple[Experience, str]] = []
    for _, (job, bullet) in ranked:
        if len(picked) < count and all(job is not j for j, _ in picked):
            picked.append((job, bullet))
    for _, (job, bullet) in ranked:  # fewer jobs than wanted: allow a second bullet from one job
        if len(picked) < count and (job, bullet) not in picked:
            picked.append((job, bullet))
    return picked


def clause(bullet: str) -> str:
    """A bullet as a first-person clause: "Led X." → "led X"; weak openers become strong verbs."""
    text = bullet.strip().rstrip(".;")
    low = text.lower()
    for weak, strong in WEAK_OPENERS.items():
        if low.startswith(weak + " "):
            text = f"{strong} {text[len(weak) + 1 :]}"
            break
    return lower_first(text)


def where(job: Experience) -> str:
    """ "At Acme Corp" / "As Senior Engineer" / "In a previous role"."""
    if job.company:
        return f"At {job.company}"
    return f"As {job.title}" if job.title else "In a previous role"


def headline(cv: ParsedResume | None, fallback: str = "professional") -> str:
    """The most recent job title, else the fallback."""
    return (cv.current_title if cv else "") or fallback


def years(cv: ParsedResume | None) -> int:
    """Whole years of experience: the resume's own claim when it makes one, else its dated roles."""
    return int(cv.stated_years() or cv.years_of_experience()) if cv else 0


def years_phrase(cv: ParsedResume | None) -> str:
    """ "7 years of experience", or '' when unknown."""
    count = years(cv)
    return f"{count} year{'s' if count != 1 else ''} of experience" if count >= 1 else ""


def top_skills(cv: ParsedResume | None, focus: list[str] | None = None, count: int = 4) -> list[str]:
    """Resume skills, those in focus first (in focus order)."""
    have = cv.skills if cv else []
    lower = {s.lower(): s for s in have}
    first = [lower[s.lower()] for s in (focus or []) if s.lower() in lower]
    return (first + [s for s in have if s not in first])[:count]


def article(word: str) -> str:
    """'a' or 'an' for the word."""
    return "an" if word[:1].lower() in "aeiou" else "a"
