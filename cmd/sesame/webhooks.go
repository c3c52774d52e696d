package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/app"
	"github.com/sesame-auth/sesame/webhook"
)

func init() {
	register("webhooks", "list pending and dead-lettered webhooks, retry dead ones, make a secret", runWebhooks)
}

func runWebhooks(ctx context.Context, env *Env, args []string) error {
	return dispatch(ctx, env, "webhooks", map[string]subcommand{
		"list":   {"list the outbox: sesame webhooks list [--dead] [--json]", webhooksList},
		"retry":  {"make dead-lettered webhooks due again: sesame webhooks retry ID | --all-dead", webhooksRetry},
		"secret": {"print a new signing secret (whsec_...) for an endpoint's secrets or secret_files", webhooksSecret},
	}, args)
}

// openOutbox opens the deployment (as a command) and its webhook outbox.
func openOutbox(ctx context.Context, env *Env, d *deployFlags) (*app.App, webhook.Store, error) {
	a, err := d.open(ctx, env)
	if err != nil {
		return nil, nil, err
	}
	ws, err := a.WebhookStore()
	if err != nil {
		a.Close()
		return nil, nil, failure("webhooks: %v", err)
	}
	return a, ws, nil
}

// webhookOut is one message as `webhooks list --json` prints it. The
// payload holds no secret (see package webhook); the endpoint URL is
// printed without its query or user-info, which may hold a credential.
type webhookOut struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	URL       string          `json:"url"`
	CreatedAt time.Time       `json:"created_at"`
	DueAt     *time.Time      `json:"due_at,omitempty"`
	DeadAt    *time.Time      `json:"dead_at,omitempty"`
	Attempts  int             `json:"attempts"`
	LastError string          `json:"last_error,omitempty"`
	Payload   json.RawMessage `json:"payload"`
}

// safeURL is u without query, fragment or user-info.
func safeURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unreadable URL)"
	}
	q := p.RawQuery != ""
	p.RawQuery, p.User, p.Fragment, p.ForceQuery = "", nil, "", false
	if q {
		return p.String() + "?…"
	}
	return p.String()
}

func webhooksList(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "webhooks list", "sesame webhooks list [--dead] [--json] [--config FILE] [--db DB]", `
Lists the webhook outbox of the deployment's database: the pending
webhooks (queued, being retried), or with --dead those dead-lettered after
about 24 hours of failed attempts. Each row is one event for one endpoint;
its ID is the webhook-id the receiver sees. ATTEMPTS counts the attempts
of the current schedule, NEXT is the next attempt (or the end of the claim
of an attempt in progress). With --json the output is an array of
{id, type, url, created_at, due_at or dead_at, attempts, last_error, payload}.`)
	dead := fs.Bool("dead", false, "list the dead-lettered webhooks instead of the pending ones")
	asJSON := fs.Bool("json", false, "print a JSON array")
	d := addDeployFlags(fs, false)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("webhooks list takes no arguments, got %q", fs.Arg(0))
	}
	a, ws, err := openOutbox(ctx, env, d)
	if err != nil {
		return err
	}
	defer a.Close()
	var all []*webhook.Message
	for after := ""; ; {
		page, err := ws.ListWebhooks(ctx, *dead, after, 500)
		if err != nil {
			return failure("webhooks list: %s", safeMessage(err))
		}
		all = append(all, page...)
		if len(page) < 500 {
			break
		}
		after = page[len(page)-1].ID
	}
	if *asJSON {
		out := make([]webhookOut, 0, len(all))
		for _, m := range all {
			o := webhookOut{ID: m.ID, Type: m.Type, URL: safeURL(m.URL), CreatedAt: m.CreatedAt.UTC(), Attempts: m.Attempts,
				LastError: m.LastError, Payload: json.RawMessage(m.Payload)}
			if !json.Valid(m.Payload) {
				o.Payload = json.RawMessage("null")
			}
			if m.DeadAt.IsZero() {
				t := m.DueAt.UTC()
				o.DueAt = &t
			} else {
				t := m.DeadAt.UTC()
				o.DeadAt = &t
			}
			out = append(out, o)
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(all) == 0 {
		if *dead {
			printf(env.Stdout, "no dead-lettered webhooks\n")
		} else {
			printf(env.Stdout, "no pending webhooks\n")
		}
		return nil
	}
	when := "NEXT"
	if *dead {
		when = "DEAD SINCE"
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ID\tTYPE\tENDPOINT\tCREATED\t%s\tATTEMPTS\tLAST ERROR\n", when)
	for _, m := range all {
		at := m.DueAt
		if *dead {
			at = m.DeadAt
		}
		last := m.LastError
		if last == "" {
			last = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", m.ID, m.Type, safeURL(m.URL),
			m.CreatedAt.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339), m.Attempts, truncateRunes(oneLine(last), 80))
	}
	return tw.Flush()
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func webhooksRetry(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "webhooks retry", "sesame webhooks retry [--config FILE] [--db DB] ID | --all-dead", `
Makes dead-lettered webhooks due again, each with a new retry schedule
(about 24 hours), in the deployment's database: the running servers
deliver them within seconds, with their original webhook-id. This command
sends nothing itself: with no server running, they wait in the outbox
(sesame webhooks list). A pending webhook is retried on its own schedule
and is refused here.`)
	allDead := fs.Bool("all-dead", false, "retry every dead-lettered webhook")
	d := addDeployFlags(fs, false)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *allDead && fs.NArg() > 0:
		return usageError("webhooks retry: give an ID or --all-dead, not both")
	case !*allDead && fs.NArg() != 1:
		return usageError("webhooks retry: want one webhook ID (see sesame webhooks list --dead) or --all-dead")
	}
	a, ws, err := openOutbox(ctx, env, d)
	if err != nil {
		return err
	}
	defer a.Close()
	now := a.Clock().Now().UTC()
	if *allDead {
		n, err := ws.ReviveDeadWebhooks(ctx, now)
		if err != nil {
			return failure("webhooks retry: %s", safeMessage(err))
		}
		if n == 0 {
			printf(env.Stdout, "no dead-lettered webhooks: nothing to retry\n")
			return nil
		}
		printf(env.Stdout, "%d dead-lettered webhook(s) due again now; running servers deliver them (sesame webhooks list shows what is still pending)\n", n)
		return nil
	}
	id := strings.TrimSpace(fs.Arg(0))
	if err := ws.ReviveWebhook(ctx, id, now); err != nil {
		if errors.Is(err, sesame.ErrNotFound) {
			return failure("webhooks retry: no dead-lettered webhook %q (sesame webhooks list --dead lists them; a pending one is retried on its own schedule)", truncateRunes(oneLine(id), 80))
		}
		return failure("webhooks retry: %s", safeMessage(err))
	}
	printf(env.Stdout, "webhook %s due again now; running servers deliver it (sesame webhooks list shows whether it is still pending)\n", id)
	return nil
}

func webhooksSecret(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "webhooks secret", "sesame webhooks secret", `
Prints a new webhook signing secret: whsec_ and the base64 of 32 random
bytes. Put it in a file named by the endpoint's secret_files (sesame
webhooks secret > hooks.secret) and give the same value to the receiver.
To rotate, list the new secret beside the old one (each request is then
signed with both), update the receiver, then drop the old one.`)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("webhooks secret takes no arguments")
	}
	printf(env.Stdout, "%s\n", webhook.NewSecret())
	return nil
}
