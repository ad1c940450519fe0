"""The demo seed: an owner, three annotators, a small image project and a small text project.

The images are drawn here (a sky, a branch, a bird-like shape), so the demo needs
no downloads. Running the seed again changes nothing.
"""
from __future__ import annotations

import dataclasses
import io
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw
from sqlalchemy import select
from sqlalchemy.orm import Session

from annotator import audit
from annotator.db import utcnow
from annotator.users import service
from annotator.users.models import User
from annotator.users.passwords import Passwords
from annotator.workflows import moderation
from incentives import budgets, ledger, payments
from tasks import annotations, answer_import, assignment, importing, projects, skills
from tasks.image_import import StoredImage, insert_media
from tasks.media import process_image
from tasks.models import Annotation, Project
from tasks.storage import Storage, media_key, thumbnail_key

PASSWORD = "demo-password"
IMAGE_PROJECT = "云南鸟类 Birds of Yunnan (demo)"
TEXT_PROJECT = "观鸟记录 Birding notes (demo)"
CROWD_PROJECT = "外部众包 Outside crowd (demo)"  # answers imported from another tool: analysed, never paid
EXPERT_PROJECT = "识鸟专家 Field experts (demo)"  # skill routing and expert tiers (issue 22)

# English names with Chinese ones beside them (the Chinese UI shows those) and scientific names as aliases:
# search finds a bird by any of them in either language, e.g. 黄林莺 or "Setophaga" in the English UI.
TAXONOMY = [
    {"id": "bird", "name": "Bird", "names": {"zh": "鸟类"}, "aliases": ["Aves"], "children": [
        {"id": "warbler", "name": "Warbler", "names": {"zh": "莺"}, "aliases": ["songbird"], "children": [
            {"id": "yellow_warbler", "name": "Yellow Warbler", "names": {"zh": "黄林莺"},
             "aliases": ["Setophaga petechia"]},
            {"id": "willow_warbler", "name": "Willow Warbler", "names": {"zh": "欧柳莺"},
             "aliases": ["Phylloscopus trochilus"]}]},
        {"id": "sparrow", "name": "Sparrow", "names": {"zh": "麻雀"}, "aliases": ["Passer"], "children": [
            {"id": "tree_sparrow", "name": "Tree Sparrow", "names": {"zh": "树麻雀"},
             "aliases": ["Passer montanus", "Eurasian tree sparrow"]}]},
        {"id": "kingfisher", "name": "Kingfisher", "names": {"zh": "翠鸟"},
         "aliases": ["Alcedo atthis", "Common kingfisher"]}]}]

# What the demo annotators answered, so the owner sees agreement and consensus from the start: Alice
# names species, 王博 prefers the genus when unsure and once disagrees. In the text project Carmen has
# answered nothing yet; in the image project all three have boxed the birds of most images, and Carmen
# gives every third box another species (CARMEN_MISNAMES) while naming the whole image right: her object
# reliability and her bonus show it.
NOTE_TRUTH = ["yellow_warbler", "tree_sparrow", "tree_sparrow", "willow_warbler", "kingfisher", "sparrow"]
BO_SAYS = {"yellow_warbler": "warbler", "willow_warbler": "warbler", "sparrow": "tree_sparrow"}
IMAGE_TRUTH = ["yellow_warbler", "tree_sparrow", "kingfisher", "willow_warbler"]
SEEDED_ANSWERS = 4  # per annotator in the text project
IMAGES = 12
IMAGE_OVERLAP = 3
IMAGE_ANSWERS = 9  # per annotator in the image project: three images are left for you to label
CARMEN_MISNAMES = {"yellow_warbler": "tree_sparrow", "tree_sparrow": "yellow_warbler", "kingfisher": "willow_warbler",
                   "willow_warbler": "kingfisher"}
DEMO_BUDGET = 100_000  # minor units (1,000.00 CNY) deposited into each demo project by its owner

NOTES = [
    "清晨在翠湖边看到一只黄林莺，在柳树上跳来跳去。",
    "A tree sparrow was bathing in the puddle by the gate.",
    "两只树麻雀在屋檐下筑巢。",
    "Heard a willow warbler singing near the stream, could not see it.",
    "翠鸟从水面掠过，叼起一条小鱼。",
    "Flock of sparrows on the wires, maybe thirty birds.",
]


# The experts' project: warblers and raptors a generalist confuses within. Alice knows her warblers (and 7 of 10
# raptors), 王博 knows raptors and swaps the two leaf warblers, Carmen is right throughout: the consensus is the
# truth, Alice is proven in warblers and holds tier 1. Then 王博 and Carmen answer EXPERT_LATER new sightings,
# splitting on two warblers: skill routing hands those to Alice first, and she is paid at her tier.
EXPERT_TAXONOMY = [
    {"id": "warbler", "name": "Warbler", "names": {"zh": "莺"}, "children": [
        {"id": "willow_warbler", "name": "Willow Warbler", "names": {"zh": "欧柳莺"}},
        {"id": "chiffchaff", "name": "Chiffchaff", "names": {"zh": "叽喳柳莺"}}]},
    {"id": "raptor", "name": "Raptor", "names": {"zh": "猛禽"}, "children": [
        {"id": "kestrel", "name": "Kestrel", "names": {"zh": "红隼"}},
        {"id": "buzzard", "name": "Buzzard", "names": {"zh": "普通鵟"}}]}]
EXPERT_TRUTH = [("willow_warbler", "chiffchaff")[n % 2] for n in range(10)] + [("kestrel", "buzzard")[n % 2]
                                                                                for n in range(10)]
SWAP = {"willow_warbler": "chiffchaff", "chiffchaff": "willow_warbler", "kestrel": "buzzard", "buzzard": "kestrel"}
# Later sightings: (truth, what 王博 says, what Carmen says); the first two split.
EXPERT_LATER = [("willow_warbler", "chiffchaff", "willow_warbler"), ("chiffchaff", "willow_warbler", "chiffchaff"),
                ("willow_warbler", "willow_warbler", "willow_warbler"), ("kestrel", "kestrel", "kestrel")]
EXPERT_TIERS = [{"min_accuracy": 0.8, "min_answers": 10, "multiplier": 1.5},
                {"min_accuracy": 0.95, "min_answers": 50, "multiplier": 2.0}]


@dataclass(frozen=True)
class DemoUser:
    email: str
    display_name: str
    locale: str
    admin: bool = False


OWNER = DemoUser("owner@demo.local", "Demo Owner", "en")
ANNOTATORS = (DemoUser("alice@demo.local", "Alice (annotator)", "en"),
              DemoUser("bo@demo.local", "王博 (annotator)", "zh-CN"),
              DemoUser("carmen@demo.local", "Carmen (annotator)", "en"))
# Reviews the birding notes' review queue (issue 23): fixes, rejections the annotators may appeal.
REVIEWER = DemoUser("rui@demo.local", "Rui 芮 (reviewer)", "en")
# Boxes the image project's last images with nonsense; the owner rejected every answer, so a dataset release of the
# project (issue 24) lists the account with a share of 0.
SPAMMER = DemoUser("spam@demo.local", "Sam Spam (annotator)", "en")
ADMIN = DemoUser("admin@demo.local", "Demo Admin", "en", admin=True)  # confirms deposits, decides payouts
EVERYONE = (OWNER, *ANNOTATORS, REVIEWER, SPAMMER, ADMIN)
# The birding notes' review policy: every completed note is reviewed, a review pays 0.05 CNY, a rejection may be
# appealed for a week (the owner decides appeals: not the reviewer who rejected).
REVIEW_POLICY = {"sample_rate": 1.0, "appeal_days": 7, "reviewer_pay": 5}
PENDING_DEPOSIT = 50_000  # a second deposit into the text project, waiting for the demo admin to confirm
INVITED = "dana@demo.local"  # invited to review the image project; no account yet: signing up with it joins


def seed(session: Session, passwords: Passwords, storage: Storage) -> list[User]:
    """Create whatever part of the demo is missing; flushes, the caller commits."""
    users = [_user(session, passwords, demo) for demo in EVERYONE]
    owner, annotators, reviewer = users[0], users[1:1 + len(ANNOTATORS)], users[EVERYONE.index(REVIEWER)]
    if not _owned(session, owner, IMAGE_PROJECT):
        _image_project(session, storage, owner, annotators)
        _spam(session, owner, users[EVERYONE.index(SPAMMER)])
    if not _owned(session, owner, TEXT_PROJECT):
        _text_project(session, owner, annotators)
        text = session.scalar(select(Project).where(Project.owner_id == owner.id, Project.name == TEXT_PROJECT))
        waiting = budgets.request_deposit(session, text, owner, PENDING_DEPOSIT, "demo-pending", utcnow())
        _audited(session, owner, "budget_deposit", waiting)
    _review_queue(session, owner, reviewer)
    if not _owned(session, owner, CROWD_PROJECT):
        _crowd_project(session, owner)
    if not _owned(session, owner, EXPERT_PROJECT):
        _expert_project(session, owner, annotators)
    session.flush()
    return users


def is_seeded(session: Session) -> bool:
    return session.scalar(select(User.id).where(User.email == OWNER.email)) is not None


def logins() -> str:
    return "\n".join(f"  {d.email:<22} {PASSWORD}   {d.display_name}" for d in EVERYONE)


def _user(session: Session, passwords: Passwords, demo: DemoUser) -> User:
    user = session.scalar(select(User).where(User.email == demo.email))
    return user or service.register(session, passwords, email=demo.email, password=PASSWORD,
                                    display_name=demo.display_name, locale=demo.locale, is_admin=demo.admin)


def _owned(session: Session, owner: User, name: str) -> bool:
    return session.scalar(select(Project.id).where(Project.owner_id == owner.id, Project.name == name)) is not None


def _settings(name: str, media_type: str, tools: list[str], *, overlap: int = 2, **extra) -> dict:
    return {"name": name, "description": "A demo project seeded by `annotator demo`.",
            "instructions": "Label every bird. If you are unsure of the species, choose the genus (e.g. *Warbler*).",
            "media_type": media_type, "label_schema": {"tools": tools, "labels": TAXONOMY, **extra},
            "overlap": overlap, "aggregation": "dawid_skene", "gold_ratio": 0.0, "lease_seconds": 600,
            "visibility": "public", "rewards": {"per_annotation": 50, "agreement_bonus": 20}}


def _image_project(session: Session, storage: Storage, owner: User, annotators: list[User]) -> None:
    attributes = [{"name": "occluded", "type": "boolean"},
                  {"name": "pose", "type": "choice", "options": ["perched", "flying"]}]
    project = projects.create_project(session, owner, _settings(IMAGE_PROJECT, "image", ["bbox", "classify"],
                                                                attributes=attributes, overlap=IMAGE_OVERLAP),
                                      utcnow())
    _created(session, owner, project)
    _members(session, project, annotators)
    projects.invite(session, project, owner, INVITED, "reviewer", utcnow())
    shas, birds = _store_demo_images(session, storage, count=IMAGES)
    rows = [{"data": {"image": f"/media/{sha}", "name": f"demo-{n + 1}.jpg"}} for n, sha in enumerate(shas)]
    prepared = importing.prepare(session, project, rows, uploaded=frozenset(shas))
    importing.insert_tasks(session, project, prepared, utcnow())
    names = {f"demo-{n + 1}.jpg": IMAGE_TRUTH[n % len(IMAGE_TRUTH)] for n in range(len(shas))}
    boxes = {f"demo-{n + 1}.jpg": birds[n] for n in range(len(shas))}
    carmen_boxes = [0]

    def boxed(data: dict, label: str, who: int) -> dict:
        """The whole image's label and a box around each bird drawn (each annotator's a few pixels off);
        Carmen names every third box she draws another species."""
        objects = []
        for x, y, w, h in boxes[data["name"]]:
            named = label
            if who == 2:
                carmen_boxes[0] += 1
                if carmen_boxes[0] % 3 == 0:
                    named = CARMEN_MISNAMES[label]
            nudge = who * 3
            objects.append({"tool": "bbox", "label": named, "bbox": [x + nudge, y + nudge, w - nudge, h]})
        return {"labels": [label], "objects": objects}

    _answer(session, project, annotators, lambda data: names[data["name"]], boxed, answers=IMAGE_ANSWERS)


def _text_project(session: Session, owner: User, annotators: list[User]) -> None:
    project = projects.create_project(session, owner, _settings(TEXT_PROJECT, "text", ["classify", "span"]), utcnow())
    _created(session, owner, project)
    _members(session, project, annotators)
    rows = [{"data": {"text": note}} for note in NOTES]
    importing.insert_tasks(session, project, importing.prepare(session, project, rows), utcnow())
    _answer(session, project, annotators[:2], lambda data: NOTE_TRUTH[NOTES.index(data["text"])])


def _spam(session: Session, owner: User, spammer: User) -> None:
    """The spammer labels the images left with one box in a corner and the wrong species; the owner rejects each
    answer (what they were credited is taken back, and the images wait for real answers again)."""
    project = session.scalar(select(Project).where(Project.owner_id == owner.id, Project.name == IMAGE_PROJECT))
    _labelled_by(session, project, spammer, lambda data: {
        "labels": ["kingfisher"], "objects": [{"tool": "bbox", "label": "kingfisher", "bbox": [0, 0, 8, 8]}]}, 3)
    ledger.apply_late(session)  # the credits' balances, as a commit would move them, before taking them back
    for (answer_id,) in session.execute(select(Annotation.id).where(Annotation.project_id == project.id,
                                                                    Annotation.user_id == spammer.id)):
        done = moderation.review(session, answer_id, owner, "reject", "a box in the corner on every image", utcnow())
        audit.record(session, owner.id, "answer_reviewed", utcnow(), project_id=project.id, target="annotation",
                     target_id=answer_id, verdict=done.review.verdict, taken_back=done.taken_back)


def _review_queue(session: Session, owner: User, reviewer: User) -> None:
    """The birding notes get a review policy and a reviewer (also on a demo seeded before review existed)."""
    text = session.scalar(select(Project).where(Project.owner_id == owner.id, Project.name == TEXT_PROJECT))
    if text is None or text.review is not None:
        return
    text.review = dict(REVIEW_POLICY)
    projects.set_member(session, text, reviewer.email, "reviewer")
    audit.record(session, owner.id, "project_settings_changed", utcnow(), project_id=text.id, target="project",
                 target_id=text.id, fields=["review"])


def _crowd_project(session: Session, owner: User) -> None:
    """A batch labelled elsewhere (a CSV of external_id,annotator,label), imported to see what it is worth: two
    careful workers, one who mixes the sparrows up, one who says "warbler" to everything. Its answers are
    inferred by Dawid-Skene with a crowd prior, the method for a crowd nobody has vetted."""
    settings = {**_settings(CROWD_PROJECT, "text", ["classify"]), "overlap": 4, "aggregation": "dawid_skene_prior",
                "rewards": {"per_annotation": 0, "agreement_bonus": 0}}
    project = projects.create_project(session, owner, settings, utcnow())
    _created(session, owner, project)
    mixes = {"tree_sparrow": "sparrow", "sparrow": "tree_sparrow"}
    lines = ["external_id,annotator,label"]
    for n, truth in enumerate(NOTE_TRUTH):
        lines += [f"note-{n + 1},mturk-A17,{truth}", f"note-{n + 1},mturk-B03,{truth}",
                  f"note-{n + 1},mturk-C88,{mixes.get(truth, truth)}", f"note-{n + 1},mturk-Z99,warbler"]
    parsed = answer_import.parse(("\n".join(lines) + "\n").encode(), "text/csv", projects.current_schema(project))
    parsed = [dataclasses.replace(row, data={"text": NOTES[int(row.external_id.split("-")[1]) - 1]})
              for row in parsed]  # the items themselves, so the tasks it creates show their text
    summary = answer_import.import_answers(session, project, parsed, create_tasks=True, now=utcnow())
    audit.record(session, owner.id, "answers_imported", utcnow(), project_id=project.id, created=summary.created,
                 duplicates=0, tasks_created=summary.tasks_created, annotators=summary.annotators)


def _answer(session: Session, project: Project, annotators: list[User], truth, shape=None, *,
            answers: int = SEEDED_ANSWERS) -> None:
    """The owner funds the project; each annotator takes SEEDED_ANSWERS tasks the way the API hands them out
    and answers them, paid as the API pays (so wallets show pending and available money with reasons)."""
    _fund(session, project)
    for user in annotators:
        def says(data: dict, label: str, user: User = user) -> dict:
            if user.email == ANNOTATORS[1].email:
                label = BO_SAYS.get(label, label)
            return shape(data, label, annotators.index(user)) if shape else {"labels": [label]}

        _labelled_by(session, project, user, lambda data: says(data, truth(data)), answers)


def _fund(session: Session, project: Project) -> None:
    """The owner deposits the demo's budget and the demo admin confirms it, as the API would."""
    session.flush()
    owner = session.get(User, project.owner_id)
    asked = budgets.request_deposit(session, project, owner, DEMO_BUDGET, f"demo-seed-{project.id}", utcnow())
    admin = session.scalar(select(User).where(User.email == ADMIN.email))
    budgets.decide_deposit(session, asked.id, admin, True, utcnow(), "the demo's opening budget")
    _audited(session, owner, "budget_deposit", asked)
    _audited(session, admin, "deposit_confirmed", asked)


def _labelled_by(session: Session, project: Project, user: User, result_for, answers: int) -> None:
    """`user` takes up to `answers` tasks as the API hands them out and answers each with result_for(data), paid as
    the API pays."""
    for _ in range(answers):
        lease = assignment.next_task(session, project, user, utcnow())
        if lease is None:
            break
        payments.reserve(session, project, lease.assignment_id, utcnow())
        held, _ = annotations.held_for_submit(session, lease.assignment_id)
        saved = annotations.submit(session, project, held, user, result_for(lease.data), 4000, utcnow())
        payments.pay_for_answer(session, project, user, saved.id, saved.assignment_id, saved.task_id, utcnow(),
                                counted=saved.counted, completes=saved.completed or saved.gold)


def _expert_project(session: Session, owner: User, annotators: list[User]) -> None:
    """Skill routing and expert tiers (EXPERT_TAXONOMY's comment says who knows what); skills kept at the end."""
    settings = _settings(EXPERT_PROJECT, "text", ["classify"], overlap=3)
    settings["label_schema"]["labels"] = EXPERT_TAXONOMY
    project = projects.create_project(session, owner, {
        **settings, "routing": "skill", "aggregation": "majority",
        "instructions": "Name the species. Proven experts get the sightings others disagree on first.",
        "rewards": {**settings["rewards"], "tiers": EXPERT_TIERS}}, utcnow())
    _created(session, owner, project)
    _members(session, project, annotators)
    sightings = [{"data": {"text": f"Sighting {n + 1}: {truth.replace('_', ' ')}"}} for n, truth in
                 enumerate(EXPERT_TRUTH)]
    importing.insert_tasks(session, project, importing.prepare(session, project, sightings), utcnow())
    _fund(session, project)
    truth_of = {row["data"]["text"]: truth for row, truth in zip(sightings, EXPERT_TRUTH)}
    alice, bo, carmen = annotators
    raptors_missed = {text for text, truth in truth_of.items() if truth in ("kestrel", "buzzard")}
    raptors_missed = set(sorted(raptors_missed)[:3])  # Alice gets 7 of 10 raptors right
    rules = {alice: lambda text: SWAP[truth_of[text]] if text in raptors_missed else truth_of[text],
             bo: lambda text: SWAP[truth_of[text]] if truth_of[text] in ("willow_warbler", "chiffchaff")
             else truth_of[text],
             carmen: lambda text: truth_of[text]}
    for user, rule in rules.items():
        _labelled_by(session, project, user, lambda data, rule=rule: {"labels": [rule(data["text"])]},
                     len(EXPERT_TRUTH))
    later = [{"data": {"text": f"Later sighting {n + 1}"}} for n in range(len(EXPERT_LATER))]
    importing.insert_tasks(session, project, importing.prepare(session, project, later), utcnow())
    said = {row["data"]["text"]: answers for row, answers in zip(later, EXPERT_LATER)}
    _labelled_by(session, project, bo, lambda data: {"labels": [said[data["text"]][1]]}, len(EXPERT_LATER))
    _labelled_by(session, project, carmen, lambda data: {"labels": [said[data["text"]][2]]}, len(EXPERT_LATER))
    session.flush()
    skills.refresh(session, project, utcnow())  # as the minutely refresh would: routing and tiers read them


def _created(session: Session, owner: User, project: Project) -> None:
    session.flush()
    audit.record(session, owner.id, "project_created", utcnow(), project_id=project.id, target="project",
                 target_id=project.id, name=project.name)


def _audited(session: Session, actor: User, action: str, deposit) -> None:
    """The audit line the API writes for a deposit asked or confirmed, so the Admin page's log starts with them."""
    audit.record(session, actor.id, action, utcnow(), project_id=deposit.project_id, target="deposit",
                 target_id=deposit.id, amount=deposit.amount)


def _members(session: Session, project: Project, annotators: list[User]) -> None:
    for user in annotators:
        projects.set_member(session, project, user.email, "annotator")


def _store_demo_images(session: Session, storage: Storage, count: int) -> tuple[list[str], list[list]]:
    """The demo's pictures, stored; their sha256s and the boxes around the birds in each."""
    stored, birds = [], []
    for n in range(count):
        picture, boxes = _draw(random.Random(n))
        birds.append(boxes)
        image = process_image(picture)
        storage.put(media_key(image.sha256), image.data)
        storage.put(thumbnail_key(image.sha256), image.thumbnail)
        stored.append(StoredImage.of(image, f"demo-{n + 1}.jpg"))
    insert_media(session, stored, utcnow())
    return [image.sha256 for image in stored], birds


def _draw(rng: random.Random) -> tuple[bytes, list[list[int]]]:
    """A 640x480 scene: sky, a branch, and one or two bird-like shapes; the JPEG and each bird's [x, y, w, h]."""
    boxes = []
    image = Image.new("RGB", (640, 480), (rng.randint(120, 170), rng.randint(180, 210), 235))
    draw = ImageDraw.Draw(image)
    draw.line([(0, rng.randint(300, 380)), (640, rng.randint(280, 400))], fill=(92, 64, 40), width=14)
    for _ in range(rng.randint(1, 2)):
        x, y = rng.randint(60, 520), rng.randint(120, 300)
        body = rng.choice([(230, 200, 40), (150, 120, 90), (40, 140, 200)])
        draw.ellipse([x, y, x + 90, y + 55], fill=body)
        draw.ellipse([x + 65, y - 25, x + 105, y + 15], fill=body)
        draw.polygon([(x + 103, y - 8), (x + 125, y - 2), (x + 103, y + 4)], fill=(60, 50, 40))
        draw.ellipse([x + 86, y - 14, x + 94, y - 6], fill=(10, 10, 10))
        boxes.append([x, y - 25, 125, 80])
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue(), boxes
