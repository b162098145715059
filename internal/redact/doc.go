// Package redact hides secrets in text before it leaves the daemon: in
// control-plane answers, logs, errors and recordings' metadata.
//
// String is the one function every path uses. It replaces, wherever they
// appear in a text: the user information of URLs
// (nats://user:password@host becomes nats://[redacted]@host), nkey seeds
// (S followed by a key type and base32, as in creds and nkey files) and
// JWTs. Secrets held in fields of their own (passwords, tokens) are
// blanked by configs.Redacted, which also passes every other string of
// the config through String.
package redact
