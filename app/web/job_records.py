"""A training job as Redis holds it, shared by the web replicas and the ``maml worker`` processes.

Keys, for a job ``ID`` (every one expires :data:`KEEP_SECONDS` after its last write):

- ``maml:job:ID`` a hash: ``config`` (JSON), ``status`` (queued, running, done, error,
  cancelled), ``created`` (ms);
- ``maml:job:ID:events`` a Redis Stream, one entry per event (fields ``event`` and ``data``,
  JSON), capped at about :data:`STREAM_LENGTH` entries; the SSE ``id:`` is the entry id;
- ``maml:job:ID:result`` the trained parameters of a finished sinusoid run;
- ``maml:job:ID:lease`` the token of the worker running it, which lets it lapse after
  :data:`LEASE_MS` unless the worker renews it: a lapsed lease means the worker died;
- ``maml:job:ID:watchers`` the number of open streams on every replica, and the job's
  ``left`` field the time the last one closed: a job nobody watches (none for
  ``MAML_JOB_ABANDON_SECONDS``, or nobody within :data:`CONNECT_GRACE_MS` of its creation) is
  cancelled by its worker. Open streams renew the count's expiry, so that the streams of a
  replica that died stop counting :data:`WATCHERS_TTL_MS` after the last renewal;
- ``maml:job:ID:cancel`` the reason, when someone cancelled a running job;
- ``maml:jobs:waiting`` a sorted set of the queued jobs by creation time (positions, the bound);
- ``maml:cache:SHA`` the id of a finished job with that configuration (SHA-256 of its JSON).

Every change of status, and every event, is one Lua script, so that exactly one event ends a
stream: a worker writes only while it holds the lease of a running job, and a job whose lease
has lapsed is ended once, by whoever notices first (:data:`REAP`).
"""

from __future__ import annotations

import hashlib
import io
import json

import redis
import redis.asyncio
import redis.asyncio.retry
import redis.retry
import torch
from redis.backoff import NoBackoff

from app.meta.params import Params

KEEP_SECONDS = 3600
STREAM_LENGTH = 10_000  # a run sends a few hundred events; bounded all the same
LEASE_MS = 10_000
RENEW_SECONDS = 2.0
CONNECT_GRACE_MS = 30_000  # from its creation to the first stream: a page behind a balancer
WATCHERS_TTL_MS = 30_000  # the count outlives a replica that died with streams open by this
TIMEOUT = 3  # seconds for a connection or an answer: Redis away is an error, not a hang
FINISHED = ("done", "error", "cancelled")
WORKER_LOST = "the worker running this job stopped before it finished; start the job again"


def job_key(job_id: str, part: str = "") -> str:
    return f"maml:job:{job_id}" + (f":{part}" if part else "")


WAITING = "maml:jobs:waiting"


def cache_key(config_json: str) -> str:
    return "maml:cache:" + hashlib.sha256(config_json.encode()).hexdigest()


def event_fields(name: str, data: dict) -> list[str]:
    return [name, json.dumps(data, separators=(",", ":"))]


def connect(url: str, asynchronous: bool = False):
    """A client that gives up after :data:`TIMEOUT` seconds and retries once, at once (a
    pooled connection that Redis closed); a blocking read must be shorter than the timeout."""
    module = redis.asyncio if asynchronous else redis
    retry_module = redis.asyncio.retry if asynchronous else redis.retry
    return module.Redis.from_url(
        url,
        socket_connect_timeout=TIMEOUT,
        socket_timeout=TIMEOUT,
        retry=retry_module.Retry(NoBackoff(), 1),
        decode_responses=False,
    )


def params_bytes(params: Params) -> bytes:
    buffer = io.BytesIO()
    torch.save(dict(params), buffer)
    return buffer.getvalue()


def params_from(data: bytes) -> Params:
    return torch.load(io.BytesIO(data), weights_only=True)


# KEYS: job, waiting, watchers. ARGV: id, config, now (ms), queue bound, grace (ms), keep (s).
SUBMIT = """
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[3]) - 1000 * tonumber(ARGV[6]))
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return 0 end
redis.call('HSET', KEYS[1], 'config', ARGV[2], 'status', 'queued', 'created', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('SET', KEYS[3], '0', 'PX', ARGV[5])
return 1
"""

# KEYS: watchers, job. ARGV: +1 (a stream opens), -1 (it closes) or 0 (it is still open),
# the count's expiry (ms).
WATCH = """
if ARGV[1] ~= '0' then redis.call('INCRBY', KEYS[1], ARGV[1]) end
if ARGV[1] == '-1' then
  local now = redis.call('TIME')
  redis.call('HSET', KEYS[2], 'left', now[1] * 1000 + math.floor(now[2] / 1000))
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

# KEYS: watchers, job. ARGV: abandon time (ms). 1 if nobody watches the job.
ABANDONED = """
local watchers = redis.call('GET', KEYS[1])
if not watchers then return 1 end
if tonumber(watchers) > 0 then return 0 end
local left = tonumber(redis.call('HGET', KEYS[2], 'left'))
if not left then return 0 end
local now = redis.call('TIME')
if now[1] * 1000 + math.floor(now[2] / 1000) - left > tonumber(ARGV[1]) then return 1 end
return 0
"""

# KEYS: job, waiting, lease. ARGV: id, token, lease (ms). 1 if this worker now runs the job.
CLAIM = """
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('HGET', KEYS[1], 'status') ~= 'queued' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'running')
redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[3])
return 1
"""

# KEYS: lease. ARGV: token, lease (ms). 1 while the lease is still this worker's.
RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

# KEYS: job, events, lease. ARGV: token, event, data, stream length, final status or '',
# keep (s). The entry id, or nil when this worker no longer runs the job.
EMIT = """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return false end
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return false end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*',
                      'event', ARGV[2], 'data', ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('EXPIRE', KEYS[1], ARGV[6])
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[1], 'status', ARGV[5])
  redis.call('DEL', KEYS[3])
end
return id
"""

# KEYS: job, events, waiting, cancel. ARGV: id, error data, stream length, keep (s).
# A queued job ends now with an error event; a running one is asked to stop. The status.
CANCEL = """
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'cancelled')
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'event', 'error', 'data', ARGV[2])
  redis.call('EXPIRE', KEYS[2], ARGV[4])
elseif status == 'running' then
  redis.call('SET', KEYS[4], cjson.decode(ARGV[2])['message'], 'EX', ARGV[4])
end
return status
"""

# KEYS: job, events, lease. ARGV: error data, stream length, keep (s). 1 if the job was
# running and its worker's lease had lapsed: it now ends with that error event.
REAP = """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'status', 'error')
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'event', 'error', 'data', ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
"""


class Scripts:
    """The scripts above, registered once with a client (sync or asyncio)."""

    def __init__(self, client):
        for name in ("SUBMIT", "WATCH", "ABANDONED", "CLAIM", "RENEW", "EMIT", "CANCEL", "REAP"):
            setattr(self, name.lower(), client.register_script(globals()[name]))

    def cancel_job(self, job_id: str, reason: str) -> bytes | None:
        """Run :data:`CANCEL` (sync client); the status the job had."""
        keys = [job_key(job_id), job_key(job_id, "events"), WAITING, job_key(job_id, "cancel")]
        data = event_fields("error", {"message": reason})[1]
        return self.cancel(keys=keys, args=[job_id, data, STREAM_LENGTH, KEEP_SECONDS])
