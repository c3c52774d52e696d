package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sesame-auth/sesame/authz"
)

// Role says what a configuration is loaded for, which decides the checks
// that touch the file system.
type Role int

const (
	// RoleServe: `sesame serve` and `sesame config check`: every file the
	// configuration names is checked.
	RoleServe Role = iota
	// RoleCommand: a command that acts on the deployment's stores: only the
	// files it reads (the key file, db_file, sessions_file) are checked, so
	// that a shared file naming the nodes' TLS files works on an admin's
	// machine.
	RoleCommand
)

// Sources are the layers [Load] reads besides the defaults and presets.
type Sources struct {
	// Flags are the command line's flags, from [AddFlags], already parsed.
	// Nil: none.
	Flags *Flags
	// LookupEnv reads the environment. Default os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// File is the configuration file. Default: the --config flag, else
	// SESAME_CONFIG, else none.
	File string
	// Role selects the file-system checks. Default RoleServe.
	Role Role
}

// value is one key's text in one layer.
type value struct {
	text string
	src  Source
	at   string // where, for problems: "FILE:LINE: key", "SESAME_KEY", "--key"
	dir  string // the file's directory, for relative paths; "" outside a file

	// access_rules, from a file: the rules and their lines.
	rules []authz.Rule
	lines []ruleLines
	// clients, from a file: the clients and their lines.
	clients []Client
	// webhooks, from a file: the endpoints (their lines in lines).
	webhooks []Webhook
}

// layer is the values one source gives.
type layer map[string]value

// Load builds the effective configuration: defaults, then the preset, then
// the file, then the environment, then the flags, each later layer winning.
// It reports every problem at once in a *[Problems], whose messages carry
// no secret.
func Load(src Sources) (*Config, error) {
	if src.LookupEnv == nil {
		src.LookupEnv = os.LookupEnv
	}
	ps := &Problems{}
	flags := src.Flags.layer()
	env := envLayer(src.LookupEnv, ps)
	file := src.File
	if file == "" {
		if v, ok := flags["config"]; ok {
			file = v.text
		} else if v, ok := src.LookupEnv("SESAME_CONFIG"); ok {
			file = v
		}
	}
	delete(flags, "config")
	var fromFile layer
	if file != "" {
		fromFile = fileLayer(file, src.LookupEnv, ps)
	}
	c := Default()
	c.File = file
	for _, l := range []layer{fromFile, env, flags} {
		c.collectSecrets(l)
	}
	presetName := ""
	for _, l := range []layer{fromFile, env, flags} {
		if v, ok := l["preset"]; ok {
			presetName = v.text
		}
	}
	if presetName != "" {
		p, ok := presets[presetName]
		if !ok {
			v := topmost("preset", fromFile, env, flags)
			ps.add(Problem{Where: v.at, Usage: v.src.Kind == FromFlag,
				Msg: fmt.Sprintf("unknown preset %q: want web, spa, api or strict", presetName)})
		}
		for name, text := range p.Values {
			byName[name].set(c, text)
			c.sources[name] = Source{Kind: FromPreset, Where: presetName}
		}
	}
	for _, l := range []layer{fromFile, env, flags} {
		for _, file := range []string{"db", "sessions"} {
			readFileVariant(l, file, ps)
		}
		c.apply(l, ps)
	}
	c.collectSecrets(flags) // the values read through *_file
	c.collectSecrets(env)
	c.collectSecrets(fromFile)
	c.check(src.Role, ps)
	ps.redact(c)
	if err := ps.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// topmost returns the value of name from the highest layer that has it.
func topmost(name string, layers ...layer) value {
	var v value
	for _, l := range layers {
		if x, ok := l[name]; ok {
			v = x
		}
	}
	if v.at == "" {
		v.at = name
	}
	return v
}

// collectSecrets remembers the secret values a layer holds, so that a
// problem about a value a later layer overrode is redacted too.
func (c *Config) collectSecrets(l layer) {
	for name, v := range l {
		if k := byName[name]; k != nil && k.secret && v.text != "" {
			if name == "master_key" {
				c.extra = append(c.extra, v.text)
			}
			c.extra = append(c.extra, urlSecrets(v.text)...)
		}
	}
}

// apply sets every value of l into c, recording its source, and adds a
// problem for each that does not parse.
func (c *Config) apply(l layer, ps *Problems) {
	names := make([]string, 0, len(l))
	for name := range l {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v := l[name]
		k := byName[name]
		if k == nil || k.set == nil {
			continue // a *_file variant, already read
		}
		if k.kind == kindRules {
			c.AccessRules, c.ruleLines = v.rules, v.lines
			c.sources[name] = v.src
			continue
		}
		if k.kind == kindWebhooks {
			c.Webhooks, c.webhookLines = v.webhooks, v.lines
			c.sources[name] = v.src
			for _, w := range c.Webhooks {
				for _, s := range w.Secrets {
					c.extra = append(c.extra, s.Reveal()) // never printed, redacted anyway
				}
			}
			continue
		}
		if k.kind == kindClients {
			c.Clients, c.clientLines = v.clients, v.lines
			c.sources[name] = v.src
			for _, cl := range c.Clients {
				if cl.SecretSHA256 != "" {
					c.extra = append(c.extra, cl.SecretSHA256) // never printed, redacted anyway
				}
			}
			continue
		}
		text := v.text
		if v.dir != "" && isPathKey(name) {
			text = resolvePath(name, text, v.dir)
		}
		if err := k.set(c, text); err != nil {
			ps.add(Problem{Where: v.at, Usage: v.src.Kind == FromFlag, Msg: err.Error()})
			continue
		}
		c.sources[name] = v.src
	}
}

// isPathKey reports whether a key's value is a file path (resolved against
// the configuration file's directory when relative).
func isPathKey(name string) bool {
	switch name {
	case "db", "tls_cert", "tls_key", "master_key_file", "db_file", "sessions_file":
		return true
	}
	return false
}

// resolvePath makes a relative path in a file relative to the file's
// directory. A db value that is a URL, or sqlite:PATH, keeps its form.
func resolvePath(name, text, dir string) string {
	if text == "" {
		return text
	}
	prefix := ""
	if name == "db" {
		if strings.Contains(text, "://") {
			return text
		}
		if rest, ok := strings.CutPrefix(text, "sqlite:"); ok {
			prefix, text = "sqlite:", rest
		}
	}
	if filepath.IsAbs(text) || text == "" {
		return prefix + text
	}
	return prefix + filepath.Join(dir, text)
}

// readFileVariant replaces NAME_file in l by NAME, whose text is the first
// line of the file it names.
func readFileVariant(l layer, name string, ps *Problems) {
	fv, ok := l[name+"_file"]
	if !ok {
		return
	}
	delete(l, name+"_file")
	if fv.text == "" {
		return
	}
	if _, both := l[name]; both {
		ps.add(Problem{Where: fv.at, Usage: fv.src.Kind == FromFlag, Msg: fmt.Sprintf("both %s and %s_file are set: keep one", name, name)})
		return
	}
	path := fv.text
	if fv.dir != "" && !filepath.IsAbs(path) {
		path = filepath.Join(fv.dir, path)
	}
	b, err := readSmall(path)
	if err != nil {
		ps.add(Problem{Where: fv.at, Usage: fv.src.Kind == FromFlag, Msg: err.Error()})
		return
	}
	line, _, _ := strings.Cut(string(b), "\n")
	src := fv.src
	src.Where += " (" + name + "_file " + path + ")"
	l[name] = value{text: strings.TrimSpace(line), src: src, at: fv.at}
}

// readSmall reads a file of at most 64 KiB, with an error that names the
// path and never quotes the content.
func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist", path)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %v", path, err)
	}
	return b, nil
}

// envLayer reads SESAME_<KEY> for every key (and NAME_FILE variants).
func envLayer(lookup func(string) (string, bool), ps *Problems) layer {
	l := layer{}
	for name, k := range byName {
		v, ok := lookup(k.Env())
		if !ok {
			continue
		}
		if k.fileOnly {
			ps.add(Problem{Where: k.Env(), Msg: k.Name + " is read from the configuration file only: unset " + k.Env() + " and write " + k.Name + " in the file"})
			continue
		}
		l[name] = value{text: v, src: Source{Kind: FromEnv, Where: k.Env()}, at: k.Env()}
	}
	return l
}

// envRef is a ${NAME} reference in a file value.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// fileLayer reads the YAML file at path.
func fileLayer(path string, lookup func(string) (string, bool), ps *Problems) layer {
	data, err := readConfigFile(path)
	if err != nil {
		ps.add(Problem{Where: path, Msg: err.Error()})
		return nil
	}
	root, err := parseYAML(data)
	if err != nil {
		ps.add(Problem{Where: path, Msg: err.Error()})
		return nil
	}
	l := layer{}
	if root == nil {
		return l // an empty file
	}
	dir := filepath.Dir(path)
	if root.Kind != yaml.MappingNode {
		ps.add(Problem{Where: fmt.Sprintf("%s:%d", path, root.Line), Msg: "want a mapping of keys (key: value lines)"})
		return l
	}
	first := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		kn, vn := root.Content[i], root.Content[i+1]
		at := fmt.Sprintf("%s:%d: %s", path, kn.Line, kn.Value)
		if kn.Kind != yaml.ScalarNode {
			ps.add(Problem{Where: fmt.Sprintf("%s:%d", path, kn.Line), Msg: "a key must be a plain name"})
			continue
		}
		name := kn.Value
		if line, dup := first[name]; dup {
			ps.add(Problem{Where: at, Msg: fmt.Sprintf("duplicate key (first set on line %d)", line)})
			continue
		}
		first[name] = kn.Line
		k := byName[name]
		if k == nil {
			ps.add(Problem{Where: at, Msg: "unknown key" + suggest(name)})
			continue
		}
		if k.noFile {
			ps.add(Problem{Where: at, Msg: "not allowed in a file: put the master key in master_key_file, or set SESAME_MASTER_KEY"})
			continue
		}
		if k.kind == kindWebhooks {
			hooks, lines := webhooksFromYAML(path, dir, vn, lookup, ps)
			l[name] = value{src: Source{Kind: FromFile, Where: fmt.Sprintf("%s:%d", path, kn.Line)}, at: at, dir: dir, webhooks: hooks, lines: lines}
			continue
		}
		if k.kind == kindClients {
			clients, lines := clientsFromYAML(path, dir, vn, lookup, ps)
			l[name] = value{src: Source{Kind: FromFile, Where: fmt.Sprintf("%s:%d", path, kn.Line)}, at: at, dir: dir, clients: clients, lines: lines}
			continue
		}
		if k.kind == kindRules {
			rules, lines := rulesFromYAML(path, vn, lookup, ps)
			l[name] = value{src: Source{Kind: FromFile, Where: fmt.Sprintf("%s:%d", path, kn.Line)}, at: at, dir: dir, rules: rules, lines: lines}
			continue
		}
		text, err := scalarText(k, vn)
		if err != nil {
			ps.add(Problem{Where: at, Msg: err.Error()})
			continue
		}
		text, err = expandEnv(text, lookup)
		if err != nil {
			ps.add(Problem{Where: at, Msg: err.Error()})
			continue
		}
		l[name] = value{text: text, src: Source{Kind: FromFile, Where: fmt.Sprintf("%s:%d", path, kn.Line)}, at: at, dir: dir}
	}
	return l
}

func readConfigFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errors.New("configuration file does not exist")
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the configuration file: %v", errors.Unwrap(err))
	}
	return b, nil
}

// parseYAML returns the root node of the one document in data, or nil for
// an empty document.
func parseYAML(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document: write one mapping of keys")
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil
	}
	return root, nil
}

// scalarText checks a value node's type against the key's kind and returns
// its text.
func scalarText(k *Key, n *yaml.Node) (string, error) {
	if n.Kind == yaml.AliasNode {
		return "", errors.New("aliases (*name) are not supported: write the value")
	}
	if k.kind == kindList && n.Kind == yaml.SequenceNode {
		items := make([]string, 0, len(n.Content))
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode || item.Tag != "!!str" {
				return "", fmt.Errorf("line %d: want a list of strings", item.Line)
			}
			if strings.Contains(item.Value, ",") {
				return "", fmt.Errorf("line %d: an item must not contain a comma", item.Line)
			}
			items = append(items, item.Value)
		}
		return strings.Join(items, ","), nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("wrong type: want %s", kindName(k.kind))
	}
	switch k.kind {
	case kindBool:
		if n.Tag != "!!bool" {
			return "", fmt.Errorf("wrong type: want true or false, got %s", quoteFor(k, n.Value))
		}
		return strings.ToLower(n.Value), nil
	case kindDuration:
		if n.Tag == "!!int" && n.Value == "0" {
			return "0s", nil
		}
		if n.Tag == "!!int" || n.Tag == "!!float" {
			return "", fmt.Errorf("%s has no unit: write %ss, %sm or %sh", n.Value, n.Value, n.Value, n.Value)
		}
		if n.Tag != "!!str" {
			return "", fmt.Errorf("wrong type: want a duration such as 30m")
		}
	case kindString, kindList:
		if n.Tag == "!!null" {
			return "", nil
		}
		if n.Tag != "!!str" {
			return "", fmt.Errorf("wrong type: want %s, got %s (quote it to mean text)", kindName(k.kind), quoteFor(k, n.Value))
		}
	}
	return n.Value, nil
}

func kindName(k kind) string {
	switch k {
	case kindBool:
		return "true or false"
	case kindDuration:
		return "a duration such as 30m"
	case kindList:
		return "a list of strings"
	}
	return "a string"
}

// quoteFor quotes a value for a message, unless the key is secret.
func quoteFor(k *Key, s string) string {
	if k.secret {
		return "a value"
	}
	return strconv.Quote(s)
}

// expandEnv replaces ${NAME} references by the environment's values.
func expandEnv(s string, lookup func(string) (string, bool)) (string, error) {
	var missing []string
	out := envRef.ReplaceAllStringFunc(s, func(ref string) string {
		name := envRef.FindStringSubmatch(ref)[1]
		v, ok := lookup(name)
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("references ${%s}, which is not set in the environment", missing[0])
	}
	return out, nil
}

// suggest proposes the key a misspelt name probably meant.
func suggest(name string) string {
	norm := strings.ToLower(strings.NewReplacer("-", "_", " ", "_").Replace(name))
	if byName[norm] != nil {
		return fmt.Sprintf(" (did you mean %s?)", norm)
	}
	best, bestD := "", 3
	for cand := range byName {
		if d := distance(norm, cand); d < bestD {
			best, bestD = cand, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	return " (see `sesame config init` for every key)"
}

// distance is the Levenshtein distance of two short strings.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
