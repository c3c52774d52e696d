package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/postgres"
	"github.com/sesame-auth/sesame/sqlite"
)

// A running server announces itself in the durable database, so that an
// operator command that must not run beside a server (`sesame migrate`)
// can see an idle one, which writes nothing else. The announcement is a
// row of the deployment table whose key starts with "node/": the identity
// readers skip those rows. It holds no secret: a random node ID, the host
// name, the process ID, the listen address and the start time.
const (
	nodePrefix = "node/"
	// NodeBeat is how often a running server renews its announcement.
	NodeBeat = 10 * time.Second
	// NodeLiveWindow is how long after its last renewal a server counts
	// as running: three beats, so that one slow write does not hide it. A
	// server that was killed (SIGKILL, power loss) counts as running for
	// up to this long; one that stopped cleanly removes its row at once.
	NodeLiveWindow = 3 * NodeBeat
	// nodeForget is when the row of a server that never removed it (it
	// was killed) is deleted by another server's renewal.
	nodeForget = 24 * time.Hour
)

// Node is a running server of the deployment, as it announced itself.
type Node struct {
	ID      string    `json:"-"`
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Addr    string    `json:"addr"`
	Started time.Time `json:"started"`
	Seen    time.Time `json:"-"` // its last renewal
}

// nodeStore is the presence side of the deployment table.
type nodeStore interface {
	beat(ctx context.Context, key, value string, at time.Time) error
	end(ctx context.Context, key string) error
	nodes(ctx context.Context) (map[string]nodeRow, error)
}

type nodeRow struct {
	value string
	seen  time.Time
}

func nodeStoreFor(d any) nodeStore {
	switch db := d.(type) {
	case *sqlite.DB:
		return sqlIdentity{db.SQL()}
	case *postgres.DB:
		return pgIdentity{db}
	}
	return nil
}

// LiveNodes returns the servers of the deployment whose durable database d
// is, that renewed their announcement within NodeLiveWindow of now, the
// most recently seen first. A database that cannot hold announcements
// (the in-memory store) has none.
func LiveNodes(ctx context.Context, d any, now time.Time) ([]Node, error) {
	s := nodeStoreFor(d)
	if s == nil {
		return nil, nil
	}
	rows, err := s.nodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the running servers: %w", err)
	}
	var out []Node
	for k, r := range rows {
		if now.Sub(r.seen) > NodeLiveWindow {
			continue
		}
		var n Node
		if json.Unmarshal([]byte(r.value), &n) != nil {
			n = Node{Host: "(unreadable announcement)"}
		}
		n.ID, n.Seen = strings.TrimPrefix(k, nodePrefix), r.seen
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seen.After(out[j].Seen) })
	return out, nil
}

// DescribeNodes names the running servers for an operator's message.
func DescribeNodes(ns []Node, now time.Time) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = fmt.Sprintf("%s pid %d on %s, last seen %s ago", n.Host, n.PID, n.Addr, now.Sub(n.Seen).Round(time.Second))
	}
	return strings.Join(parts, "; ")
}

// announce records this server in the durable database and renews the
// record every NodeBeat until ctx ends, then removes it. Only a server
// does (not a command), and only on SQLite and PostgreSQL.
func (a *App) announce(ctx context.Context) {
	s := nodeStoreFor(a.durable)
	if s == nil || a.opts.command {
		return
	}
	var id [8]byte
	rand.Read(id[:])
	key := nodePrefix + hex.EncodeToString(id[:])
	host, _ := os.Hostname()
	v, _ := json.Marshal(Node{Host: host, PID: os.Getpid(), Addr: a.cfg.Addr, Started: time.Now().UTC().Truncate(time.Second)})
	beat := func() {
		if err := s.beat(ctx, key, string(v), time.Now()); err != nil && ctx.Err() == nil {
			a.logger.Warn("could not renew this server's announcement in the database (sesame migrate may not see it running)", "err", err)
		}
	}
	beat()
	a.spawn(func() {
		t := time.NewTicker(NodeBeat)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				end, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
				if err := s.end(end, key); err != nil {
					a.logger.Warn("could not remove this server's announcement from the database; it lapses by itself", "err", err, "after", NodeLiveWindow)
				}
				cancel()
				return
			case <-t.C:
				beat()
			}
		}
	})
}

const identityOnly = ` WHERE key NOT LIKE 'node/%'`

func (s sqlIdentity) beat(ctx context.Context, key, value string, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO deployment (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, value, at.UnixNano()); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `DELETE FROM deployment WHERE key LIKE 'node/%' AND updated_at < ?`, at.Add(-nodeForget).UnixNano())
	return err
}

func (s sqlIdentity) end(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM deployment WHERE key = ?`, key)
	return err
}

func (s sqlIdentity) nodes(ctx context.Context) (map[string]nodeRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key, value, updated_at FROM deployment WHERE key LIKE 'node/%'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]nodeRow{}
	for rows.Next() {
		var k, v string
		var at int64
		if err := rows.Scan(&k, &v, &at); err != nil {
			return nil, err
		}
		out[k] = nodeRow{v, time.Unix(0, at)}
	}
	return out, rows.Err()
}

func (s pgIdentity) beat(ctx context.Context, key, value string, at time.Time) error {
	if _, err := s.db.Pool().Exec(ctx, `INSERT INTO deployment (key, value, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, value, at.UnixNano()); err != nil {
		return err
	}
	_, err := s.db.Pool().Exec(ctx, `DELETE FROM deployment WHERE key LIKE 'node/%' AND updated_at < $1`, at.Add(-nodeForget).UnixNano())
	return err
}

func (s pgIdentity) end(ctx context.Context, key string) error {
	_, err := s.db.Pool().Exec(ctx, `DELETE FROM deployment WHERE key = $1`, key)
	return err
}

func (s pgIdentity) nodes(ctx context.Context) (map[string]nodeRow, error) {
	rows, err := s.db.Pool().Query(ctx, `SELECT key, value, updated_at FROM deployment WHERE key LIKE 'node/%'`)
	if err != nil {
		return nil, err
	}
	out := map[string]nodeRow{}
	var k, v string
	var at int64
	_, err = pgx.ForEachRow(rows, []any{&k, &v, &at}, func() error { out[k] = nodeRow{v, time.Unix(0, at)}; return nil })
	return out, err
}
