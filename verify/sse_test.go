package verify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// parseAll reads every event and comment of in, and the error that ended
// the stream (nil for a clean end).
func parseAll(r io.Reader) ([]sseEvent, error) {
	p := newSSEParser(r)
	var out []sseEvent
	for {
		ev, err := p.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
}

// refParse is the spec's algorithm written as plainly as possible, without
// bounds and on the whole input: the parser must agree with it.
func refParse(in string) []sseEvent {
	in = strings.TrimPrefix(in, "\uFEFF")
	var lines []string
	for {
		i := strings.IndexAny(in, "\r\n")
		if i < 0 {
			break // an unterminated last line is discarded
		}
		lines = append(lines, in[:i])
		if strings.HasPrefix(in[i:], "\r\n") {
			i++
		}
		in = in[i+1:]
	}
	var out []sseEvent
	var typ, id string
	var data strings.Builder
	for _, l := range lines {
		if l == "" {
			if d := data.String(); d != "" {
				t := typ
				if t == "" {
					t = "message"
				}
				out = append(out, sseEvent{Type: t, ID: id, Data: d[:len(d)-1]})
			}
			typ = ""
			data.Reset()
			continue
		}
		if l[0] == ':' {
			out = append(out, sseEvent{Comment: true, Text: l[1:]})
			continue
		}
		field, value, _ := strings.Cut(l, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			typ = value
		case "data":
			data.WriteString(value + "\n")
		case "id":
			if !strings.Contains(value, "\x00") {
				id = value
			}
		}
	}
	return out
}

func TestSSEParser(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []sseEvent
	}{
		{"revocation", "retry: 1000\n\nevent: revocation\nid: 12\ndata: {\"seq\":12}\n\n: heartbeat\n\n",
			[]sseEvent{{Type: "revocation", ID: "12", Data: `{"seq":12}`}, {Comment: true, Text: " heartbeat"}}},
		{"CRLF", "event: a\r\nid: 1\r\ndata: x\r\n\r\n", []sseEvent{{Type: "a", ID: "1", Data: "x"}}},
		{"CR", "event: a\rid: 1\rdata: x\r\r", []sseEvent{{Type: "a", ID: "1", Data: "x"}}},
		{"mixed ends", "data: a\r\ndata: b\rdata: c\n\r\n", []sseEvent{{Type: "message", Data: "a\nb\nc"}}},
		{"BOM", "\uFEFFdata: x\n\n", []sseEvent{{Type: "message", Data: "x"}}},
		{"only the first BOM", "\uFEFF\uFEFFdata: x\n\n", nil},
		{"no space", "data:x\nid:7\n\n", []sseEvent{{Type: "message", ID: "7", Data: "x"}}},
		{"one space removed", "data:  x\n\n", []sseEvent{{Type: "message", Data: " x"}}},
		{"field without colon", "data\ndata\n\n", []sseEvent{{Type: "message", Data: "\n"}}},
		{"no data: not dispatched", "event: a\nid: 3\n\ndata: y\n\n", []sseEvent{{Type: "message", ID: "3", Data: "y"}}},
		{"id kept across events", "id: 5\ndata: a\n\ndata: b\n\n",
			[]sseEvent{{Type: "message", ID: "5", Data: "a"}, {Type: "message", ID: "5", Data: "b"}}},
		{"id with NUL ignored", "id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
			[]sseEvent{{Type: "message", ID: "1", Data: "a"}, {Type: "message", ID: "1", Data: "b"}}},
		{"unknown field ignored", "foo: bar\ndata: a\n\n", []sseEvent{{Type: "message", Data: "a"}}},
		{"unterminated event discarded", "data: a\n\ndata: b\n", []sseEvent{{Type: "message", Data: "a"}}},
		{"unterminated line discarded", "data: a\n\ndata: b", []sseEvent{{Type: "message", Data: "a"}}},
		{"empty", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range []io.Reader{strings.NewReader(tc.in), iotest.OneByteReader(strings.NewReader(tc.in))} {
				got, err := parseAll(r)
				if err != nil || !sameEvents(got, tc.want) {
					t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
				}
			}
			if got := refParse(tc.in); !sameEvents(got, tc.want) {
				t.Fatalf("reference: got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestSSEParserRetry(t *testing.T) {
	p := newSSEParser(strings.NewReader("retry: 2500\n\nretry: 12x\n\nretry: -1\n\n"))
	if _, err := p.Next(); err != io.EOF || p.Retry != 2500 {
		t.Fatalf("got %v, retry %d; want EOF, 2500", err, p.Retry)
	}
}

// A stream that sends an endless line or event is refused at the bound,
// after reading little more than the bound: a hostile or broken issuer
// cannot make the verifier buffer without limit.
func TestSSEParserBounds(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   io.Reader
		want error
	}{
		{"endless line", io.MultiReader(strings.NewReader("data: "), endless('x')), errSSELineTooLong},
		{"endless comment", io.MultiReader(strings.NewReader(":"), endless('x')), errSSELineTooLong},
		{"endless CR-free line after CR", io.MultiReader(strings.NewReader("\r"), endless('y')), errSSELineTooLong},
		{"long line", strings.NewReader("data: " + strings.Repeat("x", maxSSELine) + "\n\n"), errSSELineTooLong},
		{"endless event", endlessEvent(), errSSEEventTooLong},
		{"long event type", strings.NewReader(strings.Repeat("event: "+strings.Repeat("t", 4000)+"\ndata: "+strings.Repeat("d", 4000)+"\n", 8) + "\n"), errSSEEventTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := &countingReader{r: tc.in}
			_, err := parseAll(cr)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if cr.n > 2*maxSSEEvent+maxSSELine {
				t.Fatalf("read %d bytes before refusing", cr.n)
			}
		})
	}
	// At the bounds exactly, the event is accepted.
	line := "data: " + strings.Repeat("x", maxSSELine-len("data: ")) + "\n"
	got, err := parseAll(strings.NewReader(line + "\n"))
	if err != nil || len(got) != 1 || len(got[0].Data) != maxSSELine-len("data: ") {
		t.Fatalf("a line of exactly maxSSELine: got %d events, %v", len(got), err)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// endless reads c forever.
func endless(c byte) io.Reader { return &repeatReader{b: []byte{c}} }

// endlessEvent is an event of short data lines that never ends.
func endlessEvent() io.Reader { return &repeatReader{b: []byte("data: 0123456789\n")} }

type repeatReader struct {
	b []byte
	i int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	for n := range p {
		p[n] = r.b[r.i%len(r.b)]
		r.i++
	}
	return len(p), nil
}

// checkSSEParser is the property FuzzSSEParser checks: no panic, events
// within the bounds, the same events whatever the read sizes, and the
// events of the spec's algorithm (up to a refused bound).
func checkSSEParser(t *testing.T, in []byte) {
	whole, err := parseAll(bytes.NewReader(in))
	bytewise, err2 := parseAll(iotest.OneByteReader(bytes.NewReader(in)))
	if !sameEvents(whole, bytewise) || err2 != err {
		t.Fatalf("read whole: %s, %v; byte by byte: %s, %v", short(whole), err, short(bytewise), err2)
	}
	if err != nil && !errors.Is(err, errSSELineTooLong) && !errors.Is(err, errSSEEventTooLong) {
		t.Fatalf("unexpected error %v", err)
	}
	for _, ev := range whole {
		if len(ev.Data) > maxSSEEvent || len(ev.Text) > maxSSELine || len(ev.ID) > maxSSELine || strings.Contains(ev.ID, "\x00") {
			t.Fatalf("event beyond the bounds: %d data, %d text, %q id", len(ev.Data), len(ev.Text), ev.ID)
		}
	}
	ref := refParse(string(in))
	if err == nil && !sameEvents(whole, ref) || err != nil && (len(whole) > len(ref) || !sameEvents(whole, ref[:len(whole)])) {
		t.Fatalf("got %s (%v), the spec's algorithm gives %s", short(whole), err, short(ref))
	}
}

func sameEvents(a, b []sseEvent) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}

// short formats v for a failure message, cut to a readable length.
func short(v any) string {
	s := fmt.Sprintf("%+v", v)
	if len(s) > 300 {
		s = s[:300] + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return s
}
