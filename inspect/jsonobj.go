package inspect

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
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
		obj = append(obj, Member{Name: name, Value: buf.Bytes()})
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
		b.Write(name)
		b.WriteByte(':')
		b.Write(m.Value)
	}
	b.WriteByte('}')
	return b.Bytes()
}
