"""An annotator that loops next -> submit until nothing is left; used by the concurrency tests.

Lives in its own module so separate processes (spawned) can import it.
"""
from __future__ import annotations

import threading

from annotator.app import create_app


def annotate_until_done(client, project_id: int, headers: dict) -> dict:
    leases, submits, finished = [], [], False
    for _ in range(1000):
        response = client.post(f"/api/v1/projects/{project_id}/next", headers=headers)
        if response.status_code == 204:
            finished = True
            break
        assert response.status_code == 200, response.get_data()
        lease = response.get_json()
        leases.append((lease["assignment"]["id"], lease["task"]["id"]))
        done = client.post(f"/api/v1/assignments/{lease['assignment']['id']}/annotation",
                           json={"result": {"labels": ["positive"]}}, headers=headers)
        submits.append(done.status_code)
    return {"leases": leases, "submits": submits, "finished": finished}


def run_threads(app, project_id: int, tokens: list[str]) -> list[dict]:
    results: list[dict] = [{} for _ in tokens]
    barrier = threading.Barrier(len(tokens))

    def work(index: int) -> None:
        barrier.wait()
        results[index] = annotate_until_done(app.test_client(), project_id,
                                             {"Authorization": f"Bearer {tokens[index]}"})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return results


def process_main(config: dict, project_id: int, tokens: list[str]) -> list[dict]:
    """In a separate process: its own app, engine and connections, several threads."""
    return run_threads(create_app(config), project_id, tokens)
