package keyring_test

import (
	"github.com/sesame-auth/sesame/keyring"
	"github.com/sesame-auth/sesame/oauth"
)

// The OAuth provider signs ID and logout tokens with the ring (here, not
// in package keyring, which oauth's dependencies import).
var _ oauth.Keys = (*keyring.Ring)(nil)
