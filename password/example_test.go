package password_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sesame-auth/sesame/password"
)

// A sign-up checks the policy, then stores the hash.
func ExamplePolicy_Check() {
	var policy password.Policy // zero value: the SEC-43 rules
	for _, pw := range []string{"hunter2", "Password123", "alice.liddell", "correct horse battery staple"} {
		if err := policy.Check(pw, "alice.liddell"); err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println("accepted")
	}
	// Output:
	// password: too short: use at least 8 characters
	// password: too common: it is on a list of frequently used passwords; choose another
	// password: same as your username or account details
	// accepted
}

// Hash and Verify with the default SEC-41 parameters.
func ExampleHasher() {
	hasher := &password.Hasher{} // zero value: argon2id m=19456 KiB, t=2, p=1

	encoded, err := hasher.Hash("correct horse battery staple")
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.HasPrefix(encoded, "$argon2id$v=19$m=19456,t=2,p=1$"))

	ok, needsRehash, err := hasher.Verify("correct horse battery staple", encoded)
	fmt.Println(ok, needsRehash, err)

	ok, needsRehash, err = hasher.Verify("correct horse battery stapler", encoded)
	fmt.Println(ok, needsRehash, err)
	// Output:
	// true
	// true false <nil>
	// false false <nil>
}

// A login upgrades a hash made with older parameters.
func ExampleHasher_Verify_rehash() {
	// A hash stored years ago by the argon2 reference implementation.
	const stored = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	hasher := &password.Hasher{}

	ok, needsRehash, err := hasher.Verify("password", stored)
	if err != nil || !ok {
		fmt.Println("login refused")
		return
	}
	if needsRehash {
		upgraded, _ := hasher.Hash("password")
		fmt.Println("store", upgraded[:len("$argon2id$v=19$m=19456,t=2,p=1$")])
	}
	// Output:
	// store $argon2id$v=19$m=19456,t=2,p=1$
}

// A login for an unknown user does the same work as a wrong password, and a
// huge password is refused before any hashing.
func ExampleHasher_Dummy() {
	hasher := &password.Hasher{}
	login := func(known bool, pw, stored string) string {
		if !known {
			hasher.Dummy(pw) // as slow as a wrong password (SEC-45)
			return "invalid username or password"
		}
		ok, _, err := hasher.Verify(pw, stored)
		switch {
		case errors.Is(err, password.ErrTooLong):
			return "bad request: " + err.Error()
		case err != nil || !ok:
			return "invalid username or password"
		}
		return "welcome"
	}
	stored, _ := hasher.Hash("correct horse battery staple")
	fmt.Println(login(true, "correct horse battery staple", stored))
	fmt.Println(login(true, "wrong", stored))
	fmt.Println(login(false, "anything", ""))
	fmt.Println(login(true, strings.Repeat("x", 1<<20), stored))
	// Output:
	// welcome
	// invalid username or password
	// invalid username or password
	// bad request: password: too long: use at most 1024 bytes
}
