package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sesame-auth/sesame/session"
)

// Notifier returns the store's [session.Notifier]: Redis pub/sub on the
// channel "<prefix>changes". On a Redis Cluster, PUBLISH and SUBSCRIBE
// (not the sharded SPUBLISH) reach every node's subscribers, so it works
// unchanged there.
func (s *Store) Notifier() session.Notifier {
	return &notifier{s: s, ping: 5 * time.Second, retry: 100 * time.Millisecond}
}

type notifier struct {
	s     *Store
	ping  time.Duration // health check: silence this long sends a PING
	retry time.Duration // first reconnection delay, doubled up to 2 s
}

// Notify implements [session.Notifier] with PUBLISH of the payload.
func (n *notifier) Notify(ctx context.Context, payload string) error {
	if err := n.s.c.Publish(ctx, n.s.channel(), payload).Err(); err != nil {
		return fmt.Errorf("redis: notify: %w", err)
	}
	return nil
}

// Subscribe implements [session.Notifier]. Each connection subscribes
// afresh: connected(true) follows the server's confirmation of SUBSCRIBE;
// any receive error, or a PING left unanswered for one health-check period
// on a silent connection, calls connected(false) at once, closes that
// connection and subscribes again after a growing delay.
func (n *notifier) Subscribe(ctx context.Context, changed func(payload string), connected func(bool)) error {
	delay := n.retry
	for ctx.Err() == nil {
		up, err := n.listen(ctx, changed, connected)
		if up {
			connected(false)
			delay = n.retry
		}
		if ctx.Err() != nil {
			break
		}
		_ = err // the caller learns of failures through connected(false)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		delay = min(2*delay, 2*time.Second)
	}
	return nil
}

var errSilent = errors.New("redis: subscription connection did not answer a ping")

// listen runs one subscription until it fails; up reports whether it had
// been confirmed (and so connected(true) called).
func (n *notifier) listen(ctx context.Context, changed func(payload string), connected func(bool)) (up bool, err error) {
	ps := n.s.c.Subscribe(ctx, n.s.channel())
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer func() {
		stop()
		ps.Close()
	}()
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, n.ping)
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() || pinged {
				if pinged && err != nil {
					err = errSilent
				}
				return up, err
			}
			if err := ps.Ping(ctx); err != nil {
				return up, err
			}
			pinged = true
			continue
		}
		pinged = false
		switch m := msg.(type) {
		case *goredis.Subscription:
			if m.Kind == "subscribe" && !up {
				up = true
				connected(true)
			}
		case *goredis.Message:
			changed(m.Payload)
		}
	}
}
