package httpretry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// DoStream hands a 2xx body to read before the answer has ended; a 503
// before it is retried like Do's.
func TestDoStreamReadsTheBodyAsItArrives(t *testing.T) {
	release := make(chan struct{})
	halves := func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first half,")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "second half")
	}
	srv, n := server(t, status(503), halves)
	var got string
	resp, err := DoStream(context.Background(), srv.Client(), Policy{Wait: (&recorder{}).Wait}, get(srv.URL), func(r io.Reader) error {
		buf := make([]byte, len("first half,"))
		if _, err := io.ReadFull(r, buf); err != nil {
			return err
		}
		close(release) // the server sends the rest only once the first half was read
		rest, err := io.ReadAll(r)
		got = string(buf) + string(rest)
		return err
	})
	if err != nil || resp.Status != 200 || resp.Body != nil || got != "first half,second half" || n.Load() != 2 {
		t.Fatalf("DoStream = %v, %v, read %q after %d requests; want 200 without a Body, the whole answer read, 2 requests", resp, err, got, n.Load())
	}
}

// read's own error is returned as it is and not retried; the connection
// failing while read runs is a *NetworkError, not retried either (read may
// have used part of the body); the size cap holds.
func TestDoStreamFailures(t *testing.T) {
	srv, n := server(t, status(200))
	mine := errors.New("not the shape")
	_, err := DoStream(context.Background(), srv.Client(), Policy{Wait: (&recorder{}).Wait}, get(srv.URL), func(io.Reader) error { return mine })
	if err != mine || n.Load() != 1 {
		t.Errorf("read's error: DoStream = %v after %d requests; want it as it is after 1", err, n.Load())
	}

	truncate := func(w http.ResponseWriter, r *http.Request) {
		conn, buf, _ := w.(http.Hijacker).Hijack()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"data\":[")
		buf.Flush()
		conn.Close()
	}
	srv, n = server(t, truncate, status(200))
	_, err = DoStream(context.Background(), srv.Client(), Policy{Wait: (&recorder{}).Wait}, get(srv.URL), func(r io.Reader) error {
		_, err := io.ReadAll(r)
		return errors.New("decoder's view: " + err.Error())
	})
	var nerr *NetworkError
	if !errors.As(err, &nerr) || !strings.Contains(err.Error(), "unexpected EOF") || n.Load() != 1 {
		t.Errorf("cut answer: DoStream = %v after %d requests; want a NetworkError naming the EOF after 1", err, n.Load())
	}

	srv, _ = server(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, strings.Repeat("x", 2000)) })
	_, err = DoStream(context.Background(), srv.Client(), Policy{Wait: (&recorder{}).Wait, MaxBodyBytes: 1000}, get(srv.URL), func(r io.Reader) error {
		_, err := io.ReadAll(r)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "more than 1000 bytes") {
		t.Errorf("oversized answer: DoStream = %v; want a size error", err)
	}

	srv, n = server(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "start")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	_, err = DoStream(context.Background(), srv.Client(), Policy{Backoff: []time.Duration{}, AttemptTimeout: 50 * time.Millisecond}, get(srv.URL), func(r io.Reader) error {
		_, err := io.ReadAll(r)
		return err
	})
	if !errors.As(err, &nerr) || !strings.Contains(err.Error(), "attempt timeout") || n.Load() != 1 {
		t.Errorf("stalled answer: DoStream = %v after %d requests; want the attempt timeout after 1", err, n.Load())
	}
}
