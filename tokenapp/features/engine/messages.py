"""Short messages: networking outreach, follow-ups and thank-you notes, filled with the user's details."""

from . import facts
from .inputs import candidate_name, number, required, result, resume, section, text
from .resume import ParsedResume
from .skills import extract_skills
from .textutil import join_natural, lower_first, sentence, split_list, truncate

CONNECTION_NOTE_LIMIT = 300  # LinkedIn's limit for a connection request note


def _first_name(full: str) -> str:
    """ "Dana Smith" → "Dana"; "Ms. Patel" stays whole."""
    parts = full.split()
    return full if not parts or parts[0].endswith(".") or len(parts) == 1 else parts[0]


def _about_me(cv: ParsedResume | None, focus: list[str]) -> str:
    if not cv or not facts.headline(cv, ""):
        return ""
    title, years = facts.headline(cv, ""), facts.years_phrase(cv)
    skills = facts.top_skills(cv, focus, 2)
    line = f"I'm {facts.article(title)} {title}{' with ' + years if years else ''}"
    line += f" working mostly with {join_natural(skills)}" if skills else ""
    picks = facts.strongest(cv, focus, 1)
    return f"{line}; most recently I {facts.clause(picks[0][1])}." if picks else f"{line}."


def _sign(lines: list[str], name: str) -> str:
    return "\n\n".join(p for p in lines if p) + (f"\n{name}" if name else "")


def networking_message(inputs: dict) -> dict:
    """Outreach message. Keys: recipient (required); company, role (the role you want), context (how you know them or
    why you are writing), channel (linkedin|email), resume, name."""
    recipient = required(inputs, "recipient", "The recipient's name")
    company, role, context = text(inputs, "company"), text(inputs, "role"), text(inputs, "context")
    channel, cv = text(inputs, "channel", "linkedin").lower(), resume(inputs)
    name = candidate_name(inputs, cv)
    focus = extract_skills(f"{role} {context}")
    hello = f"Hi {_first_name(recipient)},"
    at = f" at {company}" if company else ""
    why = sentence(context) if context else f"I came across your work{at} and wanted to reach out."
    ask = (
        f"I'm exploring {role} roles{' at ' + company if company else ''} and would value 15 minutes of your "
        "perspective on the team and the work."
        if role
        else f"Would you be open to a 15-minute chat about your experience{' at ' + company if company else ''}?"
    )
    body = _sign([hello, f"{why} {_about_me(cv, focus)}".strip(), ask, "Thank you,"], name)
    note = truncate(
        f"Hi {_first_name(recipient)}, {lower_first(why)} "
        f"{'Interested in ' + role + ' roles' + (' at ' + company if company else '') + '. ' if role else ''}"
        "Would you be open to connecting?",
        CONNECTION_NOTE_LIMIT,
    )
    subject = (
        f"{'Question about ' + role + ' roles' if role else 'Quick question'}{' at ' + company if company else ''}"
    )
    sections = [section("Message", body), section("Connection note (under 300 characters)", note)]
    if channel == "email":
        sections.insert(0, section("Subject", subject))
    return result(
        f"Networking message to {recipient}", sections, channel=channel, note_characters=len(note), subject=subject
    )


def follow_up_email(inputs: dict) -> dict:
    """Follow-up email. Keys: company, role (required); stage (application|interview), contact, days_since, notes,
    resume, name."""
    company = required(inputs, "company", "The company")
    role = required(inputs, "role", "The role")
    stage, contact = text(inputs, "stage", "application").lower(), text(inputs, "contact")
    days, notes, cv = number(inputs, "days_since", 0, 0, 365), text(inputs, "notes"), resume(inputs)
    when = f" {days} days ago" if days else ""
    if stage == "interview":
        opener = (
            f"Thank you again for the conversation{when} about the {role} role. I wanted to follow up on next steps."
        )
    else:
        opener = f"I applied for the {role} position at {company}{when} and wanted to reiterate my interest."
    fit = _about_me(cv, extract_skills(f"{role} {notes}"))
    extra = sentence(notes) if notes else ""
    ask = (
        "Is there an update on the timeline, or anything else I can share to help your decision?"
        if stage == "interview"
        else "Could you share where the process stands or who the best person to follow up with is?"
    )
    body = _sign(
        [
            f"Hi {_first_name(contact)}," if contact else "Hello,",
            opener,
            f"{fit} {extra}".strip(),
            ask,
            "Best regards,",
        ],
        candidate_name(inputs, cv),
    )
    subject = f"Following up: {role} {'interview' if stage == 'interview' else 'application'} — {company}"
    timing = (
        "It's best to wait 5–7 business days after applying or 2–3 after an interview before following up."
        if days and days < (3 if stage == "interview" else 5)
        else ""
    )
    return result(
        f"Follow-up email to {company}",
        [section("Subject", subject), section("Email", body), section("Timing", timing)],
        stage=stage,
        subject=subject,
    )


def thank_you_note(inputs: dict) -> dict:
    """Thank-you note after an interview. Keys: company, role (required); interviewer, topics (what you discussed,
    one per line or comma-separated), resume, name."""
    company = required(inputs, "company", "The company")
    role = required(inputs, "role", "The role")
    interviewer, topics, cv = text(inputs, "interviewer"), split_list(text(inputs, "topics")), resume(inputs)
    opener = f"Thank you for taking the time to speak with me about the {role} role at {company}."
    recall = ""
    if topics:
        recall = f"I especially enjoyed our conversation about {lower_first(topics[0])}"
        recall += (
            f", and hearing about {join_natural([lower_first(t) for t in topics[1:3]])}." if len(topics) > 1 else "."
        )
    link = _about_me(cv, extract_skills(" ".join(topics) + " " + role))
    interest = f"It reinforced my interest in joining {company}." + (f" {link}" if link else "")
    body = _sign(
        [
            f"Dear {interviewer}," if interviewer else "Hello,",
            f"{opener} {recall}".strip(),
            interest,
            "Please let me know if I can share anything else. I look forward to hearing from you.",
            "Best regards,",
        ],
        candidate_name(inputs, cv),
    )
    tips = [
        "Send it within 24 hours of the interview.",
        *(["Add one detail you discussed: it shows you listened."] if not topics else []),
    ]
    return result(
        f"Thank-you note for {company}",
        [section("Subject", f"Thank you — {role} interview"), section("Note", body), section("Tips", tips)],
        topics=topics,
    )
