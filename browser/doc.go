// Package browser holds Sesame's end-to-end tests in a real Chromium.
package browser
