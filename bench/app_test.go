package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/sesame-auth/sesame/app"
	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/password"
)

// newBenchApp builds and starts Sesame as `sesame serve` wires it, on a
// SQLite file in a temporary directory, with a fixed master key, logs
// discarded and cheap password hashing; set changes the configuration
// first. It is closed when the benchmark ends.
func newBenchApp(b *testing.B, ctx context.Context, publicURL string, set func(*config.Config)) *app.App {
	b.Helper()
	cfg := config.Default()
	cfg.DB = filepath.Join(b.TempDir(), "sesame.db")
	cfg.PublicURL = publicURL
	cfg.MasterKey = config.Secret(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	if set != nil {
		set(cfg)
	}
	a, err := app.New(ctx, cfg,
		app.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		app.WithPasswordParams(password.Params{Memory: 64, Time: 1, Threads: 1}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	a.Start(ctx)
	return a
}
