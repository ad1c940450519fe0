"""RQ entry points for the task domain. Jobs take ids and are safe to run twice."""
from __future__ import annotations

import logging

from annotator.db import utcnow, write_intent
from annotator.runtime import job_session, runtime
from tasks import assignment, image_import, skills
from tasks.models import Project
from tasks.quality import report as quality_report

log = logging.getLogger(__name__)


def import_limits() -> image_import.ImportLimits:
    config = runtime().settings
    return image_import.ImportLimits(
        max_pixels=config["ANNOTATOR_MAX_IMAGE_PIXELS"], max_file_bytes=config["ANNOTATOR_MAX_UPLOAD_BYTES"],
        zip=image_import.ZipLimits(max_members=config["ANNOTATOR_ZIP_MAX_MEMBERS"],
                                   max_total_bytes=config["ANNOTATOR_ZIP_MAX_MB"] * 1024**2,
                                   max_ratio=config["ANNOTATOR_ZIP_MAX_RATIO"]))


def run_import(import_id: int) -> dict | None:
    """Import the files of import `import_id` into its project (RQ retries it on failure)."""
    rt = runtime()
    try:
        return image_import.run_import(rt.session_factory, rt.storage, import_id, limits=import_limits(), now=utcnow)
    except Exception as error:
        log.exception("import %s failed", import_id)
        image_import.mark_failed(rt.session_factory, import_id, f"{type(error).__name__}: {error}", utcnow())
        raise


def reclaim_expired_leases() -> int:
    """Give the places of lapsed leases back, in every project (runs every minute; `next` also does it)."""
    with job_session() as session:
        write_intent(session)
        return assignment.reclaim_expired(session, utcnow())


def compute_quality(project_id: int) -> dict | None:
    """Compute a project's agreement report and every task's consensus, and keep them (large projects)."""
    factory = runtime().session_factory
    with factory() as session:  # read and compute without holding a write transaction
        project = session.get(Project, project_id)
        if project is None:
            return None
        computed_from = skills.signature(session, project_id)  # before the answers: a later one finds it stale
        report = quality_report.agreement_report(session, project, utcnow())
        found = skills.compute(session, project, report.consensus, (report.data, report.inferred.objects))
    with job_session() as session:
        write_intent(session)
        project = session.get(Project, project_id)
        if project is None:
            return None
        quality_report.store_report(session, project, report, utcnow())
        skills.store(session, project, found, computed_from, utcnow())
    return {"annotations": report.body["annotations"], "tasks": report.body["tasks"], "skills": len(found)}


def refresh_skills(project_id: int) -> int | None:
    """Recompute and keep a project's skills (its consensus inferred now); returns how many were kept."""
    factory = runtime().session_factory
    with factory() as session:
        project = session.get(Project, project_id)
        if project is None:
            return None
        computed_from = skills.signature(session, project_id)
        data, inferred = skills.inferred_now(session, project)
        found = skills.compute(session, project, inferred.consensus, (data, inferred.objects))
    with job_session() as session:
        write_intent(session)
        project = session.get(Project, project_id)
        if project is None:
            return None
        skills.store(session, project, found, computed_from, utcnow())
    return len(found)


def refresh_quality() -> list[int]:
    """Recompute the reports (and skills) of large projects whose annotations have changed, and the skills of
    skill-routed projects of any size (runs every minute), so per-annotator numbers, consensus and routing keep up
    as answers arrive; returns the projects refreshed."""
    limit = runtime().settings["ANNOTATOR_QUALITY_ON_REQUEST"]
    with runtime().session_factory() as session:
        stale = quality_report.stale_large_projects(session, limit)
    for project_id in stale:
        compute_quality(project_id)
    with runtime().session_factory() as session:  # skill routing reads kept skills, whatever the project's size
        routed = [p for p in skills.projects_to_refresh(session) if p not in stale]
    for project_id in routed:
        refresh_skills(project_id)
    return stale + routed
