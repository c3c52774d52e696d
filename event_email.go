package sesame

// The email events (package email): addresses, password resets and
// new-device notices. None carries an address, a token or a link.
const (
	EventEmailVerified  EventType = "user.email_verified"  // Reason "link", or "admin" when an administrator marked it
	EventEmailChanged   EventType = "user.email_changed"   // the new address was confirmed from its link
	EventPasswordReset  EventType = "user.password_reset"  // a password set from a reset link; every session ended
	EventResetLinkSent  EventType = "user.reset_link_sent" // an administrator sent the user a reset link
	EventNewDeviceLogin EventType = "login.new_device"     // a sign-in from a device the user had not used; a notice was sent
)
