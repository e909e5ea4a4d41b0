// Package c1sim is a simulated ConductorOne control plane: what a connector
// in service mode (BATON_CLIENT_ID / BATON_CLIENT_SECRET) talks to. Tests and
// benchmarks start one, point a real baton-cursor at it and fill its task
// queue:
//
//	c1, err := c1sim.Start(t.TempDir())     // TLS on 127.0.0.1, its own CA
//	defer c1.Close()
//	cmd.Env = append(cmd.Env, c1.Env()...)  // BATON_CLIENT_ID, _SECRET, BATON_C1_API_HOST, SSL_CERT_FILE
//	id := c1.EnqueueSync()
//	out, err := c1.WaitOutcome(ctx, id)     // what the connector reported with FinishTask
//	up := c1.Uploads(id)                    // the c1z it uploaded (a file, sha256 checked)
//
// It serves, on one TLS listener: POST /auth/v1/token (the client-credentials
// exchange; the EdDSA client assertion is verified against the public key of
// the client secret Start made, with iss = sub = the client id, aud = the
// client id's host, and exp), and baton-sdk's gRPC service
// c1.connectorapi.baton.v1.BatonService (Hello, GetTask, Heartbeat,
// UploadAsset, FinishTask), every call requiring a token it issued.
//
// It records hellos (with their host_id), heartbeats, uploads and task
// outcomes. CancelTask makes the next heartbeat of a task answer cancelled;
// SetIdlePoll sets the next_poll GetTask answers when the queue is empty.
// The wire behaviour follows baton-sdk v0.25.0's client: pkg/tasks/c1api
// (service_client.go, manager.go) and pkg/ugrpc/c1_credential_provider.go.
package c1sim

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	v1 "github.com/conductorone/baton-sdk/pb/c1/connectorapi/baton/v1"
	"google.golang.org/grpc"
)

// ClientName and Audience make up the client id, "<name>@<audience>/<suffix>":
// the audience is the tenant host the assertion must be addressed to; the
// connector dials BATON_C1_API_HOST instead.
const (
	ClientName = "baton-cursor-test"
	Audience   = "c1sim.conductor.one"
)

// DefaultIdlePoll is the next_poll GetTask answers when the queue is empty:
// short, so a test's new task is picked up quickly.
const DefaultIdlePoll = 100 * time.Millisecond

// DefaultHeartbeat is the next_heartbeat answered to a running task
// (baton-sdk's minimum), so cancellation reaches it within about a second.
const DefaultHeartbeat = time.Second

// Server is one running simulated control plane.
type Server struct {
	dir          string
	caFile       string
	addr         string
	clientID     string
	clientSecret string
	publicKey    ed25519.PublicKey
	audience     string
	roots        *x509.CertPool

	http *http.Server
	grpc *grpc.Server

	mu                   sync.Mutex
	changed              chan struct{} // closed and replaced on every recorded event
	tokens               map[string]bool
	tokensIssued         int
	tokenRejections      []string
	unauthenticatedCalls int
	queue                []*v1.Task
	idlePoll             time.Duration
	heartbeatEvery       time.Duration
	cancelled            map[string]bool
	hellos               []Hello
	heartbeats           []Heartbeat
	uploads              []Upload
	outcomes             []Outcome
	polls                int
	uploadSeq            int
}

// Start serves a simulated control plane on a free loopback port. dir holds
// ca.pem and the uploaded c1z files; the caller removes it.
func Start(dir string) (*Server, error) {
	secret, pub, err := NewClientSecret()
	if err != nil {
		return nil, err
	}
	s := &Server{
		dir:            dir,
		caFile:         filepath.Join(dir, "ca.pem"),
		clientID:       ClientName + "@" + Audience + "/svc",
		clientSecret:   secret,
		publicKey:      pub,
		audience:       Audience,
		changed:        make(chan struct{}),
		tokens:         map[string]bool{},
		idlePoll:       DefaultIdlePoll,
		heartbeatEvery: DefaultHeartbeat,
		cancelled:      map[string]bool{},
	}
	tlsCfg, roots, err := newTLS(s.caFile)
	if err != nil {
		return nil, err
	}
	s.roots = roots

	s.grpc = grpc.NewServer(grpc.UnaryInterceptor(s.unaryAuth), grpc.StreamInterceptor(s.streamAuth))
	registerBatonService(s)
	mux := http.NewServeMux()
	mux.HandleFunc("/auth/v1/token", s.serveToken)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.addr = ln.Addr().String()
	s.http = &http.Server{
		// One listener for both: gRPC is HTTP/2 with an application/grpc body.
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
				s.grpc.ServeHTTP(w, r)
				return
			}
			mux.ServeHTTP(w, r)
		}),
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 10 * time.Second,
		// A connector killed mid-handshake is what tests do; not worth a line.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() { _ = s.http.Serve(tls.NewListener(ln, tlsCfg)) }()
	return s, nil
}

// Close stops serving; calls in flight end.
func (s *Server) Close() {
	_ = s.http.Close()
	s.grpc.Stop()
}

// Addr is host:port, the value of BATON_C1_API_HOST.
func (s *Server) Addr() string { return s.addr }

// CAFile is the PEM file of the CA that signed the server's certificate,
// the value of SSL_CERT_FILE.
func (s *Server) CAFile() string { return s.caFile }

// RootCAs holds the same CA, for clients in this process.
func (s *Server) RootCAs() *x509.CertPool { return s.roots }

// ClientID is the client id the token endpoint accepts.
func (s *Server) ClientID() string { return s.clientID }

// ClientSecret is the one client secret whose assertions verify.
func (s *Server) ClientSecret() string { return s.clientSecret }

// Env is the environment that points a connector at this server.
func (s *Server) Env() []string {
	return []string{
		"BATON_CLIENT_ID=" + s.clientID,
		"BATON_CLIENT_SECRET=" + s.clientSecret,
		"BATON_C1_API_HOST=" + s.addr,
		"SSL_CERT_FILE=" + s.caFile,
	}
}

// SetIdlePoll sets the next_poll GetTask answers with an empty queue.
func (s *Server) SetIdlePoll(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idlePoll = d
}

// SetHeartbeatInterval sets the next_heartbeat answered to running tasks.
func (s *Server) SetHeartbeatInterval(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.heartbeatEvery = d
}

// CancelTask makes every later heartbeat of the task answer cancelled, as C1
// does when someone cancels a sync.
func (s *Server) CancelTask(taskID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cancelled[taskID] = true
}

// changedLocked wakes every waiter.
func (s *Server) changedLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor waits until cond (called with s.mu held) is true or ctx ends.
func (s *Server) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok, ch := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// ErrNoOutcome is returned by WaitOutcome when ctx ends first.
var ErrNoOutcome = errors.New("c1sim: the task was not finished")
