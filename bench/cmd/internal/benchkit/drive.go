package benchkit

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Loop describes a closed-loop load: Concurrency workers, each sending GET
// URL back to back with the same request, until Duration has passed or
// Limit requests (when > 0) have been sent. Requests in flight at the end
// finish and count; the elapsed time runs to the last of them.
type Loop struct {
	URL         string
	UserAgent   string
	Header      []string     // name, value pairs set on every request
	Creds       []Credential // worker w sends Creds[w % len(Creds)], if any
	Concurrency int
	Duration    time.Duration
	Limit       int64
}

// LoopResult is what a [Loop] measured: latencies of the answered
// requests, non-200 answers and transport errors by name, and the time.
type LoopResult struct {
	Hist     Histogram
	Statuses map[string]uint64
	Errors   uint64
	Seconds  float64
}

// Drive runs l with client until it ends or ctx is done.
func Drive(ctx context.Context, client *http.Client, l Loop) *LoopResult {
	var stop atomic.Bool
	timer := time.AfterFunc(l.Duration, func() { stop.Store(true) })
	defer timer.Stop()
	var issued atomic.Int64
	outs := make([]LoopResult, l.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range l.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := &outs[w]
			o.Statuses = map[string]uint64{}
			req, err := http.NewRequestWithContext(ctx, "GET", l.URL, nil)
			if err != nil {
				o.Statuses["request: "+err.Error()]++
				o.Errors++
				return
			}
			req.Header.Set("User-Agent", l.UserAgent)
			for i := 0; i+1 < len(l.Header); i += 2 {
				req.Header.Set(l.Header[i], l.Header[i+1])
			}
			if len(l.Creds) > 0 {
				l.Creds[w%len(l.Creds)].Apply(req)
			}
			for !stop.Load() && ctx.Err() == nil {
				if l.Limit > 0 && issued.Add(1) > l.Limit {
					return
				}
				t := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					o.Statuses[transportError(err)]++
					o.Errors++
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				o.Hist.Record(time.Since(t))
				if resp.StatusCode != http.StatusOK {
					o.Statuses[fmt.Sprint(resp.StatusCode)]++
					o.Errors++
				}
			}
		}()
	}
	wg.Wait()
	r := &LoopResult{Statuses: map[string]uint64{}, Seconds: time.Since(start).Seconds()}
	for i := range outs {
		r.Hist.Merge(&outs[i].Hist)
		r.Errors += outs[i].Errors
		for k, v := range outs[i].Statuses {
			r.Statuses[k] += v
		}
	}
	return r
}

// transportError names a transport error briefly, for the status counts.
func transportError(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return "error: " + s
}
