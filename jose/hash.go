package jose

import (
	"crypto/sha256"
	"crypto/sha512"
)

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }
func sha384Sum(b []byte) [48]byte { return sha512.Sum384(b) }
func sha512Sum(b []byte) [64]byte { return sha512.Sum512(b) }
