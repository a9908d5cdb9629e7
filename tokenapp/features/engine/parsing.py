"""The resume-parsing feature: an uploaded file in, the parsed resume out for display and storage."""

from .dates import display
from .errors import EngineInputError
from .inputs import required, result, section
from .resume import parse_resume


def _when(start: str, end: str) -> str:
    if not start:
        return ""
    return f" ({display(start)}{' – ' + display(end) if end and end != start else ''})"


def resume_parsing(inputs: dict) -> dict:
    """Parse an uploaded resume. Keys: filename (required), data (required, the file's bytes)."""
    filename = required(inputs, "filename", "The file name")
    data = (inputs or {}).get("data")
    if not isinstance(data, (bytes, bytearray)):
        raise EngineInputError("data", "Choose a resume file to upload.")
    cv = parse_resume(filename, bytes(data))
    contact = [
        f"{label}: {value}"
        for label, value in (("Name", cv.name), ("Email", cv.email), ("Phone", cv.phone), ("Location", cv.location))
        if value
    ]
    contact += [f"Link: {link}" for link in cv.links]
    jobs = [
        section(
            f"{' — '.join(x for x in (job.title, job.company) if x) or 'Role'}{_when(job.start, job.end)}",
            job.bullets or ["No bullet points found for this role."],
        )
        for job in cv.experience
    ]
    education = [", ".join(x for x in (e.degree, e.institution, e.year) if x) for e in cv.education]
    missing = [
        label
        for label, value in (
            ("name", cv.name),
            ("email", cv.email),
            ("phone", cv.phone),
            ("experience", cv.experience),
            ("education", cv.education),
        )
        if not value
    ]
    notes = (
        [f"We couldn't find your {', '.join(missing)}. Check the file, or add them before using other features."]
        if missing
        else []
    )
    return result(
        f"Parsed resume{': ' + cv.name if cv.name else ''}",
        [
            section("Contact details", contact),
            section("Summary", cv.summary),
            section("Skills", ", ".join(cv.skills)),
            *jobs,
            section("Education", education),
            section("Projects", cv.projects),
            section("Certifications", cv.certifications),
            section("Check", notes),
        ],
        resume=cv.to_dict(),
        years_of_experience=cv.years_of_experience(),
    )
