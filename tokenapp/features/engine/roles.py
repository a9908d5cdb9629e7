"""Role families (title keywords, typical base pay, core skills, natural moves) and seniority levels."""

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class RoleFamily:
    """A group of job titles that share skills and pay."""

    key: str
    label: str
    keywords: tuple[str, ...]
    base_usd: int  # mid-level US national annual base salary
    skills: tuple[str, ...]  # most important first
    moves: tuple[str, ...]  # keys of families people commonly move into


def _csv(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _family(key: str, label: str, keywords: str, base: int, skills: str, moves: str = "") -> RoleFamily:
    return RoleFamily(key, label, _csv(keywords), base, _csv(skills), _csv(moves))


FAMILIES: tuple[RoleFamily, ...] = (
    _family(
        "software_engineer",
        "Software Engineer",
        "software engineer, software developer, developer, programmer, backend, back-end, frontend, front-end, "
        "full stack, full-stack, fullstack, web developer, mobile developer, ios engineer, android engineer, swe",
        125000,
        "Python, JavaScript, SQL, Git, REST APIs, System Design, Unit Testing, Docker, AWS, CI/CD, "
        "Data Structures, Algorithms",
        "devops_engineer, data_engineer, engineering_manager, product_manager",
    ),
    _family(
        "devops_engineer",
        "DevOps Engineer",
        "devops, site reliability, sre, platform engineer, cloud engineer, infrastructure engineer",
        130000,
        "Linux, Docker, Kubernetes, Terraform, AWS, CI/CD, Observability, Bash, Python, Networking",
        "software_engineer, engineering_manager",
    ),
    _family(
        "data_scientist",
        "Data Scientist",
        "data scientist, machine learning engineer, ml engineer, ai engineer, research scientist, applied scientist",
        130000,
        "Python, Machine Learning, Statistics, SQL, pandas, scikit-learn, Deep Learning, A/B Testing, "
        "Data Visualization, Feature Engineering",
        "data_engineer, engineering_manager, product_manager",
    ),
    _family(
        "data_analyst",
        "Data Analyst",
        "data analyst, business analyst, bi analyst, analytics, business intelligence, reporting analyst, "
        "product analyst",
        80000,
        "SQL, Excel, Tableau, Power BI, Data Analysis, Data Visualization, Statistics, Python, Communication",
        "data_scientist, data_engineer, product_manager, financial_analyst",
    ),
    _family(
        "data_engineer",
        "Data Engineer",
        "data engineer, analytics engineer, etl developer",
        125000,
        "Python, SQL, ETL, Spark, Airflow, Data Modeling, Data Warehousing, Kafka, dbt, AWS",
        "software_engineer, data_scientist, engineering_manager",
    ),
    _family(
        "product_manager",
        "Product Manager",
        "product manager, product owner, product lead, head of product",
        135000,
        "Product Management, Product Strategy, Roadmapping, Stakeholder Management, User Research, "
        "A/B Testing, Data Analysis, Agile, Communication, Prioritization",
        "project_manager, marketing",
    ),
    _family(
        "designer",
        "Product Designer",
        "designer, ux, ui, user experience, product designer, graphic designer, visual designer, ux researcher",
        100000,
        "Figma, UX Design, UI Design, User Research, Prototyping, Wireframing, Design Systems, "
        "Accessibility, Visual Design, Interaction Design",
        "product_manager, marketing",
    ),
    _family(
        "marketing",
        "Marketing Specialist",
        "marketing, seo, content writer, content strategist, social media, growth, brand, copywriter, communications",
        80000,
        "SEO, Content Marketing, Google Analytics, Email Marketing, Social Media Marketing, Campaign Management, "
        "Copywriting, Marketing Automation, Market Research, SEM",
        "product_manager, sales",
    ),
    _family(
        "sales",
        "Sales Representative",
        "sales, account executive, business development, sdr, bdr, account manager, sales representative",
        75000,
        "Salesforce, CRM, Lead Generation, Negotiation, Pipeline Management, Account Management, "
        "B2B Sales, Deal Closing, Communication, Sales Forecasting",
        "customer_support, marketing, product_manager",
    ),
    _family(
        "nurse",
        "Registered Nurse",
        "nurse, registered nurse, rn, nursing, lpn, nurse practitioner, charge nurse",
        86000,
        "Patient Care, Medication Administration, Electronic Health Records, BLS, ACLS, Vital Signs, "
        "Triage, Infection Control, Clinical Documentation, Patient Education",
        "teacher, project_manager",
    ),
    _family(
        "accountant",
        "Accountant",
        "accountant, accounting, bookkeeper, auditor, controller, cpa, tax associate, tax specialist",
        78000,
        "Accounting, GAAP, Financial Reporting, Reconciliation, Excel, QuickBooks, Auditing, "
        "Tax Preparation, Budgeting, Accounts Payable",
        "financial_analyst, project_manager",
    ),
    _family(
        "financial_analyst",
        "Financial Analyst",
        "financial analyst, finance, fp&a, investment analyst, credit analyst, finance manager",
        85000,
        "Financial Modeling, Financial Analysis, Excel, Forecasting and Planning, Budgeting, Valuation, "
        "Financial Reporting, SQL, Power BI, Communication",
        "accountant, data_analyst, product_manager",
    ),
    _family(
        "teacher",
        "Teacher",
        "teacher, educator, tutor, instructor, lecturer, teaching assistant, professor",
        62000,
        "Lesson Planning, Classroom Management, Curriculum Development, Differentiated Instruction, "
        "Student Assessment, Communication, Special Education, E-Learning",
        "project_manager, customer_support",
    ),
    _family(
        "project_manager",
        "Project Manager",
        "project manager, program manager, scrum master, delivery manager, project coordinator",
        100000,
        "Project Management, Stakeholder Management, Agile, Jira, Budget Management, Risk Management, "
        "Communication, Program Management, Change Management",
        "product_manager, operations",
    ),
    _family(
        "customer_support",
        "Customer Support Specialist",
        "customer support, customer service, support specialist, help desk, customer success, call center",
        50000,
        "Customer Service, CRM, Communication, Problem Solving, Empathy, Conflict Resolution, "
        "Time Management, Technical Writing, Customer Success",
        "sales, project_manager, operations",
    ),
    _family(
        "hr",
        "Recruiter",
        "recruiter, human resources, hr, talent acquisition, people operations, people partner",
        70000,
        "Recruiting, Onboarding, Communication, Stakeholder Management, Compliance, Payroll, "
        "Conflict Resolution, Change Management",
        "operations, project_manager",
    ),
    _family(
        "engineering_manager",
        "Engineering Manager",
        "engineering manager, head of engineering, vp engineering, vp of engineering, cto, director of engineering",
        175000,
        "Leadership, Mentoring, System Design, Stakeholder Management, Project Management, Recruiting, "
        "Agile, Communication, OKRs",
        "product_manager",
    ),
    _family(
        "operations",
        "Operations Specialist",
        "operations, supply chain, logistics, office manager, operations manager, procurement",
        70000,
        "Operations Management, Process Improvement, Supply Chain, Vendor Management, Excel, "
        "Budget Management, KPIs, Communication",
        "project_manager",
    ),
)
GENERAL = _family(
    "general",
    "General professional",
    "",
    65000,
    "Communication, Problem Solving, Time Management, Teamwork, Excel, Collaboration",
    "project_manager",
)
BY_KEY = {f.key: f for f in FAMILIES}

# Multipliers on the mid-level base; "manager" and "director" are people-management tracks.
LEVELS: dict[str, float] = {
    "intern": 0.45,
    "junior": 0.75,
    "mid": 1.0,
    "senior": 1.3,
    "lead": 1.45,
    "staff": 1.6,
    "principal": 1.85,
    "manager": 1.45,
    "director": 1.9,
}
LEVEL_ORDER = ("intern", "junior", "mid", "senior", "staff", "principal")
MANAGER_ORDER = ("lead", "manager", "director")
_LEVEL_WORDS = (
    ("intern", r"intern(ship)?|trainee|apprentice|co-?op"),
    ("junior", r"junior|jr\.?|entry[- ]level|graduate|associate"),
    ("principal", r"principal|distinguished|fellow"),
    ("staff", r"staff"),
    ("senior", r"senior|sr\.?"),
    ("director", r"director|head of|vp|vice president|chief"),
    ("lead", r"lead|team lead"),
    ("mid", r"mid(-level)?|intermediate"),
    ("manager", r"manager"),
)


def _hits(keyword: str, title: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(keyword)}(?![\w])", title) is not None


def find_family(title: str) -> RoleFamily:
    """The family whose longest keyword appears in the title, else the general family."""
    title = (title or "").lower()
    best, best_len = GENERAL, 0
    for family in FAMILIES:
        for keyword in family.keywords:
            if len(keyword) > best_len and _hits(keyword, title):
                best, best_len = family, len(keyword)
    return best


def detect_level(text: str, family: RoleFamily | None = None) -> str | None:
    """The seniority named in a title or level field ("senior", "intern"…), or None."""
    text = (text or "").lower()
    if family:
        for keyword in family.keywords:  # "product manager" names a role, not the manager level
            text = text.replace(keyword, " ")
    for level, pattern in _LEVEL_WORDS:
        if re.search(rf"(?<![\w])(?:{pattern})(?![\w])", text):
            return level
    return None


def level_from_years(years: float) -> str:
    """A typical level for years of experience."""
    for limit, level in ((1, "junior"), (4, "mid"), (9, "senior"), (14, "staff")):
        if years < limit:
            return level
    return "principal"
