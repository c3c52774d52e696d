package config

import (
	"flag"
	"strings"
)

// Flags are the configuration flags registered on a flag.FlagSet by
// [AddFlags]; pass them to [Load] after parsing.
type Flags struct {
	vals map[string]*flagValue
}

// flagValue is one flag: it keeps the text given on the command line and
// leaves checking to Load, which names the flag in its problem.
type flagValue struct {
	key     *Key
	text    string
	set     bool
	isBool  bool
	defText string
}

func (v *flagValue) String() string {
	if v == nil {
		return ""
	}
	if v.set {
		return v.text
	}
	return v.defText
}

func (v *flagValue) Set(s string) error {
	v.text, v.set = s, true
	return nil
}

func (v *flagValue) IsBoolFlag() bool { return v.isBool }

// AddFlags registers --config and one flag per named key on fs (every key
// but master_key when names is empty), each spelled as the key with
// dashes, with its default and help text.
func AddFlags(fs *flag.FlagSet, names ...string) *Flags {
	f := &Flags{vals: map[string]*flagValue{}}
	f.vals["config"] = &flagValue{}
	fs.Var(f.vals["config"], "config", "configuration file (YAML; env SESAME_CONFIG): flags and SESAME_* variables override its keys")
	if len(names) == 0 {
		for _, k := range keys {
			if !k.noFile && !k.fileOnly {
				names = append(names, k.Name)
				if k.fileVariant {
					names = append(names, k.Name+"_file")
				}
			}
		}
	}
	for _, name := range names {
		k := byName[name]
		if k == nil || k.noFile || k.fileOnly {
			panic("config: no flag for key " + name)
		}
		v := &flagValue{key: k, isBool: k.kind == kindBool, defText: k.Default}
		f.vals[name] = v
		help := k.Help
		if k.kind == kindList {
			help += " (comma-separated)"
		}
		fs.Var(v, strings.TrimPrefix(k.Flag(), "--"), help+" (env "+k.Env()+")")
	}
	return f
}

// Set reports whether the flag of key was given on the command line.
func (f *Flags) Set(key string) bool {
	if f == nil {
		return false
	}
	v := f.vals[key]
	return v != nil && v.set
}

// Names returns the keys that have a flag (and "config").
func (f *Flags) Names() []string {
	var out []string
	for name := range f.vals {
		out = append(out, name)
	}
	return out
}

// layer returns the flags given on the command line.
func (f *Flags) layer() layer {
	l := layer{}
	if f == nil {
		return l
	}
	for name, v := range f.vals {
		if !v.set {
			continue
		}
		flagName := "--" + strings.ReplaceAll(name, "_", "-")
		l[name] = value{text: v.text, src: Source{Kind: FromFlag, Where: flagName}, at: flagName}
	}
	return l
}
