from __future__ import annotations

from app.errors import Conflict, Invalid, NotFound


class TeacherJobNotFound(NotFound):
    def __init__(self, job_id: str):
        super().__init__(f"no teacher job {job_id!r}", "job_id")


class InvalidTeacherJob(Invalid):
    """`field` is the request field at fault, dotted (e.g. `teacher.base_url`)."""


class JobNotActive(Conflict):
    def __init__(self, status: str):
        super().__init__(f"cannot cancel a teacher job that is {status}", "status")
