package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	// Where names the key and its source: "sesame.yaml:12: idle_timeout",
	// "SESAME_DB", "--addr".
	Where string
	// Msg says what is wrong and, where it helps, what to write instead. It
	// never holds a secret.
	Msg string
	// Usage: the problem is in the command line (exit status 2).
	Usage bool
}

func (p Problem) String() string {
	if p.Where == "" {
		return p.Msg
	}
	return p.Where + ": " + p.Msg
}

// Problems is the error [Load] returns: every problem found, in the order
// found.
type Problems struct {
	List []Problem
}

func (ps *Problems) add(p Problem) { ps.List = append(ps.List, p) }

func (ps *Problems) addf(where string, usage bool, format string, a ...any) {
	ps.add(Problem{Where: where, Usage: usage, Msg: fmt.Sprintf(format, a...)})
}

// err returns ps as an error, or nil when it holds no problem.
func (ps *Problems) err() error {
	if len(ps.List) == 0 {
		return nil
	}
	return ps
}

// Error lists every problem, one per line after the first.
func (ps *Problems) Error() string {
	if len(ps.List) == 1 {
		return ps.List[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d configuration problems:", len(ps.List))
	for _, p := range ps.List {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Usage reports whether every problem is in the command line, so that the
// command exits with status 2 (a usage error) rather than 1.
func (ps *Problems) Usage() bool {
	for _, p := range ps.List {
		if !p.Usage {
			return false
		}
	}
	return len(ps.List) > 0
}

// redact returns ps with every secret of c removed from its messages.
func (ps *Problems) redact(c *Config) {
	for i := range ps.List {
		ps.List[i].Msg = c.Redact(ps.List[i].Msg)
		ps.List[i].Where = c.Redact(ps.List[i].Where)
	}
}
