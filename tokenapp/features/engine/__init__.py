"""The local AI engine: deterministic, offline generators over the user's own inputs.

Every generator takes a plain dict of inputs and returns {"title", "sections": [{"heading", "body"}], "data"}.
A missing required input raises EngineInputError; an unusable resume file raises ResumeFileError.
"""

from collections.abc import Callable

from .answers import behavioral_answers, mock_interview, score_answer
from .ats import ats_check
from .career import career_path, salary_analysis, skills_gap
from .documents import resume_review, resume_tailoring, rewrite_bullet
from .errors import EngineError, EngineInputError, ResumeFileError
from .interview import interview_prep, interview_prep_feature
from .jobs import JobPosting, analyse
from .matching import MatchResult, match
from .messages import follow_up_email, networking_message, thank_you_note
from .negotiation import negotiation_script
from .parsing import resume_parsing
from .pitches import elevator_pitch, linkedin_summary
from .research import company_research, job_description_analysis, job_match_detailed
from .resume import Education, Experience, ParsedResume, parse_resume, parse_text
from .salary import SalaryEstimate, estimate
from .skills import extract_skills
from .writing import cover_letter, cover_letter_feature

GENERATORS: dict[str, Callable[[dict], dict]] = {
    "cover_letter": cover_letter_feature,
    "resume_parsing": resume_parsing,
    "job_match_detailed": job_match_detailed,
    "interview_prep": interview_prep_feature,
    "salary_analysis": salary_analysis,
    "resume_review": resume_review,
    "resume_tailoring": resume_tailoring,
    "ats_check": ats_check,
    "linkedin_summary": linkedin_summary,
    "job_description_analysis": job_description_analysis,
    "skills_gap": skills_gap,
    "career_path": career_path,
    "mock_interview": mock_interview,
    "behavioral_answers": behavioral_answers,
    "networking_message": networking_message,
    "follow_up_email": follow_up_email,
    "thank_you_note": thank_you_note,
    "negotiation_script": negotiation_script,
    "company_research": company_research,
    "elevator_pitch": elevator_pitch,
}

REQUIRED_INPUTS: dict[str, list[str]] = {
    "cover_letter": ["job_description"],
    "resume_parsing": ["filename", "data"],
    "job_match_detailed": ["resume", "job_description"],
    "interview_prep": ["role"],
    "salary_analysis": ["role"],
    "resume_review": ["resume"],
    "resume_tailoring": ["resume", "job_description"],
    "ats_check": ["resume"],
    "linkedin_summary": ["resume"],
    "job_description_analysis": ["job_description"],
    "skills_gap": ["target_role"],
    "career_path": ["current_role"],
    "mock_interview": ["question", "answer"],
    "behavioral_answers": ["story"],
    "networking_message": ["recipient"],
    "follow_up_email": ["company", "role"],
    "thank_you_note": ["company", "role"],
    "negotiation_script": ["role", "offer"],
    "company_research": ["company"],
    "elevator_pitch": ["resume"],
}


def generate(feature: str, inputs: dict) -> dict:
    """Run one feature's generator; raises KeyError for an unknown feature."""
    return GENERATORS[feature](inputs or {})


__all__ = [
    "GENERATORS",
    "REQUIRED_INPUTS",
    "generate",
    "EngineError",
    "EngineInputError",
    "ResumeFileError",
    "ParsedResume",
    "Experience",
    "Education",
    "parse_resume",
    "parse_text",
    "extract_skills",
    "match",
    "MatchResult",
    "analyse",
    "JobPosting",
    "estimate",
    "SalaryEstimate",
    "cover_letter",
    "interview_prep",
    "score_answer",
    "rewrite_bullet",
    *GENERATORS,
]
