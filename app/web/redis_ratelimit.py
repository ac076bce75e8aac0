"""Per-client rate limits shared by every web replica: the token bucket of
:class:`app.web.ratelimit.RateLimiter`, kept in Redis (``MAML_REDIS_URL``).

Each bucket is a hash ``maml:rate:NAME:CLIENT`` updated by one Lua script on Redis' own
clock, so replicas count together and agree on time; it expires once it would be full again.
The answers are those of the in-process limiter: 0, or the seconds to wait (429 and
Retry-After).
"""

from __future__ import annotations

from app.web.ratelimit import RateLimiter

# KEYS: bucket. ARGV: tokens per second, burst, cost. The seconds to wait, as a string.
TAKE = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'last')
local tokens = tonumber(bucket[1]) or burst
local last = tonumber(bucket[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
local wait = 0
if tokens < cost then
  wait = (cost - tokens) / rate
else
  tokens = tokens - cost
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'last', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return tostring(wait)
"""


class RedisRateLimiter(RateLimiter):
    def __init__(self, client, name: str, per_minute: int, burst: int | None = None):
        super().__init__(per_minute, burst)
        self.name = name
        self.take = client.register_script(TAKE)

    def check(self, client: str, cost: float = 1.0) -> float:
        """As :meth:`RateLimiter.check`, counted in Redis."""
        cost = min(cost, self.burst)
        key = f"maml:rate:{self.name}:{client}"
        return float(self.take(keys=[key], args=[repr(self.rate), repr(self.burst), repr(cost)]))
