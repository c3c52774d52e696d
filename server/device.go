package server

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	useragent "github.com/medama-io/go-useragent"

	"github.com/sesame-auth/sesame"
)

// uaParser is built once, on first use (it loads an embedded trie).
var uaParser = sync.OnceValue(useragent.NewParser)

// osNames spells the library's OS names as their makers do.
var osNames = map[string]string{"MacOS": "macOS", "ChromeOS": "ChromeOS", "iOS": "iOS"}

// deviceName says what made a session in words a person recognises:
// "Chrome 156 on Linux", "Safari 18 on iOS", "Firefox 133 on Windows".
// A client that is not a browser is named by its product token ("curl
// 8.5.0", "okhttp 4.12"); an empty user agent is "Unknown device" and one
// that says nothing readable "Unknown client".
func deviceName(userAgent string) string {
	userAgent = strings.TrimSpace(userAgent)
	if userAgent == "" {
		return "Unknown device"
	}
	ua := uaParser().Parse(userAgent)
	if b := string(ua.Browser()); b != "" {
		name := b
		if v := ua.BrowserVersionMajor(); v != "" {
			name += " " + v
		}
		if os := string(ua.OS()); os != "" {
			if n, ok := osNames[os]; ok {
				os = n
			}
			name += " on " + os
		}
		return name
	}
	return productName(userAgent)
}

// productName is the first product token of a user agent, "curl/8.5.0"
// as "curl 8.5.0", limited to letters, digits and ".-_" and to 40
// characters; "Unknown client" when there is none.
func productName(userAgent string) string {
	tok, _, _ := strings.Cut(userAgent, " ")
	prod, ver, _ := strings.Cut(tok, "/")
	clean := func(s string) string {
		s = strings.Map(func(r rune) rune {
			if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(".-_", r)) {
				return r
			}
			return -1
		}, s)
		return s[:min(len(s), 40)]
	}
	prod, ver = clean(prod), clean(ver)
	if prod == "" || !strings.ContainsFunc(prod, unicode.IsLetter) {
		return "Unknown client"
	}
	if ver != "" {
		return prod + " " + ver
	}
	return prod
}

// ago says how long before now t was: "just now", "2 min ago", "3 hours
// ago", "3 days ago"; past 30 days, the date.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min ago"
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	case d < 30*24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	}
	return "on " + t.UTC().Format("2 Jan 2006")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// deviceView is one row of a session list (the account page, the admin
// page of a user): "Chrome 156 on Linux" and "127.0.0.1 · signed in 3
// days ago · active 2 min ago".
type deviceView struct {
	ID        string
	Current   bool
	Name      string
	Meta      string
	UserAgent string // the raw user agent, shown on hover
	CreatedAt time.Time
	LastSeen  time.Time
}

// describeSession is the view of a session for a list shown at now.
func describeSession(si sesame.SessionInfo, now time.Time) deviceView {
	v := deviceView{ID: si.ID, Current: si.Current, Name: deviceName(si.Device.UserAgent), UserAgent: si.Device.UserAgent,
		CreatedAt: si.CreatedAt, LastSeen: si.LastSeen}
	var meta []string
	if si.Device.IP != "" {
		meta = append(meta, si.Device.IP)
	}
	meta = append(meta, "signed in "+ago(now, si.CreatedAt))
	if si.Current {
		meta = append(meta, "active now")
	} else {
		meta = append(meta, "active "+ago(now, si.LastSeen))
	}
	v.Meta = strings.Join(meta, " · ")
	return v
}

// sortDevices puts the current session first, then the most recently
// active.
func sortDevices(list []deviceView) {
	slices.SortStableFunc(list, func(a, b deviceView) int {
		switch {
		case a.Current != b.Current:
			if a.Current {
				return -1
			}
			return 1
		case !a.LastSeen.Equal(b.LastSeen):
			return b.LastSeen.Compare(a.LastSeen)
		}
		return 0
	})
}
