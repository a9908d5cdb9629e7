"""Applicant-tracking-system readiness: contact details, standard sections, layout hazards and keyword coverage."""

import re

from .inputs import result, resume, section, text
from .matching import match
from .resume import ParsedResume
from .sections import split_sections
from .textutil import join_natural, words

_SYMBOLS = re.compile(r"[^\x00-\x7F\u00C0-\u024F\u2013\u2014\u2018\u2019\u201C\u201D\u2022\u00B7\u2026€£]")


def _checks(cv: ParsedResume) -> list[tuple[str, bool, int, str]]:
    """(check, passed, penalty if failed, advice) for everything ATS parsers trip on."""
    _, found = split_sections(cv.raw_text)
    info = cv.file_info or {}
    count = len(words(cv.raw_text))
    pipes = sum(1 for line in cv.raw_text.splitlines() if line.count("|") >= 2)
    return [
        ("Email address", bool(cv.email), 15, "Put your email in the body text, not only in a header or image."),
        ("Phone number", bool(cv.phone), 10, "Add a phone number near your name."),
        ("Name at the top", bool(cv.name), 5, "Start the resume with your full name on its own line."),
        (
            "Experience heading",
            "experience" in found,
            15,
            "Use a plain heading such as 'Experience' or 'Work History'.",
        ),
        ("Education heading", "education" in found, 10, "Add an 'Education' heading, even for one entry."),
        ("Skills heading", "skills" in found, 10, "Add a 'Skills' section listing tools and methods by name."),
        (
            "Dates on every role",
            all(job.start for job in cv.experience) and bool(cv.experience),
            5,
            "Give each role a date range like 'Jan 2020 – Present'.",
        ),
        ("No tables", not info.get("tables"), 10, "Move content out of tables: many ATS read cells out of order."),
        (
            "No column layout",
            pipes <= 3,
            5,
            "Lines split into columns with '|' may be read out of order; use one column.",
        ),
        (
            "No icons or special symbols",
            len(_SYMBOLS.findall(cv.raw_text)) <= 3,
            5,
            "Replace icons and symbols with plain words (e.g. 'Email:' instead of an envelope icon).",
        ),
        (
            "Length",
            250 <= count <= 1200,
            5,
            f"At {count} words it is {'short' if count < 250 else 'long'}: aim for 400–800 words (one or two pages).",
        ),
        ("Readable file type", info.get("type", "txt") in ("pdf", "docx", "txt"), 10, "Upload a PDF or DOCX."),
    ]


def ats_check(inputs: dict) -> dict:
    """ATS compatibility. Keys: resume (required); job_description (adds keyword coverage)."""
    cv = resume(inputs, need=True)
    jd = text(inputs, "job_description")
    checks = _checks(cv)
    penalty = sum(p for _, ok, p, _ in checks if not ok)
    coverage = []
    data: dict = {}
    if jd:
        fit = match(cv, jd)
        total = len(fit.required_matched) + len(fit.required_missing)
        share = round(100 * len(fit.required_matched) / total) if total else 100
        penalty += 15 if share < 60 else 5 if share < 80 else 0
        coverage = [f"{share}% of the posting's required keywords appear ({len(fit.required_matched)} of {total})."]
        if fit.required_missing:
            coverage.append(
                f"Missing: {join_natural(fit.required_missing)}. Use the posting's exact wording where true."
            )
        data = {"keyword_coverage": share, "missing_keywords": fit.required_missing}
    score = max(0, 100 - penalty)
    issues = [f"{name}: {advice}" for name, ok, _, advice in checks if not ok]
    passed = [name for name, ok, _, _ in checks if ok]
    return result(
        f"ATS check: {score}/100",
        [
            section("Issues to fix", issues or ["No layout or structure problems found."]),
            section("Keyword coverage", coverage),
            section("Passed checks", passed),
        ],
        score=score,
        issues=issues,
        passed=passed,
        **data,
    )
