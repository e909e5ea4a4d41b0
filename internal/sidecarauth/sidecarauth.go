// Package sidecarauth holds what the sidecar and the host that attaches to it
// agree on: which addresses are loopback, how a bearer token file looks, and
// how the Authorization header carries the token.
package sidecarauth

import (
	"crypto/subtle"
	"fmt"
	"net"
	"os"
	"strings"
)

// IsLoopback reports whether host (a name or an IP, no port) stays on this
// machine.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ReadTokenFile reads a bearer token file: one token on one line. openToOthers
// is true when group or others may read the file, which the caller should
// warn about (the token is a password). Errors name the path, not the token.
func ReadTokenFile(path string) (token string, openToOthers bool, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false, err
	}
	token = strings.TrimSpace(string(b))
	if token == "" || strings.ContainsAny(token, " \t\r\n") {
		return "", false, fmt.Errorf("%s must hold one token on one line", path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", false, err
	}
	return token, fi.Mode().Perm()&0o044 != 0, nil
}

// Header is the Authorization header value that carries token.
func Header(token string) string { return "Bearer " + token }

// Matches reports whether an Authorization header carries token. The scheme
// is case-insensitive (RFC 6750, RFC 9110 §11.1); the token is compared in
// constant time.
func Matches(header, token string) bool {
	scheme, got, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimLeft(got, " ")), []byte(token)) == 1
}
