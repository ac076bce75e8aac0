"""The shared stores against real servers: quiz answers in PostgreSQL behave and count as in
SQLite, rate limits in Redis are one budget for every replica, and a server that goes away
is an :class:`Unavailable` error (503) within seconds, never a hang."""

import pytest

from app.web.quiz_store import AlreadyAnswered, AnswerShown, AnswerStore
from app.web.quiz_store_postgres import PostgresAnswerStore
from app.web.ratelimit import RateLimiter
from app.web.unavailable import Unavailable
from tests.services import postgres_server, redis_server

ANSWERS = [("5-1", 5, True, 900), ("5-2", 5, False, 1200), ("20-3", 20, True, 4000)]


@pytest.fixture(scope="module")
def postgres_url():
    with postgres_server() as server:
        yield server.url


@pytest.fixture(scope="module")
def redis():
    with redis_server() as server:
        yield server


def fill(store) -> None:
    for answer in ANSWERS:
        store.add(*answer)
    store.reveal("5-9")
    store.reveal("5-1")  # answered already: stays answerable history, not revealed


def test_postgres_answers_follow_the_sqlite_rules_and_statistics(postgres_url, tmp_path):
    sqlite, postgres = AnswerStore(tmp_path / "quiz.sqlite3"), PostgresAnswerStore(postgres_url)
    for store in (sqlite, postgres):
        fill(store)
        with pytest.raises(AlreadyAnswered):
            store.add("5-1", 5, False, 1000)
        with pytest.raises(AnswerShown):
            store.add("5-9", 5, True, 1000)
        assert store.answered("20-3") and not store.answered("5-9")
    assert postgres.stats() == sqlite.stats()
    assert postgres.stats()["5"]["answers"] == 2
    # a second replica's store sees the same answers and the same rules
    other = PostgresAnswerStore(postgres_url)
    assert other.stats() == sqlite.stats()
    with pytest.raises(AlreadyAnswered):
        other.add("20-3", 20, False, 1000)
    for store in (sqlite, postgres, other):
        store.close()


def test_rate_limits_in_redis_are_one_budget_for_all_replicas(redis):
    from app.web.job_records import connect
    from app.web.redis_ratelimit import RedisRateLimiter

    client = connect(redis.url)
    replicas = [RedisRateLimiter(client, "test", 60, burst=4) for _ in range(2)]
    local = RateLimiter(60, burst=4)
    answers = [replicas[i % 2].check("10.0.0.1") for i in range(6)]
    expected = [local.check("10.0.0.1") for _ in range(6)]
    assert [a == 0 for a in answers] == [e == 0 for e in expected] == [True] * 4 + [False] * 2
    assert 0 < answers[-1] <= 2 and RateLimiter.retry_after(answers[-1]) == "1"
    assert replicas[0].check("10.0.0.2") == 0  # another client has its own bucket
    client.close()


@pytest.mark.slow
def test_a_server_that_went_away_is_unavailable_not_a_hang():
    with redis_server() as server:
        from app.web.job_records import connect
        from app.web.redis_ratelimit import RedisRateLimiter

        limiter = RedisRateLimiter(connect(server.url), "gone", 60)
        assert limiter.check("10.0.0.1") == 0
        server.stop()
        import redis as driver

        with pytest.raises(driver.ConnectionError):
            limiter.check("10.0.0.1")
    with postgres_server() as server:
        store = PostgresAnswerStore(server.url)
        assert store.stats()["5"]["answers"] == 0
        server.stop()
        with pytest.raises(Unavailable):
            store.stats()
