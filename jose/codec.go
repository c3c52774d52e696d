package jose

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// The claims codec reads and writes the caller's claims struct. Registered
// claims go through [Claims] directly; the other fields follow a plan
// computed once per type with reflect: strings, booleans, numbers, string
// slices, NumericDate and Audience are handled here, anything else (maps,
// nested structs, types with their own UnmarshalJSON) by encoding/json.
//
// Member names match json tags exactly (encoding/json also matches other
// letter cases; this package does not).

type fieldKind uint8

const (
	kindString fieldKind = iota
	kindBool
	kindInt
	kindUint
	kindFloat
	kindStrings
	kindDate
	kindAudience
	kindJSON
)

type fieldPlan struct {
	name      string
	index     []int
	kind      fieldKind
	omitEmpty bool
	omitZero  bool
}

type structPlan struct {
	fields []fieldPlan
	byName map[string]int
	hasReg bool // the struct embeds Claims
	err    error
}

var plans sync.Map // reflect.Type → *structPlan

var (
	claimsType      = reflect.TypeFor[Claims]()
	dateType        = reflect.TypeFor[NumericDate]()
	audienceType    = reflect.TypeFor[Audience]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	marshalerType   = reflect.TypeFor[json.Marshaler]()
)

var claimsOnlyPlan = &structPlan{hasReg: true}

func isRegistered(name string) bool {
	switch name {
	case "iss", "sub", "aud", "exp", "nbf", "iat", "jti":
		return true
	}
	return false
}

func planFor(t reflect.Type) *structPlan {
	if p, ok := plans.Load(t); ok {
		return p.(*structPlan)
	}
	p := &structPlan{byName: map[string]int{}}
	p.collect(t, nil)
	if p.err == nil && p.hasReg {
		for _, f := range p.fields {
			if isRegistered(f.name) {
				p.err = fmt.Errorf("jose: claims type %s: field for %q duplicates the embedded jose.Claims", t, f.name)
			}
		}
	}
	actual, _ := plans.LoadOrStore(t, p)
	return actual.(*structPlan)
}

func (p *structPlan) collect(t reflect.Type, index []int) {
	for i := range t.NumField() {
		sf := t.Field(i)
		idx := append(append([]int(nil), index...), i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" {
			if sf.Type == claimsType {
				p.hasReg = true
				continue
			}
			if sf.Type.Kind() == reflect.Struct {
				p.collect(sf.Type, idx)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		f := fieldPlan{name: name, index: idx, kind: kindOf(sf.Type),
			omitEmpty: strings.Contains(","+opts+",", ",omitempty,"),
			omitZero:  strings.Contains(","+opts+",", ",omitzero,")}
		if _, dup := p.byName[name]; dup {
			p.err = fmt.Errorf("jose: claims type: two fields for the JSON name %q", name)
			return
		}
		p.byName[name] = len(p.fields)
		p.fields = append(p.fields, f)
	}
}

func kindOf(t reflect.Type) fieldKind {
	switch {
	case t == dateType:
		return kindDate
	case t == audienceType:
		return kindAudience
	case reflect.PointerTo(t).Implements(unmarshalerType) || t.Implements(marshalerType):
		return kindJSON
	}
	switch t.Kind() {
	case reflect.String:
		return kindString
	case reflect.Bool:
		return kindBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return kindInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return kindUint
	case reflect.Float32, reflect.Float64:
		return kindFloat
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String && kindOf(t.Elem()) == kindString {
			return kindStrings
		}
	}
	return kindJSON
}

func (p *structPlan) lookup(name string) *fieldPlan {
	if len(p.fields) <= 8 {
		for i := range p.fields {
			if p.fields[i].name == name {
				return &p.fields[i]
			}
		}
		return nil
	}
	if i, ok := p.byName[name]; ok {
		return &p.fields[i]
	}
	return nil
}

// claimsDecoder holds the state of decoding one claims object.
type claimsDecoder struct {
	reg      *Claims
	required []string
	seen     uint64 // bit i: required[i] was present and not null
}

// decodeClaims decodes the claims JSON s into target, a non-nil pointer to
// a struct (embedding Claims or not) or to anything encoding/json decodes
// (such as map[string]any). d.reg receives the registered claims.
func (d *claimsDecoder) decode(s string, target any) error {
	rv := reflect.ValueOf(target)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errorf(ErrInvalidClaims, "claims target must be a non-nil pointer")
	}
	var plan *structPlan
	var root reflect.Value
	rv.Elem().SetZero()
	if elem := rv.Elem(); elem.Kind() == reflect.Struct {
		if elem.Type() == claimsType {
			plan = claimsOnlyPlan
		} else if plan = planFor(elem.Type()); plan.err != nil {
			return plan.err
		}
		root = elem
	}
	if h, ok := target.(registeredHolder); ok {
		d.reg = h.RegisteredClaims()
		*d.reg = Claims{}
	} else {
		d.reg = new(Claims) // for validation only; not the fast path
	}
	sc := scanner{s: s}
	var names nameSet
	it := sc.object()
	for {
		name, more, ok := it.next()
		if !ok {
			return errClaimsJSON
		}
		if !more {
			break
		}
		if !names.add(name) {
			return errDuplicate
		}
		sc.ws()
		if sc.peek() != 'n' {
			for i, r := range d.required {
				if r == name {
					d.seen |= 1 << uint(i)
				}
			}
		}
		start := sc.pos
		if isRegistered(name) {
			if err := d.registered(&sc, name); err != nil {
				return err
			}
			if plan == nil || plan.hasReg {
				continue
			}
			sc.pos = start
		}
		var f *fieldPlan
		if plan != nil {
			f = plan.lookup(name)
		}
		if f == nil {
			if _, ok := sc.value(1); !ok {
				return errClaimsJSON
			}
			continue
		}
		if err := decodeField(&sc, root.FieldByIndex(f.index), f.kind); err != nil {
			return err
		}
	}
	if !sc.atEnd() {
		return errClaimsJSON
	}
	if plan == nil {
		if err := json.Unmarshal([]byte(s), target); err != nil {
			return errorf(ErrInvalidClaims, "claims do not fit the target type")
		}
	}
	return nil
}

func (d *claimsDecoder) registered(sc *scanner, name string) error {
	c := d.reg
	switch name {
	case "iss", "sub", "jti":
		v, ok := sc.str()
		if !ok {
			return errClaimType
		}
		switch name {
		case "iss":
			c.Issuer = v
		case "sub":
			c.Subject = v
		default:
			c.ID = v
		}
	case "aud":
		v, ok := readAudience(sc)
		if !ok {
			return errClaimType
		}
		c.Audience = v
	default: // exp, nbf, iat
		num, ok := sc.number()
		if !ok {
			return errDateType
		}
		v, ok := parseNumericDate(num)
		if !ok {
			return errDateType
		}
		switch name {
		case "exp":
			c.ExpiresAt = v
		case "nbf":
			c.NotBefore = v
		default:
			c.IssuedAt = v
		}
	}
	return nil
}

func decodeField(sc *scanner, fv reflect.Value, kind fieldKind) error {
	sc.ws()
	if sc.literal("null") {
		return nil // like encoding/json: null leaves the field alone
	}
	switch kind {
	case kindString:
		v, ok := sc.str()
		if !ok {
			return errClaimType
		}
		fv.SetString(v)
	case kindBool:
		switch {
		case sc.literal("true"):
			fv.SetBool(true)
		case sc.literal("false"):
			fv.SetBool(false)
		default:
			return errClaimType
		}
	case kindInt:
		num, ok := sc.number()
		n, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || fv.OverflowInt(n) {
			return errClaimType
		}
		fv.SetInt(n)
	case kindUint:
		num, ok := sc.number()
		n, err := strconv.ParseUint(num, 10, 64)
		if !ok || err != nil || fv.OverflowUint(n) {
			return errClaimType
		}
		fv.SetUint(n)
	case kindFloat:
		num, ok := sc.number()
		n, err := strconv.ParseFloat(num, 64)
		if !ok || err != nil || fv.OverflowFloat(n) {
			return errClaimType
		}
		fv.SetFloat(n)
	case kindStrings:
		v, ok := sc.stringArray()
		if !ok {
			return errClaimType
		}
		*(*[]string)(fv.Addr().UnsafePointer()) = v
	case kindDate:
		num, ok := sc.number()
		if !ok {
			return errDateType
		}
		v, ok := parseNumericDate(num)
		if !ok {
			return errDateType
		}
		*fv.Addr().Interface().(*NumericDate) = v
	case kindAudience:
		v, ok := readAudience(sc)
		if !ok {
			return errClaimType
		}
		*fv.Addr().Interface().(*Audience) = v
	default:
		raw, ok := sc.value(1)
		if !ok {
			return errClaimsJSON
		}
		if err := json.Unmarshal([]byte(raw), fv.Addr().Interface()); err != nil {
			return errClaimType
		}
	}
	return nil
}

// appendClaims appends the JSON object for claims: a struct or pointer to
// struct (registered claims first, in a fixed order), or anything
// encoding/json turns into an object.
func appendClaims(b []byte, claims any) ([]byte, error) {
	rv := reflect.ValueOf(claims)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		raw, err := json.Marshal(claims)
		if err != nil {
			return nil, fmt.Errorf("jose: encode claims: %w", err)
		}
		if !validJSONObject(string(raw)) {
			return nil, errorf(ErrInvalidClaims, "claims must encode to a JSON object")
		}
		return append(b, raw...), nil
	}
	if !rv.CanAddr() { // passed by value: copy once so the fast paths can take its address
		c := reflect.New(rv.Type())
		c.Elem().Set(rv)
		rv = c.Elem()
	}
	var plan *structPlan
	b = append(b, '{')
	var reg *Claims
	if rv.Type() == claimsType {
		reg = rv.Addr().Interface().(*Claims)
	} else {
		if plan = planFor(rv.Type()); plan.err != nil {
			return nil, plan.err
		}
		if plan.hasReg {
			reg = rv.Addr().Interface().(registeredHolder).RegisteredClaims()
		}
	}
	ok := true
	if reg != nil {
		b, ok = reg.appendJSON(b)
	}
	if plan != nil {
		for i := range plan.fields {
			var err error
			if b, err = appendField(b, &plan.fields[i], rv.FieldByIndex(plan.fields[i].index)); err != nil {
				return nil, err
			}
		}
	}
	if !ok {
		return nil, errorf(ErrInvalidClaims, "a claim is not valid UTF-8")
	}
	return append(b, '}'), nil
}

func (c *Claims) appendJSON(b []byte) ([]byte, bool) {
	ok := true
	str := func(name, v string) {
		if v != "" {
			var good bool
			b, good = appendStringMember(b, name, v)
			ok = ok && good
		}
	}
	date := func(name string, d NumericDate) {
		if !d.IsZero() {
			b = d.appendJSON(appendMemberName(b, name))
		}
	}
	str("iss", c.Issuer)
	str("sub", c.Subject)
	if len(c.Audience) > 0 {
		var good bool
		b, good = c.Audience.appendJSON(appendMemberName(b, "aud"))
		ok = ok && good
	}
	date("exp", c.ExpiresAt)
	date("nbf", c.NotBefore)
	date("iat", c.IssuedAt)
	str("jti", c.ID)
	return b, ok
}

func appendField(b []byte, f *fieldPlan, fv reflect.Value) ([]byte, error) {
	if (f.omitZero && fv.IsZero()) || (f.omitEmpty && isEmpty(fv)) {
		return b, nil
	}
	bad := errorf(ErrInvalidClaims, "claim "+f.name+" cannot be encoded")
	b = appendMemberName(b, f.name)
	switch f.kind {
	case kindString:
		var ok bool
		if b, ok = appendJSONString(b, fv.String()); !ok {
			return nil, bad
		}
	case kindBool:
		b = strconv.AppendBool(b, fv.Bool())
	case kindInt:
		b = strconv.AppendInt(b, fv.Int(), 10)
	case kindUint:
		b = strconv.AppendUint(b, fv.Uint(), 10)
	case kindFloat:
		v := fv.Float()
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, bad
		}
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
	case kindStrings:
		if fv.IsNil() {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i := range fv.Len() {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendJSONString(b, fv.Index(i).String()); !ok {
				return nil, bad
			}
		}
		b = append(b, ']')
	case kindDate:
		d := fv.Interface().(NumericDate)
		b = d.appendJSON(b)
	case kindAudience:
		var ok bool
		if b, ok = fv.Interface().(Audience).appendJSON(b); !ok {
			return nil, bad
		}
	default:
		raw, err := json.Marshal(fv.Interface())
		if err != nil {
			return nil, fmt.Errorf("jose: encode claim %s: %w", f.name, err)
		}
		b = append(b, raw...)
	}
	return b, nil
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	case reflect.Struct:
		return v.IsZero()
	}
	return v.IsZero()
}
