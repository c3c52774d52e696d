package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Starter returns a commented configuration file for `sesame config init`:
// the preset (when not empty) and, commented out, every key with its
// effective default and what it does. Removing the "# " before a key line
// sets that key.
func Starter(preset string) ([]byte, error) {
	p, ok := presets[preset]
	if preset != "" && !ok {
		return nil, fmt.Errorf("unknown preset %q: want web, spa, api or strict", preset)
	}
	var b strings.Builder
	b.WriteString(`## Sesame configuration: one file for every node and command of a deployment.
## Use it with: sesame serve --config FILE (or SESAME_CONFIG=FILE); every
## command (sesame user, sessions, keys, config check) takes --config too.
##
## Keys are the flags of "sesame serve" with underscores. A flag wins over
## the environment (SESAME_<KEY>), which wins over this file, which wins over
## the preset, which wins over the built-in default. Relative paths are
## relative to this file's directory. A value may reference the environment
## as ${NAME}, so that passwords need not be written here:
##   db: postgres://sesame:${PGPASSWORD}@db.internal/sesame
## or name a file holding the whole URL with db_file / sessions_file.
## The master key comes from SESAME_MASTER_KEY or master_key_file, never
## from this file.
##
## Every key below is commented out and shows its default; remove "# " to
## set it. Check the result with: sesame config check --config FILE
`)
	if preset != "" {
		fmt.Fprintf(&b, "\n## Preset %s: %s.\npreset: %s\n", p.Name, p.UseCase, p.Name)
	} else {
		b.WriteString("\n## A preset is a set of defaults for a use case:\n")
		for _, p := range Presets() {
			fmt.Fprintf(&b, "##   %s: %s\n", p.Name, p.UseCase)
		}
		b.WriteString("# preset: web\n")
	}
	group := ""
	for _, k := range keys {
		if k.Name == "preset" || k.noFile {
			continue
		}
		if k.Group != group {
			group = k.Group
			fmt.Fprintf(&b, "\n## %s\n", group)
		}
		if k.kind == kindRules {
			fmt.Fprintf(&b, "\n## %s\n%s", wrap(k.Help, "## "), rulesExample)
			continue
		}
		if k.kind == kindClients {
			fmt.Fprintf(&b, "\n## %s\n%s", wrap(k.Help, "## "), clientsExample)
			continue
		}
		if k.kind == kindWebhooks {
			fmt.Fprintf(&b, "\n## %s\n%s", wrap(k.Help, "## "), webhooksExample)
			continue
		}
		def := k.Default
		if v, ok := p.Values[k.Name]; ok {
			def = v
		}
		fmt.Fprintf(&b, "\n## %s\n# %s: %s\n", wrap(k.Help, "## "), k.Name, yamlValue(k, def))
		if k.fileVariant {
			fk := byName[k.Name+"_file"]
			fmt.Fprintf(&b, "## %s\n# %s: \"\"\n", wrap(fk.Help, "## "), fk.Name)
		}
	}
	return []byte(b.String()), nil
}

// yamlValue writes a default as a YAML value of the key's type.
func yamlValue(k *Key, text string) string {
	switch k.kind {
	case kindBool:
		return text
	case kindList:
		items := splitList(text)
		q := make([]string, len(items))
		for i, it := range items {
			q[i] = strconv.Quote(it)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	return strconv.Quote(text)
}

// wrap folds text at about 76 columns, starting continuation lines with
// prefix.
func wrap(text, prefix string) string {
	var b strings.Builder
	col := 0
	for i, w := range strings.Fields(text) {
		if i > 0 {
			if col+1+len(w) > 76 {
				b.WriteString("\n" + prefix)
				col = len(prefix)
			} else {
				b.WriteByte(' ')
				col++
			}
		} else {
			col = len(prefix)
		}
		b.WriteString(w)
		col += len(w)
	}
	return b.String()
}
