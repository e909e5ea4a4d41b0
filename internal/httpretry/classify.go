package httpretry

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
)

// retryableStatus: rate limiting and the 5xx codes that mean "try again".
// 501 and the rest are answers, not outages.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// isTransient says whether another attempt could succeed after a transport or
// body-read error: connection refused/reset, timeouts, a cut-off body. A
// misspelt host, a bad certificate or a malformed URL will fail the same way
// every time, so they are not retried.
func isTransient(err error, actx context.Context) bool {
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		return true // this attempt's own timeout
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err // *url.Error is itself a net.Error; judge what it wraps
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return !dnsErr.IsNotFound
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
