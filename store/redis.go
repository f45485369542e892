package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisOptions configure a Redis store shared by every sidecar replica.
type RedisOptions struct {
	Addr     string
	Password string
	DB       int
	// Prefix namespaces every key. Default "qfsign:".
	Prefix string
	// Timeout bounds each command. Default 1s: a slow store must not
	// hold a payment; callers fail closed on errors.
	Timeout time.Duration
}

// Redis is a Store over a Redis server: SET NX PX, GET, SET PX, DEL.
type Redis struct {
	c      *redis.Client
	prefix string
}

// NewRedis connects lazily; use Ping to check the server at start.
func NewRedis(o RedisOptions) *Redis {
	if o.Prefix == "" {
		o.Prefix = "qfsign:"
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	c := redis.NewClient(&redis.Options{
		Addr: o.Addr, Password: o.Password, DB: o.DB,
		DialTimeout: o.Timeout, ReadTimeout: o.Timeout, WriteTimeout: o.Timeout,
		// A retried SET NX may see its own first write and report "taken":
		// the safe direction. One retry only.
		MaxRetries: 1,
	})
	return &Redis{c: c, prefix: o.Prefix}
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
	ok, err := s.c.SetNX(ctx, s.prefix+key, val, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("store: redis claim: %w", err)
	}
	return ok, nil
}

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
	if err := s.c.Set(ctx, s.prefix+key, val, ttl).Err(); err != nil {
		return fmt.Errorf("store: redis put: %w", err)
	}
	return nil
}

// Delete implements Store.
func (s *Redis) Delete(ctx context.Context, key string) error {
	if err := s.c.Del(ctx, s.prefix+key).Err(); err != nil {
		return fmt.Errorf("store: redis delete: %w", err)
	}
	return nil
}

// incr counts and sets the TTL on the first count only, atomically, so a
// window never outlives its length.
var incr = redis.NewScript(`local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`)

// Incr implements Store.
func (s *Redis) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	n, err := incr.Run(ctx, s.c, []string{s.prefix + key}, ttl.Milliseconds()).Int64()
	if err != nil {
		return 0, fmt.Errorf("store: redis incr: %w", err)
	}
	return n, nil
}

// Close releases the connection pool.
func (s *Redis) Close() error { return s.c.Close() }

var _ Store = (*Redis)(nil)
