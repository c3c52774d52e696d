package inspect_test

import (
	"fmt"
	"os"
	"time"

	"github.com/sesame-auth/sesame/inspect"
)

// A Set-Cookie line pasted from a browser's devtools, checked against
// Sesame's cookie rules. The value is never printed.
func ExampleInspect() {
	line := "Set-Cookie: sid=Q2FuYXJ5Q29va2llVmFsdWUx; Path=/; HttpOnly; SameSite=Lax"
	now := func() time.Time { return time.Date(2026, 12, 5, 13, 0, 0, 0, time.UTC) }
	report, err := inspect.Inspect([]byte(line), inspect.Options{Now: now})
	if err != nil {
		fmt.Println(err)
		return
	}
	report.WriteText(os.Stdout)
	fmt.Println("exit status:", map[bool]int{false: 0, true: 1}[report.HasErrors()])
	// Output:
	// Set-Cookie: sid (session cookie: its name suggests a session credential)
	//   value       24 bytes (not shown: a credential)
	//   Path        /
	//   Domain      (none: host-only)
	//   Secure      no
	//   HttpOnly    yes
	//   SameSite    Lax
	//   lifetime    browser session (no Max-Age or Expires)
	//
	// Findings: 1 error, 1 warning, 0 info
	//   error    SEC-01       no Secure: the cookie travels over plain HTTP, readable by anyone on the network [cookie.secure]
	//   warning  SEC-01       a session cookie without the __Host- prefix: a sibling subdomain or a plain-HTTP page can set or overwrite it [cookie.prefix]
	// exit status: 1
}
