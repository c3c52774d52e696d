package verify

import (
	"errors"
	"io"
	"strconv"
	"strings"
)

// Bounds of the event-stream parser. The revocation stream's events are
// about 150 bytes; the bounds leave room for growth, not for abuse.
const (
	// maxSSELine bounds one line of the stream, its end excluded.
	maxSSELine = 8 << 10
	// maxSSEEvent bounds the fields of one event (data, id and type
	// together) before it is dispatched.
	maxSSEEvent = 32 << 10
)

var (
	errSSELineTooLong  = errors.New("verify: event stream line too long")
	errSSEEventTooLong = errors.New("verify: event stream event too large")
)

// sseEvent is one event, or one comment, read from an event stream.
type sseEvent struct {
	// Comment is set (and nothing else) for a comment line: its text
	// after the colon. A heartbeat is a comment.
	Comment bool
	Text    string

	// Type is the event type ("message" when the event names none), ID the
	// last event ID of the stream after this event (the spec's last event
	// ID buffer, which an event without an id field leaves unchanged), Data
	// the data lines joined by "\n".
	Type string
	ID   string
	Data string
}

// sseParser reads an event stream (WHATWG HTML, "Server-sent events",
// §9.2.6 interpreting an event stream) from r, with bounded lines and
// events: lines end with CRLF, LF or CR; a leading BOM is skipped; a line
// beginning with a colon is a comment; "event", "data", "id" (ignored when
// it contains NUL) and "retry" (digits only) are the fields, any other is
// ignored; an empty line dispatches the event, unless it has no data; an
// event unterminated at the end of the stream is discarded. Not safe for
// concurrent use.
type sseParser struct {
	r   io.Reader
	buf []byte // read but not yet consumed: buf[pos:end]
	pos int
	end int
	err error // of r, once it has failed

	started bool // the BOM check is done
	skipLF  bool // the last line ended with CR: a LF right after belongs to it
	line    []byte

	evType, data strings.Builder
	lastID       string
	size         int // of the pending event's fields
	// Retry is the reconnection time the stream asked for, in milliseconds
	// (-1: none).
	Retry int64
}

func newSSEParser(r io.Reader) *sseParser {
	return &sseParser{r: r, buf: make([]byte, 4<<10), Retry: -1}
}

// Next returns the next event or comment. It returns io.EOF at the end of
// the stream, errSSELineTooLong or errSSEEventTooLong when a bound is
// exceeded (the stream must then be abandoned), or the reader's error.
func (p *sseParser) Next() (sseEvent, error) {
	for {
		line, err := p.readLine()
		if err != nil {
			return sseEvent{}, err
		}
		if ev, ok, err := p.processLine(line); ok || err != nil {
			return ev, err
		}
	}
}

// processLine interprets one line; ok reports an event or comment to
// return.
func (p *sseParser) processLine(line []byte) (ev sseEvent, ok bool, err error) {
	if len(line) == 0 {
		return p.dispatch()
	}
	if line[0] == ':' {
		return sseEvent{Comment: true, Text: string(line[1:])}, true, nil
	}
	field, value := line, []byte(nil)
	if i := indexByte(line, ':'); i >= 0 {
		field, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(field) {
	case "event":
		p.size += len(value) - p.evType.Len()
		p.evType.Reset()
		p.evType.Write(value)
	case "data":
		p.size += len(value) + 1
		if p.size > maxSSEEvent {
			return sseEvent{}, false, errSSEEventTooLong
		}
		p.data.Write(value)
		p.data.WriteByte('\n')
	case "id":
		if indexByte(value, 0) < 0 {
			p.lastID = string(value)
		}
	case "retry":
		if n, err := strconv.ParseInt(string(value), 10, 64); err == nil && allDigits(value) {
			p.Retry = n
		}
	}
	if p.size > maxSSEEvent {
		return sseEvent{}, false, errSSEEventTooLong
	}
	return sseEvent{}, false, nil
}

// dispatch ends the pending event at an empty line.
func (p *sseParser) dispatch() (ev sseEvent, ok bool, err error) {
	data, typ := p.data.String(), p.evType.String()
	p.data.Reset()
	p.evType.Reset()
	p.size = 0
	if data == "" {
		return sseEvent{}, false, nil
	}
	if typ == "" {
		typ = "message"
	}
	return sseEvent{Type: typ, ID: p.lastID, Data: data[:len(data)-1]}, true, nil
}

// readLine returns the next line without its end. The slice is valid
// until the next call.
func (p *sseParser) readLine() ([]byte, error) {
	p.line = p.line[:0]
	for {
		if p.pos == p.end {
			if p.err != nil {
				return nil, p.err // an unterminated line is discarded
			}
			n, err := p.r.Read(p.buf)
			p.pos, p.end = 0, n
			if err != nil {
				p.err = err
			}
			continue
		}
		chunk := p.buf[p.pos:p.end]
		if !p.started {
			// A leading BOM is skipped; read until it can be told apart.
			for p.end-p.pos < len(bom) && p.err == nil && hasPrefix(bom, p.buf[p.pos:p.end]) {
				n, err := p.r.Read(p.buf[p.end:])
				p.end += n
				p.err = err
			}
			p.started = true
			if hasPrefix(p.buf[p.pos:p.end], bom) {
				p.pos += len(bom)
			}
			continue
		}
		if p.skipLF {
			p.skipLF = false
			if chunk[0] == '\n' {
				p.pos++
				continue
			}
		}
		i := indexEOL(chunk)
		if i < 0 {
			if len(p.line)+len(chunk) > maxSSELine {
				return nil, errSSELineTooLong
			}
			p.line = append(p.line, chunk...)
			p.pos = p.end
			continue
		}
		if len(p.line)+i > maxSSELine {
			return nil, errSSELineTooLong
		}
		p.line = append(p.line, chunk[:i]...)
		p.skipLF = chunk[i] == '\r'
		p.pos += i + 1
		return p.line, nil
	}
}

var bom = []byte("\xEF\xBB\xBF")

func indexEOL(b []byte) int {
	for i, c := range b {
		if c == '\n' || c == '\r' {
			return i
		}
	}
	return -1
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func hasPrefix(b, prefix []byte) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == string(prefix)
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}
