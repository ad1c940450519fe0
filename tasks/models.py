"""Projects, their members and schema versions, tasks, media and import jobs."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from annotator.db import Base, Timestamped, UTCDateTime

VISIBILITIES = ("public", "private")
PROJECT_STATUSES = ("active", "paused", "archived")
AGGREGATIONS = ("majority", "dawid_skene", "dawid_skene_prior")  # tasks.quality.inference.METHODS
ROUTINGS = ("ring", "skill")  # how `next` picks a task (tasks.assignment, tasks/README.md)
MEMBER_ROLES = ("annotator", "reviewer", "manager")
TASK_STATUSES = ("open", "completed", "withheld", "retired")
IMPORT_STATUSES = ("queued", "running", "finished", "failed")
# The statuses an assignment ends in without an answer (its reserved reward goes back to the budget).
ENDED_UNANSWERED = ("skipped", "flagged", "expired", "released")
ASSIGNMENT_STATUSES = ("leased", "submitted", *ENDED_UNANSWERED)
FLAG_REASONS = ("sensitive", "private_data", "corrupt", "other")
FLAG_STATUSES = ("open", "kept", "removed")
# Task.rank lies in [0, RANK_SPACE): RANK_BITS of the data hash (tasks.bulk) and of each annotator's start.
RANK_BITS = 28
RANK_SPACE = 1 << RANK_BITS
# Open, non-gold tasks someone has begun. The claim query uses this very text, so that databases
# (SQLite above all, which matches partial-index predicates by their form) use ix_tasks_started.
STARTED = "status = 'open' AND NOT is_gold AND leased + submitted > 0"


class Project(Timestamped, Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    instructions: Mapped[str] = mapped_column(Text, nullable=False, default="")
    media_type: Mapped[str] = mapped_column(String(10), nullable=False)
    # The current schema; every version ever used is kept in project_schema_versions.
    label_schema: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    schema_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    overlap: Mapped[int] = mapped_column(Integer, nullable=False, default=3)
    dynamic_overlap: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    aggregation: Mapped[str] = mapped_column(String(20), nullable=False, default="dawid_skene_prior")
    gold_ratio: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    lease_seconds: Mapped[int] = mapped_column(Integer, nullable=False, default=600)
    visibility: Mapped[str] = mapped_column(String(10), nullable=False, default="private")
    qualification: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    rewards: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="active")
    # The dataset's licence, as exports state it in their dataset card (e.g. "CC-BY-4.0"); "" when unstated.
    licence: Mapped[str] = mapped_column(String(200), nullable=False, default="", server_default="")
    # ring: every annotator walks the tasks in rank order; skill: proven annotators get the unsure tasks of their
    # subtrees first (tasks.skills, tasks.assignment).
    routing: Mapped[str] = mapped_column(String(10), nullable=False, default="ring", server_default="ring")
    # What goes to the review queue and how appeals and reviewer pay work (tasks.reviews.POLICY); None: no queue.
    review: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # Revenue-sharing terms contributors accept before labelling ({"version", "text"}); None: the platform's.
    terms: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    members: Mapped[list[ProjectMember]] = relationship(back_populates="project", cascade="all, delete-orphan")


class ProjectSchemaVersion(Base):
    """Every label schema a project has had; annotations record the version they used."""

    __tablename__ = "project_schema_versions"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    label_schema: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)


class ProjectMember(Timestamped, Base):
    __tablename__ = "project_members"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    role: Mapped[str] = mapped_column(String(10), nullable=False)

    project: Mapped[Project] = relationship(back_populates="members")


class ProjectInvitation(Base):
    """An invitation to a project for an e-mail address without an account yet; becomes a membership when someone
    signs up with that address (`accepted_at`, `user_id`). One per project and address: inviting again changes the
    role."""

    __tablename__ = "project_invitations"
    __table_args__ = (UniqueConstraint("project_id", "email"), Index("ix_project_invitations_email", "email"))

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    role: Mapped[str] = mapped_column(String(10), nullable=False)
    invited_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)

    @property
    def status(self) -> str:
        return "pending" if self.accepted_at is None else "accepted"


class Media(Base):
    """A stored image, addressed by the SHA-256 of its (metadata-stripped) bytes; shared across projects."""

    __tablename__ = "media"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(40), nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # 64-bit dHash stored signed (two's complement) so it fits BIGINT on every database.
    phash: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        # Duplicates are skipped on import: by external_id when given, else by the data's hash.
        Index("uq_tasks_project_external", "project_id", "external_id", unique=True,
              sqlite_where=text("external_id IS NOT NULL"), postgresql_where=text("external_id IS NOT NULL")),
        Index("uq_tasks_project_data", "project_id", "data_hash", unique=True,
              sqlite_where=text("external_id IS NULL"), postgresql_where=text("external_id IS NULL")),
        Index("ix_tasks_project_status", "project_id", "status"),
        # The claim walks open tasks in `rank` order; tasks already started have their own small index.
        Index("ix_tasks_claim", "project_id", "is_gold", "rank", "id", postgresql_where=text("status = 'open'"),
              sqlite_where=text("status = 'open'")),
        Index("ix_tasks_started", "project_id", "rank", "id", postgresql_where=text(STARTED), sqlite_where=text(STARTED)),
        # Skill routing's claim: a proven annotator's unsure tasks, by subtree.
        Index("ix_tasks_routed", "project_id", "route_label", postgresql_where=text(STARTED),
              sqlite_where=text(STARTED)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    data_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    media_sha256: Mapped[str | None] = mapped_column(ForeignKey("media.sha256"), index=True, nullable=True)
    is_gold: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    gold: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="open")
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    # Counters kept in the same transaction as the rows they count (checked by tasks.assignment.recount):
    # live leases and submitted annotations. A task is offered while leased + submitted < overlap.
    leased: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    submitted: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    # A stable pseudo-random position (from the data hash), so annotators spread over the tasks.
    rank: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    # Dynamic overlap: how many answers this task wants when that is not the project's `overlap` (raised to
    # max_overlap while its answers stay below the confidence target). NULL: the project's overlap.
    wanted: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Skill routing: the label the task's answers point to (their majority, backing off along the taxonomy) and
    # how unsure they are (1 - its share), kept by each submit under `routing = skill`; NULL before any answer.
    route_label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    route_need: Mapped[float | None] = mapped_column(Float, nullable=True)


class Assignment(Base):
    """A task handed to one annotator: a lease until `expires_at`, then submitted, skipped, flagged or expired."""

    __tablename__ = "assignments"
    __table_args__ = (
        Index("uq_assignments_live", "task_id", "user_id", unique=True,
              postgresql_where=text("status = 'leased'"), sqlite_where=text("status = 'leased'")),
        # An annotator's latest assignment in a project (their live lease, their place in the ring).
        Index("ix_assignments_user_project", "user_id", "project_id", "id"),
        Index("ix_assignments_expiry", "project_id", "status", "expires_at"),
        # The claim's "not already theirs" check probes (task_id, user_id) for each candidate task.
        Index("ix_assignments_task_user", "task_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="leased")
    is_gold: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)  # why it was skipped
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The expert tier (rewards.tiers, 1-based) the annotator held when the lease was taken; NULL: none.
    tier: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Annotation(Base):
    """One annotator's answer to one task; never two from the same person on a task."""

    __tablename__ = "annotations"
    __table_args__ = (UniqueConstraint("task_id", "user_id"), Index("ix_annotations_project_user", "project_id", "user_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    # None for an answer imported from elsewhere (POST /projects/{id}/answers/import): no lease, never paid.
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), nullable=True)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    lead_time_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    schema_version: Mapped[int] = mapped_column(Integer, nullable=False)
    # False while the annotator is disqualified: kept, but left out of consensus and pay until reinstated.
    counted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # For gold tasks: how right the answer was, 0..1.
    gold_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)


class Review(Base):
    """A reviewer's verdict on an answer: accepted, rejected (what the answer earned taken back, the answer out of
    agreement and consensus), fixed (the reviewer's corrected `result` becomes the task's reviewed result), or
    overturned (a rejection an appeal overturned: what it took back restored)."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True, nullable=False)
    annotation_id: Mapped[int] = mapped_column(ForeignKey("annotations.id", ondelete="CASCADE"), unique=True,
                                               nullable=False)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    verdict: Mapped[str] = mapped_column(String(10), nullable=False)  # accepted, rejected, fixed, overturned
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # a fix's corrected result
    review_lease_id: Mapped[int | None] = mapped_column(ForeignKey("review_leases.id", ondelete="SET NULL"),
                                                        nullable=True)  # given under a lease of the review queue
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)


class ReviewItem(Base):
    """Something the project's review policy sends to the queue: a completed task (`annotation_id` None: every
    answer on it) or one answer (a new annotator's first ones, a failed gold answer). Every completed task the
    queue has looked at has a row (`status` passed when the policy did not pick it), so it is looked at once."""

    __tablename__ = "review_items"
    __table_args__ = (UniqueConstraint("project_id", "key"),
                      Index("ix_review_items_queue", "project_id", "status", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    key: Mapped[str] = mapped_column(String(40), nullable=False)  # task:<id> or answer:<id>
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True, nullable=False)
    annotation_id: Mapped[int | None] = mapped_column(ForeignKey("annotations.id", ondelete="CASCADE"),
                                                      nullable=True)
    reason: Mapped[str] = mapped_column(String(20), nullable=False)  # sample, below_agreement, gold_failure, ...
    agreement: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(10), nullable=False)  # queued, leased, done, passed
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ReviewLease(Base):
    """A reviewer's hold on a review item, with the labelling lease's rules: one live lease per item, a
    heartbeat keeps it, an expired one is taken back and the item handed out again."""

    __tablename__ = "review_leases"
    __table_args__ = (Index("ix_review_leases_reviewer", "reviewer_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id", ondelete="CASCADE"), index=True,
                                         nullable=False)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)  # leased, done, expired, released
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Appeal(Base):
    """An annotator's appeal against a rejection, decided once by someone other than its reviewer and author."""

    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True, nullable=False)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), unique=True, nullable=False)
    annotation_id: Mapped[int] = mapped_column(ForeignKey("annotations.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)  # open, upheld, overturned
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    restored: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)  # what an overturn gave back
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)


class Flag(Base):
    """An annotator's report that a task should not be labelled; the task is withheld until resolved."""

    __tablename__ = "flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True, nullable=False)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    reason: Mapped[str] = mapped_column(String(20), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="open")
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)


class Qualification(Base):
    """An annotator's standing in a project: gold answered, the credit earned on them, disqualification."""

    __tablename__ = "qualifications"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    gold_answered: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    gold_credit: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    disqualified: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    reinstated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SubtreeStanding(Base):
    """An annotator's standing in one subtree of a project's taxonomy, from the gold scoped to it (a gold task's
    `gold.scope`): disqualified there, their answers inside it stop counting; the rest of the project is unaffected."""

    __tablename__ = "subtree_standings"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(String(200), primary_key=True)
    gold_answered: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    gold_credit: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    disqualified: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class IdempotencyRecord(Base):
    """The first response to a POST sent with an Idempotency-Key, replayed for repeats of the same request."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[int] = mapped_column(Integer, nullable=False)
    body: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)


class Import(Timestamped, Base):
    """An import job's row: status, progress 0..1, counts, and each rejected file with its reason."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True, nullable=False)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="queued")
    progress: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    # [{"name", "size", "key"}]: the uploaded files, kept in storage until the job is done.
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    counts: Mapped[dict[str, int]] = mapped_column(JSON, nullable=False, default=dict)
    rejected: Mapped[list[dict[str, str]]] = mapped_column(JSON, nullable=False, default=list)
    near_duplicates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Written with every progress step: a running import whose heartbeat stopped had its worker die.
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")


class Export(Timestamped, Base):
    """A dataset export: the RQ worker writes it to storage; status, progress 0..1, rows, size, checksum.

    `fingerprint` names the data it was asked for (format, include, schema version, answers), so a second
    request for the same project, format and data gets this row rather than another job.
    """

    __tablename__ = "exports"
    __table_args__ = (Index("ix_exports_project_fingerprint", "project_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    format: Mapped[str] = mapped_column(String(20), nullable=False)
    include: Mapped[str] = mapped_column(String(20), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="queued")  # running, completed, failed
    progress: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    rows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    storage_key: Mapped[str | None] = mapped_column(String(300), nullable=True)
    filename: Mapped[str | None] = mapped_column(String(200), nullable=True)
    card: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Moved forward while a worker writes; a running export whose heartbeat stops had its worker die.
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class QualityReport(Base):
    """A project's agreement report as the quality job last computed it (large projects are not computed on request)."""

    __tablename__ = "quality_reports"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    annotations: Mapped[int] = mapped_column(Integer, nullable=False)  # how many annotations it covers
    body: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)


class TaskConsensus(Base):
    """A task's inferred answer from the last quality job; fresh while `annotations` is the task's count."""

    __tablename__ = "task_consensus"
    __table_args__ = (Index("ix_task_consensus_project", "project_id", "task_id"),)

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    method: Mapped[str] = mapped_column(String(20), nullable=False)
    agreement: Mapped[float | None] = mapped_column(Float, nullable=True)
    annotations: Mapped[int] = mapped_column(Integer, nullable=False)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)


class AnnotationRevision(Base):
    """An answer as it was before its author revised it (the answer row holds the latest); newest last."""

    __tablename__ = "annotation_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    annotation_id: Mapped[int] = mapped_column(ForeignKey("annotations.id", ondelete="CASCADE"), index=True,
                                               nullable=False)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    lead_time_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    schema_version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)  # when it was replaced


class Skill(Base):
    """One annotator's estimated accuracy in one subtree of a project's taxonomy (`label`, "" for the whole
    project), as tasks.skills last computed it from gold answers and agreement with the consensus."""

    __tablename__ = "skills"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(String(200), primary_key=True)
    answers: Mapped[int] = mapped_column(Integer, nullable=False)  # the evidence: answers with a known reference
    accuracy: Mapped[float] = mapped_column(Float, nullable=False)  # the Beta posterior's mean
    low: Mapped[float] = mapped_column(Float, nullable=False)  # its 95% equal-tailed interval
    high: Mapped[float] = mapped_column(Float, nullable=False)
    last_evidence_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)


class SkillSet(Base):
    """When a project's skills were computed, and from which answers (fresh while they are the answers now)."""

    __tablename__ = "skill_sets"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    annotations: Mapped[int] = mapped_column(Integer, nullable=False)
    last_annotation_id: Mapped[int] = mapped_column(Integer, nullable=False)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)


class Release(Base):
    """A named, immutable dataset release: a completed export frozen with its file, SHA-256, dataset card and
    licence, and the contribution shares computed when it was made (incentives.contributions)."""

    __tablename__ = "releases"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True, nullable=False)
    export_id: Mapped[int] = mapped_column(ForeignKey("exports.id", ondelete="RESTRICT"), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    licence: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    terms_version: Mapped[int] = mapped_column(Integer, nullable=False)  # 0: the platform's default terms
    card: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    share_scale: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)


class ReleaseShare(Base):
    """One contributor's share of a release, in parts of its share_scale (0 with the reason when left out)."""

    __tablename__ = "release_shares"

    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    share: Mapped[int] = mapped_column(BigInteger, nullable=False)
    weight: Mapped[float] = mapped_column(Float, nullable=False)  # the contribution it was computed from
    answers: Mapped[int] = mapped_column(Integer, nullable=False)  # answers that made the dataset
    fixes: Mapped[int] = mapped_column(Integer, nullable=False)  # reviewers' fixes
    terms_version: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the terms it was made under
    reason: Mapped[str | None] = mapped_column(String(40), nullable=True)  # why a contributor's share is 0


class TermsAcceptance(Base):
    """A contributor's acceptance of a version of a project's revenue-sharing terms."""

    __tablename__ = "terms_acceptances"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    accepted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
