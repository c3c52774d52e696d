package email

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
)

// throttleForgot counts a forgot-password request against the login and
// the client; over either limit is a *account.WaitError (429). The login
// is counted by the SHA-256 of its lower-case form, never stored as typed.
func (s *Service) throttleForgot(ctx context.Context, login string, ip netip.Addr) error {
	if err := s.strikeLimit(ctx, "forgot-ip:"+clientKey(ip), s.forgotPerIP()); err != nil {
		return err
	}
	sum := sha256.Sum256([]byte("sesame/forgot\x00" + strings.ToLower(login)))
	return s.strikeLimit(ctx, "forgot-login:"+hex.EncodeToString(sum[:]), s.forgotPerAddress())
}

// strikeLimit counts one request under key and refuses it past limit in
// the window.
func (s *Service) strikeLimit(ctx context.Context, key string, limit int) error {
	if s.Throttle == nil {
		return nil
	}
	n, err := s.Throttle.Strike(ctx, key, s.forgotWindow())
	if err != nil {
		return err
	}
	if n > limit {
		return &account.WaitError{Wait: s.forgotWindow(), Err: sesame.Errorf(sesame.ETooMany, "too many requests: try again later")}
	}
	return nil
}

func (s *Service) forgotPerAddress() int {
	if s.ForgotPerAddress > 0 {
		return s.ForgotPerAddress
	}
	return DefaultForgotPerAddress
}

func (s *Service) forgotPerIP() int {
	if s.ForgotPerIP > 0 {
		return s.ForgotPerIP
	}
	return DefaultForgotPerIP
}

func (s *Service) forgotWindow() time.Duration {
	if s.ForgotWindow > 0 {
		return s.ForgotWindow
	}
	return DefaultForgotWindow
}

// clientKey is one client: an IPv4 address or an IPv6 /64.
func clientKey(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	switch {
	case !ip.IsValid():
		return "unknown"
	case ip.Is4():
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}
