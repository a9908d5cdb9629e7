"""Every size the engine reads, in one place: input past these bounds is cut, so no work grows without limit.

With these bounds and linear patterns, the engine's time is at most proportional to the bounded input.
"""

MAX_INPUT_CHARS = 20_000  # one text input (the forms allow at most 20,000 characters)
MAX_RESUME_CHARS = 60_000  # text taken from an uploaded file: about 25 pages; longer is not a resume
MAX_LINES = 2_000  # lines of a resume or posting that are read
MAX_ENTRIES = 40  # jobs, and degrees, kept from one resume
MAX_BULLETS = 40  # bullets kept for one job
MAX_BULLET_CHARS = 1_000  # a bullet wrapped over several lines stops growing here
MAX_ITEMS = 100  # skills, links, projects, certifications and posting requirements kept
MAX_NAME_CHARS = 100  # a header chunk longer than this is not a person's name
