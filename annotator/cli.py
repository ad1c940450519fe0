"""annotator run | worker | db | create-user | demo | simulate."""
from __future__ import annotations

import logging
import os
import secrets
import shutil
import sys
import time
from pathlib import Path

import click
import redis
from flask.cli import FlaskGroup, with_appcontext
from flask import current_app
from rq import Worker

from annotator import config as cfg
from annotator import demo, migrate, queue
from annotator.app import create_app
from incentives import checks
from annotator.errors import DomainError
from annotator.users import service
from annotator.web import db_session
from annotator.runtime import embedded_redis_url, runtime, stop_embedded
from annotator.supervisor import Child, supervise


@click.group(cls=FlaskGroup, create_app=create_app, add_default_commands=False, add_version_option=False,
             load_dotenv=False)
def main() -> None:
    """The annotation platform."""


@main.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    migrate.upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


@db.command("check")
@with_appcontext
def db_check() -> None:
    """Exit non-zero when the models and the database schema differ."""
    differences = migrate.drift(runtime().engine)
    for difference in differences:
        click.echo(f"drift: {difference}", err=True)
    if differences:
        raise SystemExit(1)
    click.echo("models and database agree")


@main.group()
def ledger() -> None:
    """The incentive ledger."""


@ledger.command("verify")
@with_appcontext
def ledger_verify() -> None:
    """Check every ledger invariant; exit non-zero naming each breach."""
    with runtime().session_factory() as session:
        breaches = checks.verify_all(session)
    for breach in breaches:
        click.echo(f"breach: {breach}", err=True)
    if breaches:
        raise SystemExit(1)
    click.echo("the ledger balances: every transaction sums to zero and every balance equals its entries")


@main.command("create-user")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--display-name", default=None, help="Defaults to the part of the email before @.")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
@with_appcontext
def create_user(email: str, password: str, display_name: str | None, admin: bool) -> None:
    """Create an account (an administrator with --admin)."""
    session = db_session()
    try:
        user = service.register(
            session, runtime().passwords, email=email, password=password,
            display_name=display_name or email.split("@")[0], is_admin=admin)
    except DomainError as error:
        raise click.ClickException(error.detail) from None
    session.commit()
    click.echo(f"created user {user.id} <{user.email}>{' (admin)' if admin else ''}")


@main.command("demo")
@with_appcontext
def demo_cmd() -> None:
    """Seed the demo users and projects (safe to run again)."""
    session = db_session()
    demo.seed(session, runtime().passwords, runtime().storage)
    session.commit()
    click.echo("demo data ready; sign in with:\n" + demo.logins())


@main.command("simulate", with_appcontext=False)
@click.option("--crowd", "crowd_spec", default=None,
              help="Agents per strategy, e.g. expert=14,spammer=6 (strategies: expert, novice, spammer, constant, "
                   "colluders, gold_sniffer, copycat).")
@click.option("--standard", default=None, help="One of the study's standard crowds by name, e.g. '30% spammers'.")
@click.option("--tasks", default=2000, show_default=True, type=int)
@click.option("--overlap", default=3, show_default=True, type=int)
@click.option("--gold-ratio", default=0.1, show_default=True, type=float)
@click.option("--seed", default=0, show_default=True, type=int)
def simulate_cmd(crowd_spec: str | None, standard: str | None, tasks: int, overlap: int, gold_ratio: float,
                 seed: int) -> None:
    """Run a simulated crowd and price its answers under every reward mechanism (no money moves)."""
    from incentives import simulate

    if standard is not None:
        if standard not in simulate.STANDARD_CROWDS:
            raise click.BadParameter(f"one of: {', '.join(simulate.STANDARD_CROWDS)}", param_hint="--standard")
        counts = simulate.STANDARD_CROWDS[standard]
    else:
        counts = {}
        for part in (crowd_spec or "expert=14,spammer=6").split(","):
            name, _, number = part.partition("=")
            if not number.strip().isdigit():
                raise click.BadParameter(f"{part!r} is not strategy=number", param_hint="--crowd")
            counts[name.strip()] = int(number)
    try:
        result = simulate.study(counts, tasks, overlap, gold_ratio, seed=seed)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    click.echo(simulate.table(result))


@main.command("worker")
@click.option("--burst", is_flag=True, help="Exit once the queues are empty.")
@click.option("--queue", "queue_names", multiple=True, help="Queues to listen on (default: all).")
@with_appcontext
def worker(burst: bool, queue_names: tuple[str, ...]) -> None:
    """Run an RQ worker with the app's configuration."""
    rt = runtime()
    # The work horse is a fork: it must not share the parent's database connections.
    os.register_at_fork(after_in_child=lambda: rt.engine.dispose(close=False))
    queues = [queue.get_queue(rt.redis, name) for name in queue_names or queue.QUEUE_NAMES]
    _until_done(lambda: Worker(queues, connection=rt.redis).work(burst=burst, with_scheduler=not burst), "worker")


@main.command("cron")
@with_appcontext
def cron() -> None:
    """Enqueue the periodic jobs (lease reaper, ...) on their schedule; run one per deployment."""
    connection = runtime().redis
    _until_done(lambda: queue.cron_scheduler(connection).start(), "scheduler")


def _until_done(work, name: str) -> None:
    """Run `work`; while Redis is away, wait for it (1 s doubling to 30 s) and start again instead of exiting."""
    pause = 1.0
    while True:
        try:
            work()
            return
        except (redis.ConnectionError, redis.TimeoutError) as error:
            click.echo(f"{name}: Redis is not answering ({error}); trying again in {pause:.0f} s", err=True)
            time.sleep(pause)
            pause = min(pause * 2, 30.0)


def _instance_secret(instance: Path) -> None:
    path = instance / "secret_key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))


@main.command("run", with_appcontext=False)
@click.option("--host", envvar="HOST", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="PORT", default=5000, show_default=True, type=int)
@click.option("--web-workers", default=2, show_default=True, type=int)
@click.option("--workers", "job_workers", default=1, show_default=True, type=int, help="RQ worker processes.")
@click.option("--demo", "with_demo", is_flag=True, help="Seed the demo data first (as `annotator demo`).")
def run(host: str, port: int, web_workers: int, job_workers: int, with_demo: bool) -> None:
    """Run the web server, RQ workers and (without REDIS_URL) an embedded Redis; Ctrl+C stops all."""
    instance = Path(cfg.instance_path(os.environ))
    instance.mkdir(parents=True, exist_ok=True)
    os.environ["ANNOTATOR_INSTANCE_PATH"] = str(instance)
    if not (os.environ.get("ANNOTATOR_SECRET_KEY") or os.environ.get("SECRET_KEY")):
        _instance_secret(instance)  # create_app reads it from the instance folder
    embedded = not os.environ.get("REDIS_URL")
    if embedded:
        os.environ["REDIS_URL"] = embedded_redis_url(instance)
        click.echo(f"embedded Redis at {os.environ['REDIS_URL']}")
    app = create_app()
    migrate.upgrade(app.config["DATABASE_URL"])
    with app.app_context():
        if with_demo:
            demo.seed(db_session(), runtime().passwords, runtime().storage)
            db_session().commit()
        seeded = demo.is_seeded(db_session())
    bin_dir = Path(sys.executable).parent
    gunicorn = shutil.which("gunicorn", path=str(bin_dir)) or "gunicorn"
    children = [Child("web server", [gunicorn, "--workers", str(web_workers), "--threads", "4",
                                     "--bind", f"{host}:{port}", "--access-logfile", "-",
                                     "annotator.app:create_app()"])]
    children += [Child(f"worker {n + 1}", [sys.executable, "-m", "annotator.cli", "worker"])
                 for n in range(job_workers)]
    children.append(Child("scheduler", [sys.executable, "-m", "annotator.cli", "cron"]))
    click.echo(f"\n  Annotator is running at http://{host}:{port}/  (Ctrl+C stops it)")
    click.echo(f"  API documentation: http://{host}:{port}/api/docs")
    if seeded:
        click.echo("  Demo logins:\n" + demo.logins())
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] [supervisor] %(message)s")
    keep_alive = (lambda: embedded_redis_url(instance)) if embedded else (lambda: None)
    try:
        supervise(children, keep_alive)
    finally:
        stop_embedded()


if __name__ == "__main__":
    main()
