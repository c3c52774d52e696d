// Package config is the configuration of one Sesame deployment: every
// setting of `sesame serve` and of the commands that act on the same
// deployment, read from built-in defaults, a preset, a YAML file, the
// environment (SESAME_*) and command-line flags, in that order of
// precedence (a later layer wins), with the source of every effective value
// remembered.
//
// Every key is spelled as its serve flag with underscores (flag --idle-timeout
// is key idle_timeout and variable SESAME_IDLE_TIMEOUT). One key is
// structured and read from the file only: access_rules, a list of maps that
// becomes [Config.AccessRules] ([authz.Rule] values, checked with
// [authz.Compile]; unreachable rules are reported by
// [Config.AccessRulesWarnings]). The file is strict:
// an unknown key, a value of the wrong type, a duplicate key, a duration
// without unit, a URL with an unsupported scheme or a file that does not
// exist is an error naming the key and its line, and [Load] reports every
// problem at once.
//
//	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
//	flags := config.AddFlags(fs)           // --config, --preset and one flag per key
//	fs.Parse(args)
//	cfg, err := config.Load(config.Sources{Flags: flags})
//	if err != nil { ... }                  // a *config.Problems listing everything wrong
//	for _, s := range cfg.Settings() { ... } // key, redacted value, source
//
// Secrets (the master key, passwords inside database and Redis URLs) never
// appear in the text this package produces: [Config.Settings] and every
// error redact them, and [Config.Redact] does the same for any other text.
// They need not sit in the file either: master_key_file names a key file,
// db_file and sessions_file name files holding the URLs, and any value in
// the file may reference the environment as ${NAME}.
//
// A Config is a plain value: build one with [Default] and set its fields, or
// read one with [Load]. It is not safe for concurrent modification.
package config
