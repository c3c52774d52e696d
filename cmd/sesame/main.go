// Command sesame is the Sesame auth server and its command-line tools.
//
// main is thin: it builds a signal-cancelled context and hands the arguments
// to [Run], which end-to-end tests call directly.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
