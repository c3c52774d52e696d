package config

import (
	"strings"
	"testing"
)

// metrics_addr: off by default, set by flag, environment or file, and a
// value that is not host:port, or that is addr itself (the public
// listener), is refused naming the key.
func TestMetricsAddr(t *testing.T) {
	c, err := load(t, env{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.MetricsAddr != "" {
		t.Fatalf("default metrics_addr %q, want off", c.MetricsAddr)
	}
	if c, err = load(t, env{}, "", "--metrics-addr", "127.0.0.1:9090"); err != nil || c.MetricsAddr != "127.0.0.1:9090" {
		t.Fatalf("flag: %v %q", err, c.MetricsAddr)
	}
	if c, err = load(t, env{"SESAME_METRICS_ADDR": "127.0.0.1:9091"}, ""); err != nil || c.MetricsAddr != "127.0.0.1:9091" {
		t.Fatalf("environment: %v", err)
	}
	if c, err = load(t, env{}, writeFile(t, "sesame.yaml", "metrics_addr: 127.0.0.1:9092\n")); err != nil || c.MetricsAddr != "127.0.0.1:9092" {
		t.Fatalf("file: %v", err)
	}
	for _, args := range [][]string{
		{"--metrics-addr", "9090"},
		{"--metrics-addr", "http://127.0.0.1:9090/metrics"},
		{"--addr", "127.0.0.1:8080", "--metrics-addr", "127.0.0.1:8080"},
	} {
		_, err := load(t, env{}, "", args...)
		if err == nil || !strings.Contains(err.Error(), "--metrics-addr") {
			t.Errorf("%v: got %v, want a problem naming --metrics-addr", args, err)
		}
	}
}
