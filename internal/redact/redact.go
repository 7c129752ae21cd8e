// Package redact removes secrets from text before it reaches a log line, an
// error string, a web page or an HTTP response: access and refresh tokens,
// client secrets and assertions, bearer credentials, and the raw token
// response bodies that azidentity quotes in its errors. It also cuts text
// that came from outside (Graph, a config file) to a length fit to echo.
package redact

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Mark stands in for what was removed.
const Mark = "[REDACTED]"

// credentialKeys name the JSON members and form fields that carry a credential.
const credentialKeys = `(?:access_token|refresh_token|id_token|client_secret|client_assertion|assertion|password)`

var patterns = []struct {
	re   *regexp.Regexp
	repl string
}{
	// MSAL's JSON errors quote the whole token response ("raw message
	// was: {...}"), token included, possibly cut short: drop all of it.
	{regexp.MustCompile(`(?is)(raw message was:).*`), "$1 " + Mark},
	// A credential in a JSON member, its value terminated or not (a
	// truncated body), or in a form field.
	{regexp.MustCompile(`(?i)("` + credentialKeys + `"\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,}\s]+)`), `$1"` + Mark + `"`},
	{regexp.MustCompile(`(?i)\b(` + credentialKeys + `=)[^&\s"']+`), "${1}" + Mark},
	{regexp.MustCompile(`(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}`), "${1}" + Mark},
	// A JWT anywhere (header.payload.signature, base64url).
	{regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`), Mark},
}

// String returns s with every credential it recognises replaced by Mark.
func String(s string) string {
	for _, p := range patterns {
		if p.re.MatchString(s) {
			s = p.re.ReplaceAllString(s, p.repl)
		}
	}
	return s
}

// Cut returns s, or its first max bytes (whole UTF-8 characters) and "…"
// when it is longer, so a value from outside cannot flood a log line.
func Cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// Value is how configuration values are echoed in error messages: whole
// when shorter than an Entra client secret (32 characters) and without its
// '~'; otherwise, in case it is a secret in the wrong field, only its length
// and, if long, its first three characters (as the Entra admin centre shows).
func Value(v string) string {
	if len(v) < 32 && !strings.Contains(v, "~") {
		return `"` + v + `"`
	}
	shown := ""
	if len(v) >= 20 {
		shown = `"` + Cut(v, 3) + `" `
	}
	return shown + "(" + strconv.Itoa(utf8.RuneCountInString(v)) + " characters, not shown whole in case it is a secret)"
}

// Path is how a file path from the configuration is echoed: whole, unless
// its last element looks like a secret (as Value judges): then as Value.
func Path(p string) string {
	i := strings.LastIndexAny(p, `/\`) + 1
	dir, base := p[:i], p[i:]
	if strings.Contains(base, "~") || len(base) >= 32 {
		return `"` + dir + `" + ` + Value(base)
	}
	return `"` + p + `"`
}
