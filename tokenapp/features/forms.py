"""Each AI feature's form, declared once; pages, validation and prompts follow from it.

A feature's prompt (`prompts/<feature_key>.txt`) uses exactly its form's text fields
(tests/test_feature_prompts.py).
"""

from dataclasses import dataclass

from ..services.errors import DomainError

TONES = (("professional", "Professional"), ("enthusiastic", "Enthusiastic"), ("concise", "Concise"))
LEVELS = (
    ("junior", "Junior"),
    ("mid", "Mid-level"),
    ("senior", "Senior"),
    ("staff", "Staff / Lead"),
    ("manager", "Manager"),
    ("director", "Director"),
)


@dataclass(frozen=True)
class Field:
    """One input of a feature's form."""

    name: str
    label: str
    kind: str = "text"  # text | textarea | select | file | resume
    required: bool = False
    choices: tuple = ()
    max_length: int = 2000
    help: str = ""


class InvalidInput(DomainError):
    """A form field that is missing, too long, or not one of its choices."""

    code = "invalid_input"

    def __init__(self, field: str, message: str):
        super().__init__(message, field=field)
        self.field = field


JOB = Field("job_description", "Job description", "textarea", True, max_length=20000, help="Paste the whole posting.")
JOB_OPTIONAL = Field("job_description", "Job description (optional)", "textarea", max_length=20000)
RESUME = Field("resume_id", "Your resume", "resume", help="Upload one on the Resume Parsing page to reuse it.")
RESUME_TEXT = Field("resume_text", "Or paste your resume", "textarea", max_length=20000)
ROLE = Field("role", "Role", required=True, max_length=120)

FORMS: dict[str, tuple[Field, ...]] = {
    "cover_letter": (
        JOB,
        RESUME,
        RESUME_TEXT,
        Field("tone", "Tone", "select", True, TONES),
        Field("company", "Company (optional)", max_length=120),
        Field("role", "Role (optional)", max_length=120),
    ),
    "resume_parsing": (Field("resume_file", "Resume file (PDF, DOCX or TXT, up to 5 MB)", "file", True),),
    "job_match_detailed": (JOB, RESUME, RESUME_TEXT),
    "interview_prep": (ROLE, JOB_OPTIONAL, RESUME),
    "salary_analysis": (
        ROLE,
        Field("level", "Level", "select", True, LEVELS),
        Field("location", "Location", required=True, max_length=120, help="A city, or Remote."),
    ),
    "resume_review": (RESUME, RESUME_TEXT),
    "resume_tailoring": (JOB, RESUME, RESUME_TEXT),
    "ats_check": (RESUME, RESUME_TEXT, JOB_OPTIONAL),
    "linkedin_summary": (RESUME, RESUME_TEXT, Field("target_role", "Target role (optional)", max_length=120)),
    "job_description_analysis": (JOB,),
    "skills_gap": (Field("target_role", "Target role", required=True, max_length=120), RESUME, RESUME_TEXT),
    "career_path": (
        Field("current_role", "Current role", required=True, max_length=120),
        RESUME,
        Field("interests", "Interests (optional)", "textarea", max_length=2000),
    ),
    "mock_interview": (
        Field("question", "Interview question", required=True, max_length=500),
        Field("answer", "Your answer", "textarea", True, max_length=10000),
    ),
    "behavioral_answers": (
        Field("story", "Your story", "textarea", True, max_length=10000),
        Field("question", "Question it answers (optional)", max_length=500),
    ),
    "networking_message": (
        Field("recipient", "Who you are writing to", required=True, max_length=200),
        Field("context", "How you know them / why them", "textarea", True, max_length=2000),
        Field("role", "The role you are after (optional)", max_length=120),
    ),
    "follow_up_email": (
        Field("company", "Company", required=True, max_length=120),
        ROLE,
        Field("notes", "Where things stand (optional)", "textarea", max_length=2000),
    ),
    "thank_you_note": (
        Field("interviewer", "Interviewer's name (optional)", max_length=120),
        Field("company", "Company", required=True, max_length=120),
        ROLE,
        Field("topics", "What you talked about (optional)", "textarea", max_length=2000),
    ),
    "negotiation_script": (
        ROLE,
        Field("offer", "Offer (yearly, e.g. 120000 or $120k)", required=True, max_length=20),
        Field("level", "Level", "select", False, LEVELS),
        Field("location", "Location (optional)", max_length=120),
    ),
    "company_research": (
        Field("company", "Company", required=True, max_length=120),
        JOB_OPTIONAL,
        Field("notes", "Your notes (optional)", "textarea", max_length=5000),
    ),
    "elevator_pitch": (
        Field("audience", "Who you are pitching to", required=True, max_length=200),
        RESUME,
        RESUME_TEXT,
    ),
}

# The five flagship pages have addresses of their own; the rest live at /features/<key>.
FLAGSHIP_PATHS = {
    "cover_letter": "/cover-letter",
    "resume_parsing": "/resume/upload",
    "job_match_detailed": "/job-match",
    "interview_prep": "/interview-prep",
    "salary_analysis": "/salary-analysis",
}
