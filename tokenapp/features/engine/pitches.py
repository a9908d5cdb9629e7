"""LinkedIn About sections and elevator pitches built from the user's resume."""

from . import facts
from .inputs import candidate_name, result, resume, section, text
from .resume import ParsedResume
from .skills import extract_skills
from .textutil import join_natural, sentences, truncate

LINKEDIN_LIMIT = 2600  # LinkedIn's About section limit in characters
WORDS_PER_SECOND = 2.5  # a relaxed speaking pace of 150 words a minute
_AUDIENCES = {
    "recruiter": "I'm looking for {target} roles — could we talk about what you're hiring for?",
    "hiring manager": "I'd love to hear about the biggest challenge your team is working on right now.",
    "networking": "I'd love to hear how you got into your field and what you're working on.",
    "career fair": "What kind of people is your team hiring this year?",
    "investor": "I'd value twenty minutes to show you what I'm building.",
}


def _intro(cv: ParsedResume, target: str) -> str:
    title, years = facts.headline(cv, target or "professional"), facts.years_phrase(cv)
    skills = facts.top_skills(cv, extract_skills(target), 3)
    line = f"{title} with {years}" if years else f"{title}"
    return f"{line}{' in ' + join_natural(skills) if skills else ''}."


def _career_story(cv: ParsedResume) -> str:
    jobs = cv.experience
    picks = sorted(facts.strongest(cv, [], 2), key=lambda pick: next(i for i, j in enumerate(jobs) if j is pick[0]))
    out = []
    for index, (job, bullet) in enumerate(picks):
        lead = "Most recently" if index == 0 else "Before that"
        place = f"at {job.company}" if job.company else (f"as {job.title}" if job.title else "")
        out.append(f"{lead}{' ' + place if place else ''}, I {facts.clause(bullet)}.")
    return " ".join(out)


def linkedin_summary(inputs: dict) -> dict:
    """LinkedIn About section. Keys: resume (required: parsed dict or text); target_role, open_to (free text)."""
    cv = resume(inputs, need=True)
    target, open_to = text(inputs, "target_role"), text(inputs, "open_to")
    own = " ".join(sentences(cv.summary)[:3])  # the user's own words beat our template when they exist
    paragraphs = [own or _intro(cv, target), _career_story(cv)]
    if cv.skills:
        paragraphs.append("Core skills: " + " · ".join(cv.skills[:8]))
    if target or open_to:
        paragraphs.append(
            f"I'm open to {open_to or target + ' opportunities'} — feel free to connect or send me a message."
        )
    else:
        topics = join_natural(cv.skills[:2]) or "interesting problems"
        paragraphs.append(f"Always happy to connect with people working on {topics}.")
    about = truncate("\n\n".join(p for p in paragraphs if p), LINKEDIN_LIMIT)
    headline = " | ".join(x for x in [facts.headline(cv, target), " · ".join(cv.skills[:3])] if x)
    return result(
        "LinkedIn About section",
        [section("About", about), section("Suggested headline", headline)],
        characters=len(about),
        limit=LINKEDIN_LIMIT,
        headline=headline,
    )


def elevator_pitch(inputs: dict) -> dict:
    """30-second pitch. Keys: resume (required); audience (recruiter|hiring manager|networking|career fair|investor),
    target_role, name."""
    cv = resume(inputs, need=True)
    audience = text(inputs, "audience", "networking").lower().replace("_", " ")
    target = text(inputs, "target_role") or facts.headline(cv, "new")
    name = candidate_name(inputs, cv)
    title, years = facts.headline(cv, ""), facts.years_phrase(cv)
    skills = facts.top_skills(cv, extract_skills(target), 2)
    parts = [f"Hi, I'm {name}." if name else "Hi there."]
    if title:
        parts.append(
            f"I'm {facts.article(title)} {title}{' with ' + years if years else ''}"
            f"{', focused on ' + join_natural(skills) if skills else ''}."
        )
    elif cv.summary:
        parts.append(sentences(cv.summary)[0])  # no job titles found: the user's own summary says who they are
    parts += [f"{facts.where(job)}, I {facts.clause(bullet)}." for job, bullet in facts.strongest(cv, skills, 1)]
    parts.append(_AUDIENCES.get(audience, _AUDIENCES["networking"]).format(target=target))
    pitch = " ".join(parts)
    seconds = round(len(pitch.split()) / WORDS_PER_SECOND)
    tips = ["Aim for 20–40 seconds; cut the middle sentence if you run long."] if seconds > 40 else []
    tips.append("Say the result with its number slowly: it's the part people remember.")
    return result(
        f"Elevator pitch ({audience})",
        [section("Pitch", pitch), section("Delivery tips", tips)],
        words=len(pitch.split()),
        seconds=seconds,
        audience=audience,
    )
