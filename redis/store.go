package redis

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
)

// Options configure a [Store]. The zero value is valid: every field
// documents its default.
type Options struct {
	// Prefix starts every key and the notification channel, so that
	// several deployments (or tests) can share one Redis. It must not
	// contain '{' or '}': the adapter places its own hash tags after it.
	// Default "sesame:".
	Prefix string

	// Slack is how long keys outlive the instant after which they can no
	// longer matter (a session's deadline, a token's expiry, a counter's
	// Expires). It absorbs clock differences between Sesame nodes and
	// gives the cleaner time to record expiries in the change feed before
	// Redis drops the keys by itself. Default 1 hour.
	Slack time.Duration

	// MaxChanges caps the change feed: appending beyond it drops the
	// oldest entries (a reader that falls that far behind sees, from
	// Changes' oldest, that it missed changes). Default 100000.
	MaxChanges int

	// ChangesTTL is how long the change feed lives after its last append,
	// so that an idle deployment without a cleaner does not keep it
	// forever; it should exceed the cleaner's keepChanges and the session
	// manager's DenylistTTL. Default 7 days.
	ChangesTTL time.Duration
}

func (o Options) withDefaults() (Options, error) {
	if o.Prefix == "" {
		o.Prefix = "sesame:"
	}
	if strings.ContainsAny(o.Prefix, "{}") {
		return o, fmt.Errorf("redis: key prefix %q contains a brace", o.Prefix)
	}
	if o.Slack <= 0 {
		o.Slack = time.Hour
	}
	if o.MaxChanges <= 0 {
		o.MaxChanges = 100000
	}
	if o.ChangesTTL <= 0 {
		o.ChangesTTL = 7 * 24 * time.Hour
	}
	return o, nil
}

// Store keeps Sesame's session state in Redis: it implements
// [session.Store], [session.Cleaner], [token.Store] and [guard.Store], and
// provides a [session.Notifier] through [Store.Notifier]. It is safe for
// concurrent use.
type Store struct {
	c     goredis.UniversalClient
	owned bool // Close closes c
	opt   Options
	slack int64 // Options.Slack in milliseconds

	// crashAfter, set only by tests, is called after each step of a
	// multi-step write with the step's name; an error ends the write
	// there, as if the process had died after the step (SEC-66).
	crashAfter func(step string) error
}

// claimTTL is how long an index claimed by a creation lives until the
// record it indexes exists and the claim is extended: a crash in between
// leaves a claim that expires within it.
const claimTTL = time.Minute

// step reports that a multi-step write has finished the named step. It
// returns the test hook's error, which the write returns at once, leaving
// everything as it is, as a killed process would.
func (s *Store) step(name string) error {
	if s.crashAfter == nil {
		return nil
	}
	return s.crashAfter(name)
}

var (
	_ session.Store   = (*Store)(nil)
	_ session.Cleaner = (*Store)(nil)
	_ token.Store     = (*Store)(nil)
	_ guard.Store     = (*Store)(nil)
)

// Open connects to the Redis named by rawURL and checks that it answers.
//
//   - redis://[user:password@]host:port[/db][?options] and rediss:// (TLS)
//     name a single server, parsed by go-redis's ParseURL (its query
//     options, such as dial_timeout or pool_size, apply);
//   - redis+cluster://[user:password@]host1:port1,host2:port2,...
//     (rediss+cluster:// for TLS) names the seed nodes of a Redis Cluster,
//     as [OpenCluster] does.
//
// The Store owns the connection: [Store.Close] closes it.
//
// A failed dial is not retried unless the URL asks for it (dialer_retries):
// go-redis by default retries a dial 5 times 100 ms apart, inside every
// command and inside the notifier's subscription, so a Redis that died
// would be noticed (and answered 503) only after about half a second, and
// nodes would keep answering from their views meanwhile (SEC-65).
func Open(ctx context.Context, rawURL string, opt Options) (*Store, error) {
	switch {
	case strings.HasPrefix(rawURL, "redis+cluster://"), strings.HasPrefix(rawURL, "rediss+cluster://"):
		copt, err := parseClusterURL(rawURL)
		if err != nil {
			return nil, err
		}
		if copt.DialerRetries == 0 {
			copt.DialerRetries = 1
		}
		return open(ctx, goredis.NewClusterClient(copt), opt)
	default:
		o, err := goredis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis: parse url: %w", err)
		}
		if o.DialerRetries == 0 {
			o.DialerRetries = 1
		}
		return open(ctx, goredis.NewClient(o), opt)
	}
}

// OpenCluster connects to the Redis Cluster whose seed nodes are addrs
// ("host:port"; the client discovers the others) and checks that it
// answers. The Store owns the connection: [Store.Close] closes it.
func OpenCluster(ctx context.Context, addrs []string, opt Options) (*Store, error) {
	if len(addrs) == 0 {
		return nil, errors.New("redis: open cluster: no addresses")
	}
	return open(ctx, goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: addrs, DialerRetries: 1}), opt)
}

func parseClusterURL(rawURL string) (*goredis.ClusterOptions, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis: parse cluster url: %w", err)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, errors.New("redis: parse cluster url: a cluster has no database number")
	}
	o := &goredis.ClusterOptions{}
	for _, a := range strings.Split(u.Host, ",") {
		if a = strings.TrimSpace(a); a != "" {
			o.Addrs = append(o.Addrs, a)
		}
	}
	if len(o.Addrs) == 0 {
		return nil, errors.New("redis: parse cluster url: no addresses")
	}
	if u.User != nil {
		o.Username = u.User.Username()
		o.Password, _ = u.User.Password()
	}
	if u.Scheme == "rediss+cluster" {
		host := o.Addrs[0]
		if h, _, ok := strings.Cut(host, ":"); ok {
			host = h
		}
		o.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	return o, nil
}

func open(ctx context.Context, c goredis.UniversalClient, opt Options) (*Store, error) {
	s, err := New(c, opt)
	if err != nil {
		c.Close()
		return nil, err
	}
	s.owned = true
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis: ping: %w", err)
	}
	return s, nil
}

// New returns a Store on a client the caller made (a *goredis.Client, a
// *goredis.ClusterClient, or another UniversalClient that routes by key
// slot). The caller keeps ownership: [Store.Close] does not close c.
func New(c goredis.UniversalClient, opt Options) (*Store, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Store{c: c, opt: opt, slack: opt.Slack.Milliseconds()}, nil
}

// Close closes the connection if the Store opened it.
func (s *Store) Close() error {
	if !s.owned {
		return nil
	}
	if err := s.c.Close(); err != nil {
		return fmt.Errorf("redis: close: %w", err)
	}
	return nil
}

// Client returns the underlying client, for health checks and tools.
func (s *Store) Client() goredis.UniversalClient { return s.c }

// Keys. Everything of one user lives under userPrefix, whose hash tag
// {u:<user>} puts it in one cluster slot; the lookup indexes by token hash
// and by ID, the cleanup queues and the feed live elsewhere. See doc.go.

// userTag makes a user ID safe inside a hash tag: the tag ends at the
// first '}', so an ID containing one (or starting with '~', the escape
// marker) is hex-encoded behind '~'. The mapping is injective.
func userTag(uid string) string {
	if strings.ContainsRune(uid, '}') || strings.HasPrefix(uid, "~") {
		return "~" + hex.EncodeToString([]byte(uid))
	}
	return uid
}

func (s *Store) userPrefix(uid string) string { return s.opt.Prefix + "{u:" + userTag(uid) + "}:" }

func (s *Store) recKey(uid, sid string) string { return s.userPrefix(uid) + "s:" + sid }
func (s *Store) idxKey(uid string) string      { return s.userPrefix(uid) + "idx" }
func (s *Store) rtKey(uid, h string) string    { return s.userPrefix(uid) + "rt:" + h }
func (s *Store) famKey(uid, f string) string   { return s.userPrefix(uid) + "fam:" + f }
func (s *Store) sfKey(uid, sid string) string  { return s.userPrefix(uid) + "sf:" + sid }
func (s *Store) gcKey(uid string) string       { return s.userPrefix(uid) + "gc" }

func (s *Store) sidIndex(sid string) string { return s.opt.Prefix + "sid:" + sid }
func (s *Store) tokIndex(h [32]byte) string { return s.opt.Prefix + "tok:" + hex.EncodeToString(h[:]) }
func (s *Store) rtIndex(h string) string    { return s.opt.Prefix + "rt:" + h }
func (s *Store) famIndex(f string) string   { return s.opt.Prefix + "fam:" + f }
func (s *Store) guardKey(k string) string   { return s.opt.Prefix + "g:" + k }
func (s *Store) feedSeq() string            { return s.opt.Prefix + "{feed}:seq" }
func (s *Store) feedChanges() string        { return s.opt.Prefix + "{feed}:changes" }
func (s *Store) sessionQueue() string       { return s.opt.Prefix + "{exp}:s" }
func (s *Store) refreshQueue() string       { return s.opt.Prefix + "{exp}:r" }
func (s *Store) channel() string            { return s.opt.Prefix + "changes" }

// pair joins a user ID and another string unambiguously ("<len>:<uid><rest>"):
// the value of the token index and the members of the cleanup queues.
func pair(uid, rest string) string {
	return strconv.Itoa(len(uid)) + ":" + uid + rest
}

func unpair(v string) (uid, rest string, ok bool) {
	n, after, found := strings.Cut(v, ":")
	if !found {
		return "", "", false
	}
	l, err := strconv.Atoi(n)
	if err != nil || l < 0 || l > len(after) {
		return "", "", false
	}
	return after[:l], after[l:], true
}

// ttl is d plus the slack, in milliseconds, never below the slack.
func (s *Store) ttl(d time.Duration) int64 {
	return max(d.Milliseconds(), 0) + s.slack
}
