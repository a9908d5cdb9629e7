"""The catalog `flask seed` loads: five token packages and twenty AI features."""

BULK_BONUS_OVER_CENTS = 5000
BULK_BONUS_PERCENT = 10

# key, name, tokens, price in cents
PACKAGES = [
    ("starter", "Starter", 100, 500),
    ("basic", "Basic", 250, 1000),
    ("pro", "Pro", 600, 2000),
    ("power", "Power", 1600, 5000),
    ("ultimate", "Ultimate", 3500, 10000),
]

# key, name, description, price in cents, billing interval
PLANS = [
    ("unlimited", "Unlimited", "Every AI feature with no token limit, billed monthly. Cancel any time.", 2900, "month"),
]

# key, name, category, cost, description
FEATURES = [
    ("cover_letter", "Cover Letter Generation", "writing", 10, "A cover letter tailored to one job from your resume."),
    (
        "resume_parsing",
        "Resume Parsing",
        "resume",
        8,
        "Turns a PDF, DOCX or text resume into contact details, skills, experience and education.",
    ),
    (
        "job_match_detailed",
        "Detailed Job Match",
        "matching",
        5,
        "Scores your resume against a job and lists the matched and missing skills.",
    ),
    (
        "interview_prep",
        "Interview Prep",
        "interview",
        8,
        "Likely interview questions for a role with outlines of strong answers.",
    ),
    (
        "salary_analysis",
        "Salary Analysis",
        "career",
        6,
        "A salary range for a role, level and location, with the reasoning.",
    ),
    ("resume_review", "Resume Review", "resume", 6, "Section-by-section feedback on clarity, impact and keywords."),
    ("resume_tailoring", "Resume Tailoring", "resume", 8, "Rewrites your resume bullets to fit one job description."),
    (
        "ats_check",
        "ATS Compatibility Check",
        "resume",
        4,
        "Checks how well applicant tracking systems will read your resume.",
    ),
    ("linkedin_summary", "LinkedIn Summary", "writing", 5, "An About section for LinkedIn built from your experience."),
    (
        "job_description_analysis",
        "Job Description Analysis",
        "matching",
        4,
        "Pulls the must-haves, nice-to-haves and red flags out of a posting.",
    ),
    (
        "skills_gap",
        "Skills Gap Report",
        "career",
        5,
        "Compares your skills with a target role and suggests what to learn.",
    ),
    (
        "career_path",
        "Career Path Planner",
        "career",
        8,
        "Next roles that fit your background and the steps to reach them.",
    ),
    (
        "mock_interview",
        "Mock Interview Feedback",
        "interview",
        10,
        "Feedback on your written answers to interview questions.",
    ),
    (
        "behavioral_answers",
        "STAR Answer Builder",
        "interview",
        6,
        "Shapes your stories into Situation, Task, Action, Result answers.",
    ),
    ("networking_message", "Networking Message", "writing", 3, "A short, specific message to a contact or recruiter."),
    ("follow_up_email", "Follow-up Email", "writing", 3, "A polite follow-up after an application or interview."),
    (
        "thank_you_note",
        "Thank-you Note",
        "writing",
        3,
        "A thank-you note after an interview that recalls what was discussed.",
    ),
    (
        "negotiation_script",
        "Offer Negotiation Script",
        "career",
        6,
        "Talking points and wording for negotiating a job offer.",
    ),
    (
        "company_research",
        "Company Research Brief",
        "matching",
        5,
        "A one-page brief on a company from the posting and your notes.",
    ),
    ("elevator_pitch", "Elevator Pitch", "writing", 3, "A 30-second introduction of yourself for a given audience."),
]


def bulk_bonus(tokens: int, price_cents: int) -> int:
    """Bonus tokens for a package: 10% more on packages over $50."""
    return tokens * BULK_BONUS_PERCENT // 100 if price_cents > BULK_BONUS_OVER_CENTS else 0
