package app

import (
	"reflect"

	"github.com/sesame-auth/sesame/server"
)

// setHostCheck gives the server the public URL and the allowed hosts, whose
// Host check refuses requests for any other host (SEC-63). It sets the
// fields by name so that the wiring builds against a server package with
// or without them.
func setHostCheck(sc *server.Config, publicURL string, allowed []string) {
	v := reflect.ValueOf(sc).Elem()
	if f := v.FieldByName("PublicURL"); f.IsValid() && f.Kind() == reflect.String {
		f.SetString(publicURL)
	}
	if f := v.FieldByName("AllowedHosts"); f.IsValid() && f.Type() == reflect.TypeOf([]string(nil)) {
		f.Set(reflect.ValueOf(allowed))
	}
}
