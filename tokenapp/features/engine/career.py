"""Career planning: skills gaps against a target role, next roles from a role graph, and salary ranges."""

from .inputs import number, required, result, resume, section, text
from .jobs import analyse
from .roles import BY_KEY, LEVEL_ORDER, RoleFamily, detect_level, find_family, level_from_years
from .salary import estimate
from .skills import category, merge
from .textutil import join_natural, keywords, split_list

LEARN = {
    "software": "Build a small project with {s}, publish it on GitHub and note what you learned in the README.",
    "data": "Reproduce an analysis on a public data set using {s} and write up what you found.",
    "design": "Redesign one screen of an app you use with {s}; share the before and after.",
    "marketing": "Run a small {s} experiment for a personal or volunteer project and report the numbers.",
    "sales": "Practise {s} in mock calls, then track your conversion on real outreach.",
    "finance": "Model a public company's latest annual report using {s}.",
    "healthcare": "Ask your employer about {s} training or certification, and shadow a colleague who does it daily.",
    "education": "Observe a colleague's lesson that uses {s}, then try one technique with your own class.",
    "operations": "Apply {s} to a process you already own and measure it before and after.",
    "soft": "Take on a stretch assignment that needs {s} and ask for specific feedback afterwards.",
    "other": "Take a short course on {s} and apply it to a real task within two weeks.",
}


def _have(inputs: dict) -> list[str]:
    cv = resume(inputs)
    return merge(cv.skills if cv else [], split_list(text(inputs, "skills")))


def skills_gap(inputs: dict) -> dict:
    """Skills gap report. Keys: target_role (required); resume, skills (comma-separated), job_description."""
    target = required(inputs, "target_role", "The target role")
    family, jd = find_family(target), text(inputs, "job_description")
    wanted = merge(analyse(jd).required if jd else [], list(family.skills))
    have = _have(inputs)
    lower = {s.lower() for s in have}
    matched = [s for s in wanted if s.lower() in lower]
    missing = [s for s in wanted if s.lower() not in lower]
    transferable = [s for s in have if s.lower() not in {w.lower() for w in wanted}][:8]
    coverage = round(100 * len(matched) / len(wanted)) if wanted else 0
    plan = [f"{s}: {LEARN[category(s)].format(s=s)}" for s in missing[:5]]
    notes = [] if have else ["Add your resume or list your skills to compare them; everything is shown as missing."]
    return result(
        f"Skills gap: {target}",
        [
            section(
                "Coverage",
                f"You have {len(matched)} of {len(wanted)} core skills for {family.label} roles ({coverage}%).",
            ),
            section("You already have", matched),
            section("To learn, most important first", missing),
            section("Learning plan", plan),
            section("Transferable strengths", transferable),
            section("Note", notes),
        ],
        coverage=coverage,
        matched=matched,
        missing=missing,
        transferable=transferable,
        family=family.key,
    )


def _title(level: str, family: RoleFamily) -> str:
    return family.label if level == "mid" else f"{level.title()} {family.label}"


def _options(family: RoleFamily, level: str) -> list[tuple[str, RoleFamily, str, str]]:
    """(kind, family, level, timeline) for a step up, a management move and lateral moves."""
    out = []
    if level in LEVEL_ORDER and level != LEVEL_ORDER[-1]:
        out.append(("Step up", family, LEVEL_ORDER[LEVEL_ORDER.index(level) + 1], "typically 2–3 years"))
    if level in ("senior", "staff", "principal", "lead"):
        manager = BY_KEY["engineering_manager"] if "engineer" in family.label.lower() else family
        out.append(("Management track", manager, "manager" if manager is family else "mid", "typically 1–2 years"))
    same = level if level in LEVEL_ORDER else "senior"
    out += [("Lateral move", BY_KEY[key], same, "typically 6–18 months") for key in family.moves if key in BY_KEY]
    return out


def career_path(inputs: dict) -> dict:
    """Next roles. Keys: current_role (required); resume, skills, years, interests, location."""
    current = required(inputs, "current_role", "Your current role")
    family, cv = find_family(current), resume(inputs)
    known = cv is not None or text(inputs, "years") != ""
    years = number(inputs, "years", int(cv.years_of_experience()) if cv else 0, 0, 60)
    level = detect_level(current, family) or (level_from_years(years) if known else "mid")
    have = {s.lower() for s in _have(inputs)}
    interests = keywords(text(inputs, "interests"), 10)
    options = _options(family, level)
    # People move towards what they already know and what they say interests them; sort stably on that.
    options.sort(
        key=lambda o: (
            -(
                sum(s.lower() in have for s in o[1].skills)
                + 2 * sum(w in (o[1].label + " " + " ".join(o[1].skills)).lower() for w in interests)
            )
        )
    )
    sections, data = [], []
    for kind, fam, lvl, timeline in options[:5]:
        title, pay = _title(lvl, fam), estimate(fam.label, lvl, text(inputs, "location"))
        build = [s for s in fam.skills if s.lower() not in have][:4]
        fit = [s for s in fam.skills if s.lower() in have][:4]
        sections.append(
            section(
                f"{kind}: {title}",
                [
                    f"You already have: {join_natural(fit)}."
                    if fit
                    else "Few of the core skills yet: plan a longer runway.",
                    f"Build next: {join_natural(build)}."
                    if build
                    else "You cover the core skills: look for scope and impact.",
                    f"Typical base pay: {pay.format(pay.low)}–{pay.format(pay.high)} (estimate).",
                    f"Timeline: {timeline}.",
                ],
            )
        )
        data.append({"title": title, "kind": kind, "family": fam.key, "skills_to_build": build, "salary_mid": pay.mid})
    context = f"{level}-level" + (f", about {years} years" if known else "")
    intro = (
        f"From {current} ({context}), these are common next moves{', weighted to your interests' if interests else ''}."
    )
    return result(
        f"Career paths from {current}", [section("Where you are", intro), *sections], options=data, level=level
    )


def salary_analysis(inputs: dict) -> dict:
    """Salary range. Keys: role (required); level, location."""
    role = required(inputs, "role", "The role")
    est = estimate(role, text(inputs, "level"), text(inputs, "location"))
    headline = f"{est.format(est.low)} – {est.format(est.high)} a year (midpoint {est.format(est.mid)})"
    tips = [
        "Use the midpoint as your anchor for a typical company; the top of the range fits larger firms and hubs.",
        "Ask the recruiter for the role's band early: it saves both sides time.",
        "Compare total compensation (bonus, equity, pension or 401k match), not only base salary.",
    ]
    return result(
        f"Salary estimate: {role}",
        [
            section("Estimated base salary", headline),
            section("How we got there", est.reasoning),
            section("Using this number", tips),
        ],
        **est.to_dict(),
    )
