package mongo

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/sesame-auth/sesame/session"
)

// Notifier returns the Store's [session.Notifier]. Every change is already
// in the change feed when the manager calls Notify, so Notify sends
// nothing; Subscribe delivers a notification for each change written to
// the feed by any process:
//
//   - with change streams (a MongoDB replica set or sharded cluster), it
//     watches the feed collection's inserts, within milliseconds;
//   - without them (a standalone mongod, FerretDB), it reads the feed
//     every Options.PollInterval (100 ms by default), so a change made on
//     one node reaches the others within about one interval plus a query.
//
// Options.Notify "auto" tries a change stream first and falls back to
// polling for good when the server says it has none.
func (s *Store) Notifier() session.Notifier { return &notifier{s: s} }

type notifier struct{ s *Store }

func (n *notifier) Notify(context.Context, string) error { return nil }

func (n *notifier) Subscribe(ctx context.Context, changed func(string), connected func(bool)) error {
	if n.s.opt.Notify != "poll" {
		err := n.watch(ctx, changed, connected)
		if ctx.Err() != nil || n.s.opt.Notify == "changestream" {
			return nil
		}
		_ = err // unsupported: poll instead
	}
	n.poll(ctx, changed, connected)
	return nil
}

// unsupported reports whether err says the server has no change streams:
// a standalone mongod (40573), FerretDB and other servers that do not
// know the stage or the command.
func unsupported(err error) bool {
	var se mdb.ServerError
	if !errors.As(err, &se) {
		return false
	}
	for _, code := range []int{40573, 238, 59, 115, 40324} { // NotAReplicaSet..., NotImplemented, CommandNotFound, CommandNotSupported, unknown stage
		if se.HasErrorCode(code) {
			return true
		}
	}
	return false
}

// watch follows the feed through a change stream, reconnecting after
// failures with a growing delay. It returns when ctx ends, or at once
// with the error when the server has no change streams.
func (n *notifier) watch(ctx context.Context, changed func(string), connected func(bool)) error {
	pipeline := mdb.Pipeline{{{Key: "$match", Value: bson.D{{Key: "operationType", Value: "insert"}}}}}
	delay := 50 * time.Millisecond
	up := false
	for ctx.Err() == nil {
		cs, err := n.s.changes.Watch(ctx, pipeline)
		if err != nil {
			if unsupported(err) && n.s.opt.Notify == "auto" {
				return err
			}
			if up {
				connected(false)
				up = false
			}
			sleep(ctx, delay)
			delay = min(2*delay, 2*time.Second)
			continue
		}
		up, delay = true, 50*time.Millisecond
		connected(true)
		for cs.Next(ctx) {
			var ev struct {
				Doc changeDoc `bson:"fullDocument"`
			}
			if err := cs.Decode(&ev); err != nil || ev.Doc.K == 0 {
				continue
			}
			deliver(changed, []session.Change{{Kind: session.ChangeKind(ev.Doc.K), SessionID: ev.Doc.SID}})
		}
		cs.Close(context.Background())
		if ctx.Err() == nil {
			connected(false)
			up = false
		}
	}
	return nil
}

// poll reads the feed every PollInterval from where it last stopped
// (first from the reserved head). It calls connected(true) after a read
// succeeds and connected(false) at once when one fails.
func (n *notifier) poll(ctx context.Context, changed func(string), connected func(bool)) {
	t := time.NewTicker(n.s.opt.PollInterval)
	defer t.Stop()
	cursor, up := int64(-1), false
	for {
		err := func() error {
			if cursor < 0 {
				head, err := n.s.lastSeq(ctx)
				cursor = head
				return err
			}
			changes, oldest, err := n.s.Changes(ctx, cursor, 1000)
			if err != nil {
				return err
			}
			if cursor < oldest-1 {
				cursor = oldest - 1 // trimmed under us: the view's own sync sees the gap
			}
			if len(changes) > 0 {
				cursor = changes[len(changes)-1].Seq
				deliver(changed, changes)
			}
			return nil
		}()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			cursor = -1
			if up {
				connected(false)
				up = false
			}
		case !up:
			connected(true)
			up = true
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// deliver hands changes to changed as notification payloads.
func deliver(changed func(string), changes []session.Change) {
	var note session.Notification
	for _, c := range changes {
		switch c.Kind {
		case session.ChangeRevoked:
			note.Revoked = append(note.Revoked, c.SessionID)
		case session.ChangeUpdated:
			note.Updated = append(note.Updated, c.SessionID)
		}
	}
	for _, p := range note.Encode() {
		changed(p)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
