package password

import (
	"fmt"
	"log/slog"
)

const redacted = "[redacted]"

// Secret is a byte string that redacts itself when printed with fmt (every
// verb), logged with log/slog or marshalled to JSON, so that a Hasher
// holding a pepper can be logged without leaking it. Assign a []byte to it
// directly.
type Secret []byte

// String returns "[redacted]".
func (Secret) String() string { return redacted }

// GoString returns "[redacted]", also for %#v.
func (Secret) GoString() string { return redacted }

// Format writes "[redacted]" for every verb, including %x and %d.
func (Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue returns "[redacted]" for log/slog.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON encodes "[redacted]", so that JSON log handlers, which marshal
// struct fields without calling LogValue, do not leak the secret either.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
