package config

import (
	"strings"
	"testing"
)

// The sessions store may be MongoDB (or FerretDB): single and multi-host
// mongodb:// URLs and mongodb+srv:// are accepted, and their passwords
// never appear in what is printed.
func TestSessionsURLMongo(t *testing.T) {
	for _, ok := range []string{
		"mongodb://127.0.0.1:27018/sesame",
		"mongodb://sesame:s3cret-pw@h1:27017,h2:27017,h3:27017/sesame?replicaSet=rs0&poll_interval=50ms",
		"mongodb+srv://sesame:s3cret-pw@cluster0.example.net/sesame",
	} {
		if err := checkSessionsURL(ok); err != nil {
			t.Errorf("checkSessionsURL(%q): %v", RedactURL(ok), err)
		}
		if strings.Contains(ok, "s3cret-pw") && strings.Contains(RedactURL(ok), "s3cret-pw") {
			t.Errorf("RedactURL kept the password: %s", RedactURL(ok))
		}
	}
	for _, bad := range []string{"mongo://h:1/db", "mongodb:/h", "memcached://h:1"} {
		err := checkSessionsURL(bad)
		if err == nil {
			t.Errorf("checkSessionsURL(%q): got nil, want an error", bad)
			continue
		}
		if !strings.Contains(err.Error(), "mongodb://") {
			t.Errorf("checkSessionsURL(%q): %v: want the accepted schemes named", bad, err)
		}
	}
}
