package mongo

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
)

// Options configure a [Store]. The zero value is valid: every field
// documents its default.
type Options struct {
	// Database is the database that holds Sesame's collections. Default
	// the database of the URL's path, else "sesame".
	Database string

	// Slack is how long documents outlive the instant after which they
	// can no longer matter (a session's absolute end, a refresh token's
	// expiry, a throttle counter's Expires) before the TTL index removes
	// them. It absorbs clock differences between nodes and gives the
	// cleaner time to record expiries in the change feed. Default 1 hour.
	Slack time.Duration

	// PollInterval is how often the polling notifier reads the change
	// feed (used where the server has no change streams, as FerretDB).
	// Default 100 ms.
	PollInterval time.Duration

	// Notify chooses the notifier: "auto" (change streams when the server
	// supports them, else polling), "poll" or "changestream". Default
	// "auto".
	Notify string
}

func (o Options) withDefaults() (Options, error) {
	if o.Database == "" {
		o.Database = "sesame"
	}
	if o.Slack <= 0 {
		o.Slack = time.Hour
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 100 * time.Millisecond
	}
	switch o.Notify {
	case "":
		o.Notify = "auto"
	case "auto", "poll", "changestream":
	default:
		return o, fmt.Errorf("mongo: notify %q: want auto, poll or changestream", o.Notify)
	}
	return o, nil
}

// Store keeps Sesame's session state in MongoDB (or a server speaking its
// wire protocol, such as FerretDB): it implements [session.Store],
// [session.Cleaner], [token.Store], [guard.Store] and [guard.Cleaner], and
// provides a [session.Notifier] through [Store.Notifier]. It is safe for
// concurrent use, also by many processes on one database.
type Store struct {
	client *mdb.Client
	owned  bool
	db     *mdb.Database
	opt    Options

	sessions, tokens, seen, versions, refresh, used, changes, meta, throttle *mdb.Collection

	// crashAfter, set only by tests, is called after each step of a
	// multi-step write with the step's name; an error ends the write
	// there, as if the process had died after the step (SEC-66).
	crashAfter func(step string) error

	// ttlIndexes is whether the server accepted the TTL indexes.
	ttlIndexes bool
}

var (
	_ session.Store   = (*Store)(nil)
	_ session.Cleaner = (*Store)(nil)
	_ token.Store     = (*Store)(nil)
	_ guard.Store     = (*Store)(nil)
	_ guard.Cleaner   = (*Store)(nil)
)

// step reports that a multi-step write has finished the named step.
func (s *Store) step(name string) error {
	if s.crashAfter == nil {
		return nil
	}
	return s.crashAfter(name)
}

// Open connects to the server named by rawURL (mongodb:// or
// mongodb+srv://, parsed by the driver), checks that it answers and
// creates the collections' indexes. The URL's path names the database
// (default "sesame"); two query parameters are Sesame's own and are
// removed before the driver sees the URL: notify (auto, poll or
// changestream) and poll_interval (a Go duration such as 100ms); they
// override opt. The Store owns the connection: [Store.Close] closes it.
func Open(ctx context.Context, rawURL string, opt Options) (*Store, error) {
	driverURL, db, err := splitURL(rawURL, &opt)
	if err != nil {
		return nil, err
	}
	if opt.Database == "" {
		opt.Database = db
	}
	co := options.Client().ApplyURI(driverURL)
	if err := co.Validate(); err != nil {
		return nil, fmt.Errorf("mongo: parse url: %w", err)
	}
	if co.ServerSelectionTimeout == nil {
		co.SetServerSelectionTimeout(5 * time.Second)
	}
	c, err := mdb.Connect(co)
	if err != nil {
		return nil, fmt.Errorf("mongo: connect: %w", err)
	}
	s, err := New(ctx, c, opt)
	if err != nil {
		c.Disconnect(context.Background())
		return nil, err
	}
	s.owned = true
	return s, nil
}

// splitURL removes Sesame's own query parameters from rawURL, applying
// them to opt, and returns the database of the URL's path.
func splitURL(rawURL string, opt *Options) (string, string, error) {
	if !strings.HasPrefix(rawURL, "mongodb://") && !strings.HasPrefix(rawURL, "mongodb+srv://") {
		return "", "", errors.New("mongo: parse url: want mongodb:// or mongodb+srv://")
	}
	base, query, _ := strings.Cut(rawURL, "?")
	var db string
	if _, rest, ok := strings.Cut(base, "://"); ok {
		if _, path, ok := strings.Cut(rest, "/"); ok {
			db = path
		}
	}
	if query == "" {
		return rawURL, db, nil
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", "", errors.New("mongo: parse url: bad query")
	}
	if v := q.Get("notify"); v != "" {
		opt.Notify = v
	}
	if v := q.Get("poll_interval"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return "", "", fmt.Errorf("mongo: parse url: poll_interval %q: want a positive duration", v)
		}
		opt.PollInterval = d
	}
	q.Del("notify")
	q.Del("poll_interval")
	if len(q) == 0 {
		return base, db, nil
	}
	return base + "?" + q.Encode(), db, nil
}

// New returns a Store on a client the caller connected, after checking
// that the server answers and creating the indexes. The caller keeps
// ownership: [Store.Close] does not disconnect c.
func New(ctx context.Context, c *mdb.Client, opt Options) (*Store, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := c.Ping(ctx, readpref.Primary()); err != nil {
		return nil, fmt.Errorf("mongo: ping: %w", err)
	}
	db := c.Database(opt.Database)
	s := &Store{
		client: c, db: db, opt: opt,
		sessions: db.Collection("sessions"),
		tokens:   db.Collection("session_tokens"),
		seen:     db.Collection("session_seen"),
		versions: db.Collection("session_versions"),
		refresh:  db.Collection("refresh_tokens"),
		used:     db.Collection("refresh_used"),
		changes:  db.Collection("session_changes"),
		meta:     db.Collection("meta"),
		throttle: db.Collection("throttle"),
	}
	if err := s.setup(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// setup creates the indexes and the feed's counter document. Both are
// idempotent, so concurrent Opens of one database are safe.
func (s *Store) setup(ctx context.Context) error {
	unique := func(keys bson.D) mdb.IndexModel {
		return mdb.IndexModel{Keys: keys, Options: options.Index().SetUnique(true)}
	}
	plain := func(keys bson.D) mdb.IndexModel { return mdb.IndexModel{Keys: keys} }
	for _, ix := range []struct {
		c      *mdb.Collection
		models []mdb.IndexModel
	}{
		{s.sessions, []mdb.IndexModel{
			unique(bson.D{{Key: "tok", Value: 1}}),
			plain(bson.D{{Key: "prev", Value: 1}}),
			plain(bson.D{{Key: "uid", Value: 1}, {Key: "ca", Value: 1}}),
			plain(bson.D{{Key: "dl", Value: 1}}),
		}},
		{s.refresh, []mdb.IndexModel{
			plain(bson.D{{Key: "fam", Value: 1}}),
			plain(bson.D{{Key: "sid", Value: 1}}),
			plain(bson.D{{Key: "exp", Value: 1}}),
		}},
		{s.used, []mdb.IndexModel{
			plain(bson.D{{Key: "fam", Value: 1}}),
			plain(bson.D{{Key: "sid", Value: 1}}),
			plain(bson.D{{Key: "exp", Value: 1}}),
		}},
		{s.versions, []mdb.IndexModel{
			plain(bson.D{{Key: "sid", Value: 1}}),
		}},
		{s.throttle, []mdb.IndexModel{
			plain(bson.D{{Key: "exp", Value: 1}}),
		}},
	} {
		// One at a time: FerretDB 1.24 drops the connection when a
		// createIndexes of several indexes names one that exists.
		for _, m := range ix.models {
			if _, err := ix.c.Indexes().CreateOne(ctx, m); err != nil {
				return fmt.Errorf("mongo: create indexes on %s: %w", ix.c.Name(), err)
			}
		}
	}
	// TTL indexes on the ttl dates, where the server has them (FerretDB
	// 1.x answers NotImplemented): without them the cleaner (RunCleanup,
	// guard.RunCleanup) is what removes expired documents.
	s.ttlIndexes = true
	for _, c := range []*mdb.Collection{s.sessions, s.refresh, s.used} {
		_, err := c.Indexes().CreateOne(ctx, mdb.IndexModel{Keys: bson.D{{Key: "ttl", Value: 1}},
			Options: options.Index().SetExpireAfterSeconds(0)})
		if unsupported(err) {
			s.ttlIndexes = false
			break
		}
		if err != nil {
			return fmt.Errorf("mongo: create TTL index on %s: %w", c.Name(), err)
		}
	}
	// The feed starts after the current time in microseconds, not at 1: a
	// feed that was lost (its database dropped or restored from an old
	// backup) begins again past every Seq it gave before, so a reader knows
	// it missed changes (SEC-64).
	start := time.Now().UnixMicro()
	_, err := s.meta.InsertOne(ctx, bson.D{{Key: "_id", Value: feedID}, {Key: "floor", Value: start}})
	if err != nil && !mdb.IsDuplicateKeyError(err) {
		return fmt.Errorf("mongo: create the change feed: %w", err)
	}
	return nil
}

// Close disconnects the client if the Store opened it.
func (s *Store) Close() error {
	if !s.owned {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.client.Disconnect(ctx); err != nil {
		return fmt.Errorf("mongo: close: %w", err)
	}
	return nil
}

// TTLIndexes reports whether the server keeps TTL indexes, so that
// expired documents go even without a cleaner. FerretDB 1.x has none.
func (s *Store) TTLIndexes() bool { return s.ttlIndexes }

// Client returns the underlying client, for health checks and tools.
func (s *Store) Client() *mdb.Client { return s.client }

// Database returns the database the Store keeps its collections in.
func (s *Store) Database() *mdb.Database { return s.db }

// ttlDate is the TTL index's date for a document that stops mattering at
// t: t plus the slack, as a BSON date; nil (kept until deleted) for the
// zero time.
func (s *Store) ttlDate(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Add(s.opt.Slack).UTC()
}
