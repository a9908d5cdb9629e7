"""Interview preparation: behavioural STAR questions, skill questions from the posting, and questions about gaps."""

import re

from . import facts
from .inputs import number, required, result, resume, section, text
from .jobs import analyse
from .matching import as_resume, match
from .resume import ParsedResume
from .roles import find_family
from .skills import category, mentions_skill

STAR_OUTLINE = (
    "Situation: one or two sentences of context — where, when, what was at stake.",
    "Task: what you specifically were responsible for.",
    "Action: the steps you took, in the first person, including one decision and why.",
    "Result: the outcome with a number, and what you learned.",
)
# (cue in the posting, question, why it is asked)
BEHAVIOURAL = (
    (
        r"stakeholder|cross-functional|influence|partner",
        "Tell me about a time you had to influence a decision without formal authority.",
        "The role works across teams, so they want to see how you persuade without authority.",
    ),
    (
        r"deadline|fast-paced|pressure|urgent",
        "Describe a time you delivered under a tight deadline. What did you trade off?",
        "The posting signals pace and pressure; they want to see how you prioritise.",
    ),
    (
        r"mentor|coach|lead|manag|supervis",
        "Tell me about a time you helped a teammate grow.",
        "The role involves leading or mentoring others.",
    ),
    (
        r"customer|client|patient|student|user",
        "Tell me about a time you handled a difficult customer, client or stakeholder.",
        "The role is close to the people it serves; they want to see empathy and judgement.",
    ),
    (
        r"ambigu|startup|wear many hats|self-starter|autonom",
        "Tell me about a time you worked with unclear requirements.",
        "The posting suggests ambiguity; they want to see how you create structure.",
    ),
    (
        None,
        "Tell me about a time something you owned failed. What did you learn?",
        "Interviewers test self-awareness and ownership with a failure story.",
    ),
    (
        None,
        "Tell me about a disagreement with a colleague and how you resolved it.",
        "Almost every interview checks how you handle conflict.",
    ),
    (
        None,
        "What achievement are you proudest of, and why?",
        "They want to see what you value and the scale of work you have done.",
    ),
)
TECHNICAL = {
    "software": "How have you used {skill} in production? Walk me through one design decision and its trade-offs.",
    "data": "Describe a project where you used {skill}. How did you check the results were right?",
    "design": "Walk me through a project where {skill} shaped the final design. How did you test it with users?",
    "marketing": "How would you use {skill} to grow {company}'s audience? Which metric would you watch first?",
    "sales": "Walk me through how you apply {skill} in a deal, from first contact to close.",
    "finance": "How do you make sure your {skill} work is accurate? Give an example of an error you caught.",
    "healthcare": "Describe a situation where your {skill} skills made a difference to a patient. What did you do?",
    "education": "How do you approach {skill} for a class with mixed abilities?",
    "operations": "Tell me how you have applied {skill} on a real project. What would you do differently now?",
    "soft": "Give me an example that shows your {skill}.",
    "other": "How have you used {skill}, and what results did it produce?",
}


def _behavioural(job_description: str, cv: ParsedResume | None) -> list[dict]:
    ranked = sorted(BEHAVIOURAL, key=lambda item: 0 if item[0] and re.search(item[0], job_description, re.I) else 1)
    best = facts.strongest(cv, [], 1)
    out = []
    for _, question, why in ranked:
        outline = list(STAR_OUTLINE)
        if best and "proudest" in question:
            outline.insert(0, f'A strong candidate story from your resume: "{best[0][1]}" ({facts.where(best[0][0])}).')
        out.append({"question": question, "why_asked": why, "answer_outline": outline, "kind": "behavioural"})
    return out


def _technical(skills: list[tuple[str, str]], cv: ParsedResume | None, company: str) -> list[dict]:
    out = []
    for skill, reason in skills:
        evidence = [(job, b) for job, b in (cv.bullets() if cv else []) if mentions_skill(b, skill)]
        first = (
            f'Use this from your resume: "{evidence[0][1]}" ({facts.where(evidence[0][0])}).'
            if evidence
            else f"Pick one concrete project where you used {skill}."
        )
        out.append(
            {
                "question": TECHNICAL[category(skill)].format(skill=skill, company=company or "our"),
                "why_asked": reason,
                "kind": "technical",
                "answer_outline": [
                    first,
                    "Explain the problem and the constraints you had.",
                    f"Describe what you did with {skill}, including one trade-off you made.",
                    "Finish with the measurable outcome.",
                ],
            }
        )
    return out


def _gaps(cv: ParsedResume | None, job_description: str) -> list[dict]:
    if not cv or not job_description:
        return []
    fit = match(cv, job_description)
    out = []
    for skill in fit.required_missing:
        near = [s for s in cv.skills if category(s) == category(skill)][:2]
        out.append(
            {
                "question": f"This role needs {skill}, which isn't on your resume. "
                "How would you get productive with it?",
                "why_asked": f"The posting lists {skill} as required and your resume doesn't show it.",
                "kind": "gap",
                "answer_outline": [
                    "Be honest that you haven't used it in production.",
                    f"Name the closest thing you have used: {', '.join(near)}."
                    if near
                    else "Name the closest tool or method you have used.",
                    "Give a concrete 30-day plan: docs, a small project, pairing with the team.",
                    "Mention a time you learned something new quickly, with the result.",
                ],
            }
        )
    if fit.years_required and fit.years_found is not None and fit.years_found < fit.years_required:
        out.append(
            {
                "question": f"This role asks for {fit.years_required}+ years. Why are you ready for it?",
                "why_asked": f"Your dated experience covers about {fit.years_found:g} years.",
                "kind": "gap",
                "answer_outline": [
                    "Acknowledge it briefly without apologising.",
                    "Show scope: the size of what you owned, not the time spent.",
                    "Give one result that matches the level of the role.",
                ],
            }
        )
    return out


def _skills_for(role: str, job_description: str) -> list[tuple[str, str]]:
    if job_description:
        job = analyse(job_description)
        found = [(s, f"The posting lists {s} as required.") for s in job.required]
        found += [(s, f"The posting lists {s} as a nice-to-have.") for s in job.preferred]
        if found:
            return found
    family = find_family(role)
    return [(s, f"{s} is a core skill for {family.label} roles.") for s in family.skills]


def _mix(technical: list[dict], behavioural: list[dict], gaps: list[dict], count: int) -> list[dict]:
    gaps = gaps[: max(1, count // 4)] if gaps else []
    tech = technical[: (count - len(gaps) + 1) // 2]
    beh = behavioural[: count - len(gaps) - len(tech)]
    tech = technical[: count - len(gaps) - len(beh)]
    mixed = [q for pair in zip(tech, beh, strict=False) for q in pair] + tech[len(beh) :] + beh[len(tech) :]
    return (mixed + gaps)[:count]


def interview_prep(
    role: str, job_description: str = "", resume: "ParsedResume | str | dict | None" = None, count: int = 8
) -> list[dict]:
    """`count` questions as {question, why_asked, answer_outline, kind}: technical, behavioural and gap questions."""
    cv = as_resume(resume) if resume else None
    company = analyse(job_description).company if job_description else ""
    technical = _technical(_skills_for(role, job_description), cv, company)
    return _mix(technical, _behavioural(job_description, cv), _gaps(cv, job_description), count)


def interview_prep_feature(inputs: dict) -> dict:
    """Interview prep. Keys: role (required); job_description, resume, count (3–15, default 8)."""
    role = required(inputs, "role", "The role")
    jd, cv, count = text(inputs, "job_description"), resume(inputs), number(inputs, "count", 8, 3, 15)
    questions = interview_prep(role, jd, cv, count)
    sections = [
        section(f"{i}. {q['question']}", [f"Why they ask: {q['why_asked']}", *q["answer_outline"]])
        for i, q in enumerate(questions, 1)
    ]
    return result(f"Interview prep: {role}", sections, questions=questions)
