package redact

import "regexp"

// Mark replaces every secret.
const Mark = "[redacted]"

var (
	// userinfo: scheme://user[:password]@ (the user alone can be a token).
	userinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s,"'<>]+@`)
	// seed: an nkey seed (S, the key type, base32).
	seed = regexp.MustCompile(`\bS[UAONCXP][A-Z2-7]{50,}\b`)
	// jwt: three base64url parts, the first a JSON header ("eyJ").
	jwt = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)
)

// String returns s with URL user information, nkey seeds and JWTs
// replaced by Mark.
func String(s string) string {
	if s == "" {
		return s
	}
	s = userinfo.ReplaceAllString(s, "${1}"+Mark+"@")
	s = seed.ReplaceAllString(s, Mark)
	return jwt.ReplaceAllString(s, Mark)
}

// Secret returns Mark for a set secret and "" for an unset one, so that
// an answer still tells whether one is configured.
func Secret(s string) string {
	if s == "" {
		return ""
	}
	return Mark
}
