package codec

import (
	"slices"
	"testing"
	"time"
)

func TestAuthRoundTrip(t *testing.T) {
	for name, a := range map[string]Auth{
		"zero":    {},
		"pending": {AMR: []string{"pwd"}, ACR: "1", Pending: true},
		"two":     {AMR: []string{"pwd", "otp"}, ACR: "2", FactorTime: time.Unix(1700000000, 123).UTC()},
	} {
		t.Run(name, func(t *testing.T) {
			b := EncodeAuth(a)
			if name == "zero" && b != nil {
				t.Fatalf("got %x for the zero Auth, want nil", b)
			}
			got, err := DecodeAuth(b)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.AMR, a.AMR) || got.ACR != a.ACR || !got.FactorTime.Equal(a.FactorTime) || got.Pending != a.Pending {
				t.Fatalf("got %+v, want %+v", got, a)
			}
			for i := range b {
				if _, err := DecodeAuth(b[:i]); err == nil && i > 0 {
					t.Fatalf("a truncation to %d bytes decoded", i)
				}
			}
		})
	}
}

func FuzzDecodeAuth(f *testing.F) {
	f.Add(EncodeAuth(Auth{AMR: []string{"pwd", "otp"}, ACR: "2", Pending: true}))
	f.Add([]byte{1, 0, 0, 0, 5})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeAuth(b)
		if err != nil {
			return
		}
		back, err := DecodeAuth(EncodeAuth(a))
		if err != nil || !slices.Equal(back.AMR, a.AMR) || back.ACR != a.ACR || back.Pending != a.Pending {
			t.Fatalf("re-encoding %+v gave %+v, %v", a, back, err)
		}
	})
}
