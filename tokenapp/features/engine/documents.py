"""Resume review and tailoring: bullet-level feedback and rewrites with strong verbs and the posting's keywords."""

import re

from . import facts
from .inputs import required, result, resume, section, text
from .matching import match
from .resume import ParsedResume
from .roles import find_family
from .skills import mentions, mentions_skill
from .textutil import WEAK_OPENERS, has_metric, join_natural, sentence, upper_first, words

_ING = {
    "building": "Built",
    "leading": "Led",
    "running": "Ran",
    "writing": "Wrote",
    "making": "Made",
    "managing": "Managed",
    "developing": "Developed",
    "creating": "Created",
    "designing": "Designed",
    "working": "Worked",
    "helping": "Supported",
    "supporting": "Supported",
    "handling": "Managed",
    "maintaining": "Maintained",
    "coordinating": "Coordinated",
    "analyzing": "Analyzed",
    "analysing": "Analysed",
    "teaching": "Taught",
    "selling": "Sold",
    "implementing": "Implemented",
    "planning": "Planned",
}
BUZZWORDS = (
    "hard-working",
    "hardworking",
    "team player",
    "results-driven",
    "results-oriented",
    "detail-oriented",
    "go-getter",
    "self-motivated",
    "passionate",
    "synergy",
    "think outside the box",
    "dynamic",
    "motivated",
)


def _strong_start(bullet: str) -> str:
    low = bullet.lower()
    for weak, strong in WEAK_OPENERS.items():
        if low.startswith(weak + " "):
            return f"{strong} {bullet[len(weak) + 1 :]}"
    first, _, rest = bullet.partition(" ")
    return f"{_ING[first.lower()]} {rest}" if first.lower() in _ING else bullet


def rewrite_bullet(bullet: str, preferred: list[str] | None = None) -> str:
    """A bullet with a strong opening verb and skill aliases spelled as the posting spells them."""
    wanted = {s.lower() for s in preferred or []}
    text = bullet.strip().rstrip(".;")
    pieces, done = [], 0
    for start, end, name in mentions(text):
        if (not wanted or name.lower() in wanted) and text[start:end] != name:
            pieces += [text[done:start], name]
            done = end
    out = "".join(pieces) + text[done:]
    out = re.sub(r"^(?:I|My)\s+", "", _strong_start(out))
    return sentence(upper_first(out))


def bullet_issues(bullet: str) -> list[str]:
    """What weakens a bullet: weak opener, no number, too long, first person."""
    issues = []
    low = bullet.lower()
    if any(low.startswith(w + " ") for w in WEAK_OPENERS) or low.split(" ", 1)[0] in _ING:
        issues.append("starts weakly: open with a past-tense action verb")
    if not has_metric(bullet):
        issues.append("no number: add how many, how much or how fast")
    if len(bullet.split()) > 35:
        issues.append("over 35 words: split or trim it")
    if re.match(r"(?:I|My|We)\b", bullet):
        issues.append("drop the pronoun: start with the verb")
    return issues


def _review_contact(cv: ParsedResume) -> list[str]:
    missing = [
        label for label, value in (("email", cv.email), ("phone number", cv.phone), ("name", cv.name)) if not value
    ]
    notes = [f"Add your {join_natural(missing)} at the top."] if missing else ["Name, email and phone found."]
    if not any("linkedin" in link.lower() for link in cv.links):
        notes.append("Add your LinkedIn URL: recruiters check it.")
    return notes


def _review_summary(cv: ParsedResume) -> list[str]:
    if not cv.summary:
        return ["Add a 2–3 line summary: your title, years of experience, strongest skills and one result."]
    notes = []
    count = len(cv.summary.split())
    if count > 80:
        notes.append(f"At {count} words the summary is long: keep it under 60.")
    buzz = [b for b in BUZZWORDS if b in cv.summary.lower()]
    if buzz:
        notes.append(f"Replace {join_natural([repr(b) for b in buzz])} with evidence: a number or a named result.")
    return notes or ["Clear and a good length."]


def _review_experience(cv: ParsedResume) -> tuple[list[str], int]:
    bullets = cv.bullets()
    if not bullets:
        return ["Add an Experience section with 3–5 bullets per role."], 25
    notes, penalty = [], 0
    for _, bullet in bullets:
        issues = bullet_issues(bullet)
        if issues:
            better = rewrite_bullet(bullet)
            tip = f' Try: "{better}"' if better != sentence(bullet) else ""
            notes.append(f'"{bullet}" — {"; ".join(issues)}.{tip}')
            penalty += 2 * len(issues)
    share = sum(has_metric(b) for _, b in bullets) * 100 // len(bullets)
    notes.insert(
        0, f"{len(bullets)} bullets across {len(cv.experience)} roles; {share}% include a number (aim for over half)."
    )
    undated = [job.title or job.company for job in cv.experience if not job.start]
    if undated:
        notes.append(f"Add dates to: {join_natural(undated)}.")
    return notes, min(penalty, 30)


def _review_skills(cv: ParsedResume, target: str, jd: str) -> list[str]:
    notes = (
        [f"{len(cv.skills)} skills found: {join_natural(cv.skills[:10])}."] if cv.skills else ["Add a Skills section."]
    )
    if len(cv.skills) > 30:
        notes.append("Over 30 skills reads as a keyword dump: keep the 15–20 most relevant.")
    if jd:
        wanted = match(cv, jd).required_missing
    else:
        wanted = [s for s in find_family(target).skills if s not in cv.skills] if target else []
    if wanted:
        notes.append(
            f"{'The posting' if jd else target} asks for {join_natural(wanted[:6])}: add any you genuinely have."
        )
    return notes


def resume_review(inputs: dict) -> dict:
    """Section-by-section review. Keys: resume (required); target_role, job_description."""
    cv = resume(inputs, need=True)
    target, jd = text(inputs, "target_role"), text(inputs, "job_description")
    experience, penalty = _review_experience(cv)
    contact, summary = _review_contact(cv), _review_summary(cv)
    education = (
        [f"{len(cv.education)} entr{'y' if len(cv.education) == 1 else 'ies'} found."]
        if cv.education
        else ["Add an Education section (degree, institution, year), or certifications if more relevant."]
    )
    penalty += 10 * (not cv.summary) + 10 * (not cv.education) + 5 * (len(contact) > 1) + 10 * (not cv.skills)
    score = max(0, 100 - penalty)
    fixes = [
        n
        for n in (
            contact[0] if not cv.email or not cv.phone else "",
            summary[0] if not cv.summary else "",
            experience[1] if len(experience) > 1 else "",
        )
        if n
    ][:3]
    return result(
        f"Resume review: {score}/100",
        [
            section("Top fixes", fixes),
            section("Contact details", contact),
            section("Summary", summary),
            section("Experience", experience),
            section("Skills", _review_skills(cv, target, jd)),
            section("Education", education),
        ],
        score=score,
        words=len(words(cv.raw_text)),
    )


def _relevance(bullet: str, wanted: list[str]) -> int:
    return sum(3 for s in wanted if mentions_skill(bullet, s)) + facts.bullet_strength(bullet, [])


def _tailored_summary(cv: ParsedResume, matched: list[str], role: str) -> str:
    years = facts.years_phrase(cv)
    title = facts.headline(cv, role or "Professional")
    skills = join_natural(matched[:4] or cv.skills[:4])
    best = facts.strongest(cv, matched, 1)
    proof = f" Recently {facts.clause(best[0][1])}." if best else ""
    focus = f", applying for {role}" if role and role.lower() != title.lower() else ""
    return f"{title} with {years or 'hands-on experience'}{' in ' + skills if skills else ''}{focus}.{proof}"


def resume_tailoring(inputs: dict) -> dict:
    """Bullet rewrites for one posting. Keys: resume, job_description (required)."""
    cv = resume(inputs, need=True)
    jd = required(inputs, "job_description", "The job description")
    fit = match(cv, jd)
    wanted = fit.required_matched + fit.preferred_matched
    sections, rewrites = [section("Tailored summary", _tailored_summary(cv, fit.matched, fit.role))], []
    for job in cv.experience:
        ordered = sorted(job.bullets, key=lambda b: -_relevance(b, wanted))  # stable: ties keep resume order
        new = [rewrite_bullet(b, wanted) for b in ordered]
        rewrites += [
            {"job": job.title or job.company, "before": b, "after": rewrite_bullet(b, wanted)}
            for b in job.bullets
            if rewrite_bullet(b, wanted) != sentence(b)
        ]
        if new:
            heading = " — ".join(x for x in (job.title, job.company) if x) or "Experience"
            sections.append(section(heading, new))
    unused = [s for s in wanted if not any(mentions_skill(b, s) for _, b in cv.bullets())]
    notes = [f"You list {s} but no bullet shows it: add where you used it." for s in unused[:5]]
    if fit.missing:
        notes.append(f"The posting also wants {join_natural(fit.missing[:6])}. Only add these if they are true.")
    notes += [f'Add a number to: "{b}"' for _, b in cv.bullets() if not has_metric(b)][:3]
    skills_order = fit.matched + [s for s in cv.skills if s not in fit.matched]
    sections += [section("Keywords and numbers", notes), section("Skills section order", ", ".join(skills_order))]
    return result(
        f"Resume tailored{' for ' + fit.role if fit.role else ''}",
        sections,
        rewrites=rewrites,
        matched=fit.matched,
        missing=fit.missing,
        score=fit.score,
    )
