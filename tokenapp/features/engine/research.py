"""Posting-based reports: detailed job match, job description analysis and a company research brief."""

import re

from .inputs import required, result, resume, section, text
from .jobs import analyse
from .matching import match
from .roles import detect_level, find_family
from .skills import category
from .textutil import join_natural, sentences, truncate

VALUES = (
    "ownership",
    "transparency",
    "integrity",
    "diversity",
    "inclusion",
    "innovation",
    "customer obsession",
    "curiosity",
    "collaboration",
    "respect",
    "trust",
    "accountability",
    "impact",
    "quality",
    "simplicity",
    "sustainability",
    "excellence",
    "empathy",
    "humility",
    "autonomy",
    "craft",
    "kindness",
    "bias for action",
    "learning",
    "equity",
    "safety",
    "teamwork",
    "courage",
)
_MISSION = re.compile(r"\b(?:mission|vision|we believe|purpose|committed to|we exist|our goal)\b", re.I)
_PRODUCT = re.compile(
    r"\b(?:platform|product|app|software|service|tool|solution|we build|we make|we offer|"
    r"our customers|used by|helps?)\b",
    re.I,
)
# A number starts where a run of digits and separators starts; spaces are possessive (they were quadratic).
_SCALE = re.compile(
    r"(?<![\w,.])\d[\d,.]*+\+?\s*+(?:k|m|million|billion)?\s*+(?:employees|people|customers|users|clients|countries|"
    r"offices|patients|students|members)\b|\bseries [a-f]\b|\bfounded in \d{4}\b|\bpublicly traded\b|"
    r"\bfortune \d+\b|\b(?:ipo|nasdaq|nyse)\b",
    re.I,
)


def job_match_detailed(inputs: dict) -> dict:
    """Detailed match. Keys: resume, job_description (required)."""
    cv = resume(inputs, need=True)
    jd = required(inputs, "job_description", "The job description")
    fit = match(cv, jd)
    years = (
        [f"Asked: {fit.years_required}+ years. Found on your resume: about {fit.years_found:g} years."]
        if fit.years_required
        else ["The posting names no minimum years of experience."]
    )
    return result(
        f"Job match: {fit.score}/100",
        [
            section("Summary", fit.summary),
            section("Required skills you have", fit.required_matched),
            section("Required skills missing", fit.required_missing),
            section("Nice-to-haves you have", fit.preferred_matched),
            section("Nice-to-haves missing", fit.preferred_missing),
            section("Experience", years),
            section("Other strengths on your resume", fit.extra[:10]),
            section("What to do next", fit.recommendations),
        ],
        **fit.to_dict(),
    )


def _questions_for_flags(flags: list[dict]) -> list[str]:
    asks = {
        "No salary range": "What is the salary range for this role?",
        "Unlimited PTO": "How many days off did the team take on average last year?",
        "Fast-paced": "What does a typical week look like, and how often do priorities change?",
        "Wear many hats": "Which responsibilities take most of the time in the first six months?",
        "Little onboarding": "What does onboarding look like in the first 30 days?",
    }
    return [asks[f["flag"]] for f in flags if f["flag"] in asks]


def job_description_analysis(inputs: dict) -> dict:
    """Job description analysis. Keys: job_description (required)."""
    jd = required(inputs, "job_description", "The job description")
    job = analyse(jd)
    family = find_family(job.role)
    facts = [
        f"Role: {job.role or 'not stated clearly'}",
        f"Company: {job.company or 'not named'}",
        f"Seniority: {detect_level(job.role, family) or 'not stated'}",
        f"Experience asked: {str(job.years_required) + '+ years' if job.years_required else 'not stated'}",
        f"Salary: {job.salary or 'not stated'}",
    ]
    must = ([f"Skills: {join_natural(job.required)}"] if job.required else []) + job.requirements
    nice = ([f"Skills: {join_natural(job.preferred)}"] if job.preferred else []) + job.nice_to_haves
    flags = [f"{f['flag']}: {f['why']}" for f in job.red_flags]
    return result(
        f"Job analysis: {job.role or 'posting'}",
        [
            section("At a glance", facts),
            section("Must-haves", must or ["No explicit requirements found."]),
            section("Nice-to-haves", nice),
            section("What you'd do", job.responsibilities),
            section("Red flags", flags or ["None of the common warning phrases found."]),
            section("Questions to ask", _questions_for_flags(job.red_flags)),
        ],
        **job.to_dict(),
    )


def _pick(items: list[str], pattern: re.Pattern[str], limit: int) -> list[str]:
    return [truncate(s, 220) for s in items if pattern.search(s)][:limit]


def company_research(inputs: dict) -> dict:
    """Company brief. Keys: company (required); job_description, notes (your own research notes)."""
    company = required(inputs, "company", "The company")
    jd, notes = text(inputs, "job_description"), text(inputs, "notes")
    both = sentences(f"{jd}\n{notes}")
    low = f"{jd}\n{notes}".lower()
    mission, products = _pick(both, _MISSION, 3), _pick(both, _PRODUCT, 4)
    values = [v for v in VALUES if re.search(rf"\b{re.escape(v)}\b", low)]
    scale = list(dict.fromkeys(m.group(0) for m in _SCALE.finditer(f"{jd}\n{notes}")))
    stack = [s for s in analyse(jd).skills if category(s) != "soft"]
    role = analyse(jd).role if jd else ""
    questions = [f"What is the biggest challenge for the {role or 'team'} in the next six months?"]
    questions += [f"You mention {v} — how does that show up in day-to-day decisions?" for v in values[:2]]
    if products:
        questions.append("Which customers or users matter most for the product right now, and how is success measured?")
    if stack:
        questions.append(f"How is {stack[0]} used today, and what would you change about the current setup?")
    verify = [
        label
        for label, found in (
            ("company size and growth", scale),
            ("mission", mission),
            ("products and customers", products),
        )
        if not found
    ]
    todo = (
        [
            f"Not in the posting or your notes: {join_natural(verify)}. "
            "Check the company website, LinkedIn and recent news."
        ]
        if verify
        else []
    )
    todo.append("This brief uses only the posting and your notes; it does not browse the web.")
    return result(
        f"Company brief: {company}",
        [
            section("Mission and purpose", mission),
            section("Products and customers", products),
            section("Values they emphasise", values),
            section("Scale and stage", scale),
            section("Tools and tech", stack),
            section("From your notes", [truncate(s, 220) for s in sentences(notes)][:6]),
            section("Questions to ask", questions),
            section("Still to check", todo),
        ],
        company=company,
        values=values,
        tech=stack,
        scale=scale,
    )
