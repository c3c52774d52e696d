package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/postgres"
	"github.com/sesame-auth/sesame/redis"
)

// fillPostgres generates n sessions in SQL (generate_series) in a schema of
// its own on $SESAME_TEST_POSTGRES_URL, and reports the table's size.
func fillPostgres(b *testing.B, n int) *growthStore {
	url := os.Getenv("SESAME_TEST_POSTGRES_URL")
	if url == "" {
		b.Skip("SESAME_TEST_POSTGRES_URL is not set (start the servers with .ci/services)")
	}
	ctx := context.Background()
	var raw [6]byte
	rand.Read(raw[:])
	schema := "growth_" + hex.EncodeToString(raw[:])
	db, err := postgres.OpenSchema(ctx, url, schema)
	if err != nil {
		b.Fatal(err)
	}
	pool := db.Pool()
	now := time.Now().UnixNano()
	_, err = pool.Exec(ctx, `
		INSERT INTO sessions (id, user_id, token_hash, prev_token_hash, prev_valid_until, created_at, last_seen,
			idle_timeout, expires_at, remember, auth_time, user_agent, ip, version, data)
		SELECT md5(random()::text || x::text), 'user' || (x % ($1 / 10 + 1)), sha256(('growth-' || x::text)::bytea),
			NULL, -9223372036854775808, $2, $2, 3600000000000, $2 + 43200000000000, false, $2,
			'Mozilla/5.0 (X11; Linux x86_64) bench'::bytea, '192.0.2.1'::bytea, 0, NULL
		FROM generate_series(1, $1) AS x`, n, now)
	if err != nil {
		b.Fatal(err)
	}
	pool.Exec(ctx, `ANALYZE sessions`)
	g := &growthStore{store: db, cleanup: func() {
		pool.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
		db.Close()
	}}
	rows, err := pool.Query(ctx, `SELECT token_hash FROM sessions TABLESAMPLE SYSTEM (10) LIMIT 1000`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var h []byte
		rows.Scan(&h)
		var a [32]byte
		copy(a[:], h)
		g.tokens = append(g.tokens, a)
	}
	rows.Close()
	var size int64
	pool.QueryRow(ctx, `SELECT pg_total_relation_size('sessions')`).Scan(&size)
	g.bytes = float64(size) / float64(n)
	return g
}

// fillRedis creates n sessions through the adapter (16 writers) under a
// prefix of its own on $SESAME_TEST_REDIS_URL, and reports the memory
// they took (INFO used_memory before and after).
func fillRedis(b *testing.B, n int) *growthStore {
	url := os.Getenv("SESAME_TEST_REDIS_URL")
	if url == "" {
		b.Skip("SESAME_TEST_REDIS_URL is not set (start the servers with .ci/services)")
	}
	ctx := context.Background()
	var raw [6]byte
	rand.Read(raw[:])
	prefix := "growth" + hex.EncodeToString(raw[:]) + ":"
	s, err := redis.Open(ctx, url, redis.Options{Prefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	before := redisUsedMemory(b, s)
	now := time.Now().UTC()
	g := &growthStore{store: s}
	var mu sync.Mutex
	var wg sync.WaitGroup
	const writers = 16
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += writers {
				sess := growthSession("user"+strconv.Itoa(i%(n/10+1)), now)
				if err := s.Create(ctx, sess); err != nil {
					b.Error(err)
					return
				}
				if i%max(n/1000, 1) == 0 {
					mu.Lock()
					g.tokens = append(g.tokens, sess.TokenHash)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	g.bytes = float64(redisUsedMemory(b, s)-before) / float64(n)
	g.cleanup = func() {
		c := s.Client()
		iter := c.Scan(context.Background(), 0, prefix+"*", 10000).Iterator()
		var batch []string
		for iter.Next(context.Background()) {
			batch = append(batch, iter.Val())
			if len(batch) == 1000 {
				c.Unlink(context.Background(), batch...)
				batch = batch[:0]
			}
		}
		if len(batch) > 0 {
			c.Unlink(context.Background(), batch...)
		}
		s.Close()
	}
	return g
}

func redisUsedMemory(b *testing.B, s *redis.Store) int64 {
	info, err := s.Client().Info(context.Background(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	const key = "used_memory:"
	for _, line := range splitLines(info) {
		if len(line) > len(key) && line[:len(key)] == key {
			v, _ := strconv.ParseInt(line[len(key):], 10, 64)
			return v
		}
	}
	return 0
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			line := s[start:i]
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
			out = append(out, line)
			start = i + 1
		}
	}
	return out
}
