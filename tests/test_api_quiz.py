"""The quiz endpoints through the real app: tasks, answers, statistics, limits, drawings."""

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.settings import Settings
from app.web.main import create_app
from app.web.quiz_tasks import make_task


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path, quiz_answers_per_minute=600))) as c:
        yield c


def new_task(client, ways=5):
    response = client.get(f"/api/quiz/task?ways={ways}")
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("ways", [5, 20])
def test_task_has_a_query_and_n_distinct_candidates(client, ways):
    task = new_task(client, ways)
    assert task["ways"] == ways and len(task["choices"]) == ways
    characters = [url.split("/")[-2] for url in task["choices"]]
    assert len(set(characters)) == ways
    query_character = task["query"].split("/")[-2]
    assert characters.count(query_character) == 1
    assert task["query"] not in task["choices"]  # a different drawing of the same character
    image = Image.open(io.BytesIO(client.get(task["query"]).content))
    assert image.size == (105, 105)


def test_answers_are_scored_and_counted(client):
    data = client.app.state.omniglot.get()
    tasks = [new_task(client) for _ in range(4)]
    right = make_task(data, tasks[0]["task"]).answer
    assert client.post(
        "/api/quiz/answer", json={"task": tasks[0]["task"], "choice": right, "ms": 2500}
    ).json() == {"correct": True, "answer": right}
    wrong = (make_task(data, tasks[1]["task"]).answer + 1) % 5
    result = client.post(
        "/api/quiz/answer", json={"task": tasks[1]["task"], "choice": wrong, "ms": 4000}
    ).json()
    assert result["correct"] is False and result["answer"] == (wrong - 1) % 5
    stats = client.get("/api/quiz/stats").json()
    assert stats["5"]["answers"] == 2 and stats["5"]["accuracy"] == 0.5
    low, high = stats["5"]["interval"]
    assert 0 < low < 0.5 < high < 1
    assert stats["20"] == {"answers": 0, "accuracy": None, "interval": None}


def test_the_same_task_cannot_be_answered_twice(client):
    task = new_task(client)["task"]
    assert (
        client.post("/api/quiz/answer", json={"task": task, "choice": 0, "ms": 900}).status_code
        == 200
    )
    again = client.post("/api/quiz/answer", json={"task": task, "choice": 1, "ms": 900})
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"task": "ISSUED", "choice": 0, "ms": 10}, "ms"),  # faster than a person can answer
        ({"task": "ISSUED", "choice": 0, "ms": 10**8}, "ms"),
        ({"task": "7-1", "choice": 0, "ms": 900}, "task"),
        ({"task": "5-1; DROP TABLE answers", "choice": 0, "ms": 900}, "task"),
        ({"task": "ISSUED", "choice": 5, "ms": 900}, "choice"),  # only 5 candidates
        ({"task": "ISSUED", "choice": -1, "ms": 900}, "choice"),
        ({"task": "ISSUED", "ms": 900}, "choice"),
        ({"task": "ISSUED", "choice": 0, "ms": 900, "user": "x"}, "user"),
        ({"task": "ISSUED", "choice": True, "ms": 900}, "choice"),  # not an integer
        ({"task": "ISSUED", "choice": 1.0, "ms": 900}, "choice"),
        ({"task": "ISSUED", "choice": "1", "ms": 900}, "choice"),
        ({"task": "ISSUED", "choice": 0, "ms": True}, "ms"),
    ],
)
def test_malformed_or_implausible_answers_are_rejected(client, body, field):
    if body.get("task") == "ISSUED":
        body = dict(body, task=new_task(client)["task"])
    response = client.post("/api/quiz/answer", json=body)
    assert response.status_code == 422
    body = response.json()
    assert (body.get("message") or body["detail"]).startswith(field)


def test_bad_ways_is_rejected(client):
    assert client.get("/api/quiz/task?ways=7").status_code == 422


def test_answers_are_rate_limited_per_client(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path, quiz_answers_per_minute=8))) as c:
        tasks = [new_task(c)["task"] for _ in range(6)]
        codes = [
            c.post("/api/quiz/answer", json={"task": task, "choice": 0, "ms": 900})
            for task in tasks
        ]
    assert [r.status_code for r in codes[:2]] == [200, 200]
    limited = [r for r in codes if r.status_code == 429]
    assert limited and int(limited[0].headers["retry-after"]) >= 1


@pytest.mark.parametrize(
    "path",
    [
        "/api/omniglot/drawings/../../etc/passwd",
        "/api/omniglot/drawings/1/20.png",
        "/api/omniglot/drawings/-1/0.png",
        "/api/omniglot/drawings/99999/0.png",
        "/api/omniglot/drawings/1/%2e%2e%2fsecret.png",
        "/api/omniglot/drawings/a/b.png",
    ],
)
def test_drawings_cannot_read_other_files(client, path):
    response = client.get(path)
    assert response.status_code in (404, 422)
    assert response.headers["content-type"] != "image/png"


def test_missing_omniglot_gives_a_clear_503(tmp_path):
    settings = Settings(
        data_dir=tmp_path,
        cache_dir=tmp_path,
        omniglot_dir=tmp_path / "nothing",
        omniglot_download=False,
    )
    with TestClient(create_app(settings)) as c:
        response = c.get("/api/quiz/task")
    assert response.status_code == 503
    assert "images_background.zip" in response.json()["detail"]


def aliases(token: str) -> list[str]:
    """Other spellings of a token's numbers: leading zeros, fullwidth and Arabic-Indic digits,
    upper-case signature, a trailing newline, and the seed without its signature."""
    ways, seed, mac = token.split("-")
    fullwidth = "".join(chr(ord("０") + int(d)) for d in seed)
    arabic = "".join(chr(ord("٠") + int(d)) for d in seed)
    return [
        f"{ways}-0{seed}-{mac}",
        f"{ways}-00{seed}-{mac}",
        f"{ways}-{fullwidth}-{mac}",
        f"{ways}-{arabic}-{mac}",
        f"0{ways}-{seed}-{mac}",
        f"{ways}-{seed}-{mac.upper()}",
        f"{token}\n",
        f"{ways}-{seed}",
    ]


def test_a_task_counts_once_whatever_its_spelling(client):
    task = new_task(client)["task"]
    right = make_task(client.app.state.omniglot.get(), task).answer
    first = {"task": task, "choice": right, "ms": 2000}
    assert client.post("/api/quiz/answer", json=first).status_code == 200
    for alias in aliases(task):
        response = client.post("/api/quiz/answer", json=dict(first, task=alias))
        assert response.status_code == 422, (alias, response.text)
        assert response.json()["message"].startswith("task")
    assert client.post("/api/quiz/answer", json=first).status_code == 409
    assert client.get("/api/quiz/stats").json()["5"]["answers"] == 1


def test_a_revealed_task_takes_no_answer_in_any_spelling(client):
    task = new_task(client)["task"]
    shown = client.post("/api/omniglot/adapt", json={"task": task})
    if shown.status_code == 503:
        pytest.skip("no 5-way MAML model in models/")
    answer = shown.json()["answer"]
    for spelling in [task, *aliases(task)]:
        response = client.post(
            "/api/quiz/answer", json={"task": spelling, "choice": answer, "ms": 2000}
        )
        assert response.status_code in (409, 422), (spelling, response.text)
    assert client.get("/api/quiz/stats").json()["5"]["answers"] == 0


@pytest.mark.parametrize(
    "token", ["5-777001", "5-777001-" + "0" * 24, "20-5-abcdefabcdefabcdefabcdef"]
)
def test_tokens_the_server_never_issued_are_refused(client, token):
    for path, body in [
        ("/api/quiz/answer", {"task": token, "choice": 0, "ms": 2000}),
        ("/api/omniglot/adapt", {"task": token}),
    ]:
        response = client.post(path, json=body)
        assert response.status_code == 422 and response.json()["message"].startswith("task")
    assert client.get("/api/quiz/models", params={"task": token}).status_code == 422
    assert client.get("/api/quiz/stats").json()["5"]["answers"] == 0


def test_tokens_stay_valid_after_a_restart_and_only_there(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path / "a"))) as first:
        task = new_task(first)["task"]
    body = {"task": task, "choice": 0, "ms": 2000}
    with TestClient(create_app(Settings(data_dir=tmp_path / "a"))) as again:
        assert again.post("/api/quiz/answer", json=body).status_code == 200
    with TestClient(create_app(Settings(data_dir=tmp_path / "b"))) as other:
        assert other.post("/api/quiz/answer", json=body).status_code == 422
    assert (tmp_path / "a" / "quiz.key").stat().st_mode & 0o077 == 0


def test_answers_stored_under_old_spellings_count_once(tmp_path):
    import sqlite3

    from app.web.quiz_store import AnswerStore

    store = AnswerStore(tmp_path / "quiz.sqlite3")
    for task, correct in [
        ("5-8963035", 0),
        ("5-08963035", 1),
        ("5-８９６３０３５", 1),
        ("5-12", 1),
    ]:
        store.connection.execute(
            "INSERT INTO answers (task, ways, correct, ms, created) VALUES (?, 5, ?, 900, 0)",
            (task, correct),
        )
    store.close()
    with TestClient(create_app(Settings(data_dir=tmp_path))) as c:
        stats = c.get("/api/quiz/stats").json()["5"]
    assert stats["answers"] == 2 and stats["accuracy"] == 0.5
    kept = sqlite3.connect(tmp_path / "quiz.sqlite3").execute("SELECT COUNT(*) FROM duplicates")
    assert kept.fetchone()[0] == 2
