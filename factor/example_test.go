package factor_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sesame-auth/sesame/factor"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/keyring"
	"github.com/sesame-auth/sesame/memstore"
)

// A user enrols an authenticator app, confirms it with its first code,
// keeps the recovery codes, and later signs in with a code of a later step.
func Example() {
	ctx := context.Background()
	key, _ := keyring.NewMasterKey(bytes.Repeat([]byte{1}, keyring.MasterKeySize)) // the deployment's master key
	clock := testclock.New(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	svc, err := factor.New(factor.Config{Store: memstore.New(), Sealer: key, Issuer: "Sesame", Clock: clock})
	if err != nil {
		panic(err)
	}

	e, _ := svc.BeginTOTP(ctx, "u1", "alice@example.com", "Phone")
	fmt.Println(strings.HasPrefix(e.URI, "otpauth://totp/Sesame:alice@example.com?secret="))
	svg, _ := factor.QRCodeSVG(e.URI) // for the enrolment page
	fmt.Println(strings.HasPrefix(svg, "<svg"))

	// The app's side: the secret from the QR code, the code of now.
	secret, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	recovery, _ := svc.ConfirmTOTP(ctx, "u1", e.ID, factor.TOTP(secret, clock.Now()))
	fmt.Println(len(recovery), "recovery codes")

	clock.Add(time.Minute)
	method, f, _ := svc.Check(ctx, "u1", factor.TOTP(secret, clock.Now()))
	fmt.Println(method, f.Name)
	_, _, err = svc.Check(ctx, "u1", factor.TOTP(secret, clock.Now()))
	fmt.Println(errors.Is(err, factor.ErrWrongCode))
	method, _, _ = svc.Check(ctx, "u1", recovery[0])
	fmt.Println(method)
	// Output:
	// true
	// true
	// 10 recovery codes
	// otp Phone
	// true
	// rec
}
