package store

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisOptions configure a Redis store shared by every sidecar replica:
// one server, a Sentinel-managed master, or a Cluster (go-redis's
// universal client picks by MasterName and Cluster).
type RedisOptions struct {
	// Addrs: the server, the sentinels (with MasterName), or cluster nodes.
	Addrs []string
	// MasterName is the Sentinel master; set means Sentinel.
	MasterName string
	// Cluster forces cluster mode with a single address (a configuration
	// endpoint); several addresses without MasterName are a cluster too.
	Cluster  bool
	Username string // ACL user; default none (the default user)
	Password string
	DB       int // not in cluster mode
	// TLS, when set, is used for every connection (rediss://).
	TLS *tls.Config
	// Prefix namespaces every key. Default "qfsign:".
	Prefix string
	// Timeout bounds each command. Default 1s: a slow store must not
	// hold a payment; callers fail closed on errors.
	Timeout time.Duration
	// MinReplicas: each write waits (WAIT) until this many replicas have
	// it, or fails. Default 0: Redis replicates asynchronously, and a
	// failover can lose a claim the old master acknowledged. Not with a
	// cluster.
	MinReplicas int
}

// Redis is a Store over Redis: SET NX PX, GET, SET PX, DEL, and one
// script per rate-limit decision.
type Redis struct {
	c           redis.UniversalClient
	prefix      string
	minReplicas int
	wait        time.Duration // WAIT's bound: half the command timeout
}

// NewRedis connects lazily; use Ping to check the server at start.
func NewRedis(o RedisOptions) *Redis {
	if o.Prefix == "" {
		o.Prefix = "qfsign:"
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	c := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs: o.Addrs, MasterName: o.MasterName, IsClusterMode: o.Cluster,
		Username: o.Username, Password: o.Password, DB: o.DB, TLSConfig: o.TLS,
		DialTimeout: o.Timeout, ReadTimeout: o.Timeout, WriteTimeout: o.Timeout,
		// A retried SET NX may see its own first write and report "taken":
		// the safe direction. One retry only.
		MaxRetries: 1,
	})
	return &Redis{c: c, prefix: o.Prefix, minReplicas: o.MinReplicas, wait: o.Timeout / 2}
}

// Ping checks that the server answers.
func (s *Redis) Ping(ctx context.Context) error {
	if err := s.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("store: redis: %w", err)
	}
	return nil
}

// Claim implements Store.
func (s *Redis) Claim(ctx context.Context, key, val string, ttl time.Duration) (bool, error) {
	var set *redis.BoolCmd
	err := s.write(ctx, func(p redis.Pipeliner) { set = p.SetNX(ctx, s.prefix+key, val, ttl) })
	if err != nil {
		return false, fmt.Errorf("store: redis claim: %w", err)
	}
	return set.Val(), nil
}

// write runs one write, then WAIT on the same connection when
// MinReplicas is set: fewer replicas than that is an error (fail closed).
func (s *Redis) write(ctx context.Context, cmd func(redis.Pipeliner)) error {
	p := s.c.Pipeline()
	cmd(p)
	var acks *redis.Cmd
	if s.minReplicas > 0 {
		acks = p.Do(ctx, "WAIT", s.minReplicas, s.wait.Milliseconds())
	}
	if _, err := p.Exec(ctx); err != nil {
		return err
	}
	if acks == nil {
		return nil
	}
	n, err := acks.Int()
	if err != nil {
		return fmt.Errorf("WAIT: %w", err)
	}
	if n < s.minReplicas {
		return fmt.Errorf("written to the master but to %d of %d replicas: %w", n, s.minReplicas, errNotReplicated)
	}
	return nil
}

var errNotReplicated = errors.New("not replicated")

// Get implements Store.
func (s *Redis) Get(ctx context.Context, key string) (string, bool, error) {
	v, err := s.c.Get(ctx, s.prefix+key).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: redis get: %w", err)
	}
	return v, true, nil
}

// Put implements Store.
func (s *Redis) Put(ctx context.Context, key, val string, ttl time.Duration) error {
	if err := s.write(ctx, func(p redis.Pipeliner) { p.Set(ctx, s.prefix+key, val, ttl) }); err != nil {
		return fmt.Errorf("store: redis put: %w", err)
	}
	return nil
}

// Delete implements Store.
func (s *Redis) Delete(ctx context.Context, key string) error {
	if err := s.write(ctx, func(p redis.Pipeliner) { p.Del(ctx, s.prefix+key) }); err != nil {
		return fmt.Errorf("store: redis delete: %w", err)
	}
	return nil
}

// slidingWindow is windows.allow in Redis: one sorted set of admission
// times per limit, on the server's clock (one clock for all replicas).
// KEYS: one per limit; ARGV: n1, per1 (µs), n2, per2, ..., member nonce.
// Returns 0 (admitted) or the wait in µs.
var slidingWindow = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local wait = 0
for i, key in ipairs(KEYS) do
  local n, per = tonumber(ARGV[2*i-1]), tonumber(ARGV[2*i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - per)
  if redis.call('ZCARD', key) >= n then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + per - now)
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, now .. ':' .. ARGV[#ARGV])
  redis.call('PEXPIRE', key, math.ceil(tonumber(ARGV[2*i]) / 1000))
end
return 0`)

// Allow implements Store. The keys share a hash tag, so a cluster keeps
// them in one slot.
func (s *Redis) Allow(ctx context.Context, key string, limits ...Limit) (time.Duration, error) {
	var keys []string
	var args []any
	for _, l := range limits {
		if l.N <= 0 || l.Per <= 0 {
			continue
		}
		keys = append(keys, s.prefix+"{"+key+"}:"+strconv.FormatInt(int64(l.Per), 10)+":"+strconv.Itoa(l.N))
		args = append(args, l.N, l.Per.Microseconds())
	}
	if len(keys) == 0 {
		return 0, nil
	}
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	args = append(args, binary.BigEndian.Uint64(nonce[:]))
	us, err := slidingWindow.Run(ctx, s.c, keys, args...).Int64()
	if err != nil {
		return 0, fmt.Errorf("store: redis rate limit: %w", err)
	}
	return time.Duration(us) * time.Microsecond, nil
}

// Close releases the connection pool.
func (s *Redis) Close() error { return s.c.Close() }

var _ Store = (*Redis)(nil)
