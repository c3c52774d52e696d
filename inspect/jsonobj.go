package inspect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Member is one member of a decoded JSON object, in the order of the
// input, with its value as compact JSON.
type Member struct {
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
}

// object is a JSON object's members in input order.
type object []Member

// decodeObject reads one JSON object and nothing else. It keeps duplicate
// names (a strict verifier refuses them; the lint says so).
func decodeObject(data []byte) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	var obj object
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, ok := tok.(string)
		if !ok {
			return nil, errors.New("not a JSON object")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, err
		}
		obj = append(obj, Member{Name: name, Value: escapeJSON(buf.Bytes())})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON object")
	}
	return obj, nil
}

// get returns the value of the last member called name (the one
// encoding/json would keep).
func (o object) get(name string) (json.RawMessage, bool) {
	for i := len(o) - 1; i >= 0; i-- {
		if o[i].Name == name {
			return o[i].Value, true
		}
	}
	return nil, false
}

func (o object) has(name string) bool { _, ok := o.get(name); return ok }

// str returns the member as a string, and whether it is one.
func (o object) str(name string) (string, bool) {
	raw, ok := o.get(name)
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// duplicates returns the names that occur more than once.
func (o object) duplicates() []string {
	seen := map[string]int{}
	var dups []string
	for _, m := range o {
		seen[m.Name]++
		if seen[m.Name] == 2 {
			dups = append(dups, m.Name)
		}
	}
	return dups
}

// raw returns the object as compact JSON, in input order.
func (o object) raw() json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(m.Name)
		b.Write(escapeJSON(name))
		b.WriteByte(':')
		b.Write(m.Value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// escapeJSON rewrites compact JSON so that it holds printable characters
// only: DEL, C1 controls (such as CSI, U+009B), bidirectional overrides and
// other non-printable runes become \u escapes, invalid UTF-8 becomes
// U+FFFD. Outside strings JSON has only ASCII, so this never changes the
// value. The report's JSON can then go to a terminal as safely as its text.
func escapeJSON(b []byte) []byte {
	clean := true
	for _, c := range b {
		if c >= 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			out = append(out, `\ufffd`...)
		case r < 0x7f || r != 0x7f && unicode.IsPrint(r):
			out = append(out, b[i:i+size]...)
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
		default:
			out = fmt.Appendf(out, `\u%04x`, r)
		}
		i += size
	}
	return out
}

// nestedDuplicate reports whether any object below the top level of the
// JSON text repeats a member name (the top level is checked by
// [object.duplicates]). Strict verifiers refuse such claims (SEC-24): two
// parsers may keep different values.
func nestedDuplicate(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		names  map[string]bool
		object bool
		key    bool // the next string token is a member name
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, &frame{names: map[string]bool{}, object: true, key: true})
				continue
			case '[':
				stack = append(stack, &frame{})
				continue
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			if top != nil && top.object && top.key {
				if top.names[v] && len(stack) > 1 {
					return true
				}
				top.names[v] = true
				top.key = false
				continue
			}
		}
		// A value ended: the next token of an enclosing object is a name.
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].key = true
		}
	}
}
