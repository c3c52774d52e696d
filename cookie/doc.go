// Package cookie writes and reads HTTP cookies with secure defaults, strict
// parsing and sealed values.
//
// # Writing
//
// The zero value of every [Cookie] field but Name is the secure default: a
// host-only, non-persistent cookie for Path "/" with HttpOnly, Secure and an
// explicit SameSite=Lax. [Write] refuses, with an error and without writing,
// any cookie a user agent would drop, truncate or mis-scope: a "__Host-"
// cookie with a Domain or without Secure, a name and value over 4096 bytes
// ([ErrTooLarge]), a control character or ';' in the value or path, a
// lifetime over 400 days.
//
//	err := cookie.Write(w, cookie.Cookie{Name: "__Host-sesame", Value: token})
//	// Set-Cookie: __Host-sesame=TOKEN; Path=/; HttpOnly; Secure; SameSite=Lax
//
//	err = cookie.Delete(w, cookie.Cookie{Name: "__Host-sesame"})
//	// Set-Cookie: __Host-sesame=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax
//
// A path-scoped cookie, such as a refresh token, uses the "__Secure-" prefix
// because "__Host-" requires Path=/ (SEC-34):
//
//	cookie.Cookie{Name: "__Secure-refresh", Value: rt, Path: "/api/v1/token", SameSite: http.SameSiteStrictMode, MaxAge: 7 * 24 * time.Hour}
//
// # Reading
//
// [Get] returns the first well-formed cookie of a name from all of a
// request's Cookie header lines; [GetAll] returns every one, to detect a
// duplicated name (cookie tossing). Both refuse a header over
// [MaxHeaderBytes] with [ErrHeaderTooLarge], which a server answers with 431:
//
//	token, err := cookie.Get(r, "__Host-sesame")
//	switch {
//	case errors.Is(err, cookie.ErrHeaderTooLarge):
//		// 431
//	case err != nil:
//		// no session
//	}
//
// # Sealed values
//
// A [Codec] encrypts and authenticates small client-side values, such as a
// theme preference, with AES-256-GCM. Each value is bound to its cookie name
// and expires after the maxAge it was sealed with. Keys rotate by ID:
//
//	codec, err := cookie.NewCodec(newKey, oldKey) // newKey encrypts, both decrypt
//	v, err := codec.Encode("__Host-prefs", []byte("dark"), 30*24*time.Hour)
//	err = cookie.Write(w, cookie.Cookie{Name: "__Host-prefs", Value: v, MaxAge: 30 * 24 * time.Hour})
//	...
//	v, err = cookie.Get(r, "__Host-prefs")
//	plain, err := codec.Decode("__Host-prefs", v) // ErrInvalid if forged, moved or expired
//
// Do not put a session's authority in a sealed value: a client can replay
// one until it expires, and the server cannot revoke it. Sessions belong on
// the server, with only their random ID in the cookie.
package cookie
