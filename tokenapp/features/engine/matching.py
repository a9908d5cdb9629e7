"""Scoring a resume against a job posting: weighted skills, a years-of-experience check and advice."""

from dataclasses import asdict, dataclass, field
from datetime import date

from .jobs import JobPosting, analyse
from .resume import ParsedResume, parse_text
from .skills import merge
from .textutil import join_natural, keywords

REQUIRED_WEIGHT = 3
PREFERRED_WEIGHT = 1
YEARS_SHARE = 0.2  # share of the score that the years check decides when the posting names a number


@dataclass
class MatchResult:
    """How well a resume fits a posting, and what to do about it."""

    score: int
    matched: list[str]
    missing: list[str]
    extra: list[str]
    summary: str
    recommendations: list[str]
    required_matched: list[str] = field(default_factory=list)
    required_missing: list[str] = field(default_factory=list)
    preferred_matched: list[str] = field(default_factory=list)
    preferred_missing: list[str] = field(default_factory=list)
    years_required: int | None = None
    years_found: float | None = None
    company: str = ""
    role: str = ""

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)


def as_resume(resume: "ParsedResume | str | list[str] | dict | None") -> ParsedResume:
    """A ParsedResume from a parsed resume, its dict, resume text or a plain skills list."""
    if isinstance(resume, ParsedResume):
        return resume
    if isinstance(resume, dict):
        return ParsedResume.from_dict(resume)
    if isinstance(resume, (list, tuple)):
        return ParsedResume(skills=merge(list(resume)), raw_text=", ".join(resume))
    return parse_text(resume or "")


def match(
    resume: "ParsedResume | str | list[str] | dict", job_description: str, today: date | None = None
) -> MatchResult:
    """Score 0–100 of a resume (or skills list) against a job description, with the reasoning."""
    cv = as_resume(resume)
    job = analyse(job_description)
    have = {s.lower() for s in cv.skills}
    req_hit = [s for s in job.required if s.lower() in have]
    pref_hit = [s for s in job.preferred if s.lower() in have]
    years = None if isinstance(resume, (list, tuple)) else cv.years_of_experience(today)
    result = MatchResult(
        score=0,
        matched=req_hit + pref_hit,
        missing=[s for s in job.skills if s.lower() not in have],
        extra=[s for s in cv.skills if s.lower() not in {j.lower() for j in job.skills}],
        summary="",
        recommendations=[],
        required_matched=req_hit,
        required_missing=[s for s in job.required if s not in req_hit],
        preferred_matched=pref_hit,
        preferred_missing=[s for s in job.preferred if s not in pref_hit],
        years_required=job.years_required,
        years_found=years,
        company=job.company,
        role=job.role,
    )
    result.score = _score(result, cv, job_description)
    result.summary = _summary(result, job)
    result.recommendations = _advice(result, cv)
    return result


def _skill_share(result: MatchResult, cv: ParsedResume, job_description: str) -> float:
    total = REQUIRED_WEIGHT * (len(result.required_matched) + len(result.required_missing)) + PREFERRED_WEIGHT * (
        len(result.preferred_matched) + len(result.preferred_missing)
    )
    if total:
        got = REQUIRED_WEIGHT * len(result.required_matched) + PREFERRED_WEIGHT * len(result.preferred_matched)
        return got / total
    # No known skills in the posting: fall back to how many of its key words the resume uses.
    words = keywords(job_description, 20)
    text = (cv.raw_text or " ".join(cv.skills)).lower()
    return sum(1 for w in words if w in text) / len(words) if words else 0.0


def _score(result: MatchResult, cv: ParsedResume, job_description: str) -> int:
    share = _skill_share(result, cv, job_description)
    if result.years_required and result.years_found is not None:
        share = (1 - YEARS_SHARE) * share + YEARS_SHARE * min(result.years_found / result.years_required, 1.0)
    return max(0, min(100, round(share * 100)))


def verdict(score: int) -> str:
    """A word for a score band."""
    return "Strong match" if score >= 75 else "Partial match" if score >= 50 else "Weak match"


def _summary(r: MatchResult, job: JobPosting) -> str:
    parts = [f"{verdict(r.score)}: {r.score}/100."]
    req_total = len(r.required_matched) + len(r.required_missing)
    pref_total = len(r.preferred_matched) + len(r.preferred_missing)
    if req_total:
        parts.append(
            f"You show {len(r.required_matched)} of {req_total} required skills"
            + (f" ({join_natural(r.required_matched[:8])})" if r.required_matched else "")
            + "."
        )
    if pref_total:
        parts.append(f"You show {len(r.preferred_matched)} of {pref_total} nice-to-haves.")
    if not req_total and not pref_total:
        parts.append("The posting names no skills we recognise, so the score compares its key words with your resume.")
    if r.years_required:
        parts.append(_years_sentence(r))
    parts.append(
        f"Skills count {REQUIRED_WEIGHT}× when required and {PREFERRED_WEIGHT}× when nice-to-have"
        + (f"; the years check is {round(YEARS_SHARE * 100)}% of the score." if r.years_required else ".")
    )
    return " ".join(parts)


def _years_sentence(r: MatchResult) -> str:
    assert r.years_required is not None  # called only when the posting names years
    if r.years_found is None:
        return f"The posting asks for {r.years_required}+ years; a skills list has no dates, so that was not checked."
    status = "which meets it" if r.years_found >= r.years_required else "which is short of it"
    return (
        f"The posting asks for {r.years_required}+ years; "
        f"your resume's dated roles cover about {r.years_found:g}, {status}."
    )


def _advice(r: MatchResult, cv: ParsedResume) -> list[str]:
    tips = [
        f"{s} is required and not on your resume. If you have used it, add a bullet showing where; "
        f"if not, say how you would get up to speed."
        for s in r.required_missing[:5]
    ]
    if r.preferred_missing:
        tips.append(f"Nice-to-haves you could mention if true: {join_natural(r.preferred_missing[:5])}.")
    if r.years_required and r.years_found is not None and r.years_found < r.years_required:
        tips.append(
            f"You are about {r.years_required - r.years_found:g} years short of the {r.years_required}+ asked: "
            "lead with the scope and results of your work, and count relevant projects or earlier roles."
        )
    if r.matched:
        tips.append(
            f"Put {join_natural(r.matched[:3])} near the top of your resume and in your cover letter: "
            "they are what this posting asks for."
        )
    if not cv.skills:
        tips.append("Add a Skills section: we found no recognisable skills in your resume.")
    if r.score >= 75:
        tips.append(
            "This is a strong fit: apply, and tailor your summary to the role title"
            + (f" ({r.role})." if r.role else ".")
        )
    return tips
