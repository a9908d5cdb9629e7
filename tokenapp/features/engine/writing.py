"""Cover letters templated from the user's resume and the posting, in three tones."""

import re

from . import facts
from .errors import EngineInputError
from .inputs import candidate_name, required, result, resume, section, text
from .jobs import analyse, find_company, find_role
from .matching import MatchResult, as_resume, match
from .resume import ParsedResume
from .textutil import join_natural, truncate

TONES = ("professional", "enthusiastic", "concise")
_WORDING = {
    "professional": (
        "I am writing to apply for the {role} position at {company}.",
        "Thank you for your time and consideration. I would welcome the chance to discuss how I can "
        "contribute to {company}.",
        "Sincerely,",
    ),
    "enthusiastic": (
        "I was thrilled to see the {role} opening at {company} — it is exactly the kind of role I have "
        "been working towards!",
        "I would love to bring this energy to {company} and would be delighted "
        "to talk about what I could build with your team. Thank you so much for considering me!",
        "With enthusiasm,",
    ),
    "concise": (
        "I'm applying for the {role} role at {company}.",
        "I'd welcome a short call. Thank you.",
        "Best regards,",
    ),
}
_MISSION = (
    (
        re.compile(r"\b(?:our mission is|we(?:'re| are) on a mission|our goal is|our purpose is)\s+(to [^.!?]+)", re.I),
        "your mission {0}",
    ),
    (re.compile(r"\bwe believe (?:that )?([^.!?]+)", re.I), "your belief that {0}"),
    (re.compile(r"\bwe(?:'re| are) building ([^.!?]+)", re.I), "what you are building: {0}"),
    (re.compile(r"\bwe (help|build|make) ([^.!?]+)", re.I), "how you {0} {1}"),
)


def _mission(job_description: str) -> str:
    """The company's stated mission turned to the second person ("your mission to …"), or ''."""
    for pattern, template in _MISSION:
        hit = pattern.search(job_description or "")
        if hit:
            return truncate(template.format(*(g.strip(" ,;:") for g in hit.groups())), 160)
    return ""


def _opening(tone: str, role: str, company: str, cv: ParsedResume | None, skills: list[str]) -> str:
    first = re.sub(r"\s+", " ", _WORDING[tone][0].format(role=role, company=company))
    title, years = facts.headline(cv, ""), facts.years_phrase(cv)
    if title and tone != "concise":
        extra = f" and a track record with {join_natural(skills[:3])}" if skills else ""
        who = f"{facts.article(title)} {title}{' with ' + years if years else ''}{extra}"
        return f"{first} As {who}, I believe I can make an immediate contribution."
    return f"{first} I bring hands-on experience with {join_natural(skills[:3])}." if skills else first


def _fit(tone: str, matched: list[str], missing: list[str], years_req: int | None, years: float | None) -> str:
    if not matched:
        return ""
    body = f"Your posting asks for {join_natural(matched[:5])} — all of which I have used in my work."
    if years_req and years and years >= years_req:
        body += f" I have {int(years)} years of experience against the {years_req}+ you are looking for."
    if missing and len(missing) <= 2 and tone != "concise":
        body += (
            f" I have not yet used {join_natural(missing, 'or')} in production, and I would make "
            f"getting up to speed on {'it' if len(missing) == 1 else 'them'} an early priority."
        )
    return body


def _asks(job_description: str) -> str:
    """Without a resume: name what the posting asks for and prompt the user to back it up."""
    asks = analyse(job_description).required[:4]
    if not asks:
        return ""
    return (
        f"Your posting highlights {join_natural(asks)}. [Add one sentence on where you have used each of these "
        "— parse your resume to have this filled in for you.]"
    )


def _evidence(cv: ParsedResume | None, matched: list[str], count: int) -> str:
    picks = facts.strongest(cv, matched, count)
    return " ".join(f"{facts.where(job)}, I {facts.clause(bullet)}." for job, bullet in picks)


def _why(company: str, job_description: str, skills: list[str]) -> str:
    mission = _mission(job_description)
    if mission:
        return f"What draws me to {company} is {mission}. That is work I want to be part of."
    duties = analyse(job_description).responsibilities
    if duties:
        duty = facts.clause(duties[0]).rstrip(".")
        return f"I am especially interested in the chance to {duty}, as your posting describes."
    return f"I would like to bring my {join_natural(skills[:2])} experience to {company}." if skills and company else ""


def cover_letter(
    job_description: str,
    resume: "ParsedResume | str | None",
    tone: str = "professional",
    company: str | None = None,
    role: str | None = None,
    name: str | None = None,
) -> str:
    """A 3–5 paragraph cover letter from the posting and the resume; tone changes wording and length."""
    if tone not in TONES:
        raise ValueError(f"tone must be one of {', '.join(TONES)}")
    cv = as_resume(resume) if resume else None
    company = company or find_company(job_description) or "your company"
    role = role or find_role(job_description)
    fit = match(cv, job_description) if cv else None
    body = _paragraphs(tone, job_description, cv, fit, company, role)
    greeting = f"Dear {company} hiring team," if company != "your company" else "Dear Hiring Manager,"
    signer = name or (cv.name if cv else "")
    return "\n\n".join([greeting, *body, _WORDING[tone][2] + (f"\n{signer}" if signer else "")])


def _paragraphs(
    tone: str, jd: str, cv: ParsedResume | None, fit: MatchResult | None, company: str, role: str
) -> list[str]:
    matched = fit.matched if fit else []
    skills = facts.top_skills(cv, matched, 4)
    opening = _opening(tone, role, company, cv, skills)
    fitness = _fit(tone, matched, fit.required_missing, fit.years_required, facts.years(cv)) if fit else _asks(jd)
    evidence = _evidence(cv, matched, 1 if tone == "concise" else 2)
    why, closing = _why(company, jd, skills), _WORDING[tone][1].format(company=company)
    if tone == "concise":
        parts = [f"{opening} {fitness}".strip(), evidence, closing]
    elif tone == "professional":
        parts = [opening, fitness, evidence, f"{why} {closing}".strip()]
    else:
        parts = [opening, fitness, evidence, why, closing]
    return [p for p in parts if p]


def cover_letter_feature(inputs: dict) -> dict:
    """Cover letter. Keys: job_description (required); resume, tone (professional|enthusiastic|concise), company,
    role, name."""
    jd = required(inputs, "job_description", "The job description")
    tone = text(inputs, "tone", "professional").lower()
    if tone not in TONES:
        raise EngineInputError("tone", f"Tone must be one of: {', '.join(TONES)}.")
    cv = resume(inputs)
    company, role = text(inputs, "company") or find_company(jd), text(inputs, "role") or find_role(jd)
    letter = cover_letter(jd, cv, tone, company or None, role or None, candidate_name(inputs, cv) or None)
    tips = [] if cv else ["Add your parsed resume to include your own achievements and matched skills."]
    if not company:
        tips.append("We couldn't find the company name in the posting: add it for a more personal letter.")
    return result(
        f"Cover letter{' for ' + role if role else ''}{' at ' + company if company else ''}",
        [section("Letter", letter), section("Before you send", tips)],
        company=company,
        role=role,
        tone=tone,
        paragraphs=letter.count("\n\n") - 1,
        words=len(letter.split()),
    )
