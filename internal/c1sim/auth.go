package c1sim

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// tokenLifetime is what the token endpoint promises; baton-sdk reuses a
// token until shortly before it expires.
const tokenLifetime = time.Hour

// NewClientSecret makes a client secret in ConductorOne's format,
// "<a>:<b>:v1:<base64url JWK>" holding an Ed25519 private key, and the
// public key that verifies the assertions signed with it.
func NewClientSecret() (secret string, public ed25519.PublicKey, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", nil, err
	}
	jwk, err := json.Marshal(map[string]string{
		"kty": "OKP",
		"crv": "Ed25519",
		"x":   base64.RawURLEncoding.EncodeToString(pub),
		"d":   base64.RawURLEncoding.EncodeToString(priv.Seed()),
	})
	if err != nil {
		return "", nil, err
	}
	return "secret-token:conductorone.com:v1:" + base64.RawURLEncoding.EncodeToString(jwk), pub, nil
}

// serveToken is POST /auth/v1/token: the client-credentials exchange with a
// signed client assertion (RFC 7523), as baton-sdk's ugrpc token source sends it.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.rejectToken(w, "unreadable form: "+err.Error())
		return
	}
	switch {
	case r.PostForm.Get("grant_type") != "client_credentials":
		s.rejectToken(w, "grant_type is not client_credentials")
		return
	case r.PostForm.Get("client_assertion_type") != assertionType:
		s.rejectToken(w, "client_assertion_type is not jwt-bearer")
		return
	case r.PostForm.Get("client_id") != s.clientID:
		s.rejectToken(w, "unknown client_id")
		return
	}
	if err := verifyAssertion(r.PostForm.Get("client_assertion"), s.publicKey, s.clientID, s.audience, time.Now()); err != nil {
		s.rejectToken(w, err.Error())
		return
	}

	buf := make([]byte, 32)
	_, _ = rand.Read(buf)
	token := hex.EncodeToString(buf)
	s.mu.Lock()
	s.tokens[token] = true
	s.tokensIssued++
	s.changedLocked()
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": token,
		"token_type":   "Bearer",
		"expires_in":   int(tokenLifetime / time.Second),
	})
}

func (s *Server) rejectToken(w http.ResponseWriter, why string) {
	s.mu.Lock()
	s.tokenRejections = append(s.tokenRejections, why)
	s.changedLocked()
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client", "error_description": why})
}

// verifyAssertion checks a compact EdDSA JWS: the signature against pub,
// iss = sub = clientID, aud holding audience, and the time window.
func verifyAssertion(jws string, pub ed25519.PublicKey, clientID, audience string, now time.Time) error {
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		return errors.New("client_assertion is not a compact JWS")
	}
	headerJSON, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return errors.New("client_assertion header is not base64url")
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(headerJSON, &header); err != nil || header.Alg != "EdDSA" {
		return fmt.Errorf("client_assertion alg %q, want EdDSA", header.Alg)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return errors.New("client_assertion signature is not base64url")
	}
	if !ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig) {
		return errors.New("client_assertion signature does not verify with the client's key")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return errors.New("client_assertion payload is not base64url")
	}
	var claims struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Exp *int64          `json:"exp"`
		Nbf *int64          `json:"nbf"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return errors.New("client_assertion claims are not JSON")
	}
	if claims.Iss != clientID || claims.Sub != clientID {
		return fmt.Errorf("client_assertion iss %q / sub %q, want the client id", claims.Iss, claims.Sub)
	}
	// aud is a string or an array of strings (RFC 7519 4.1.3).
	var auds []string
	if err := json.Unmarshal(claims.Aud, &auds); err != nil {
		var one string
		if json.Unmarshal(claims.Aud, &one) != nil {
			return errors.New("client_assertion aud is neither a string nor a list")
		}
		auds = []string{one}
	}
	if !slices.Contains(auds, audience) {
		return fmt.Errorf("client_assertion aud %q does not name %q", auds, audience)
	}
	if claims.Exp == nil || now.Unix() >= *claims.Exp {
		return errors.New("client_assertion has expired or has no exp")
	}
	if claims.Nbf != nil && now.Unix() < *claims.Nbf {
		return errors.New("client_assertion is not valid yet (nbf)")
	}
	return nil
}

// authorized checks the gRPC call's bearer token.
func (s *Server) authorized(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		token, ok := strings.CutPrefix(v, "Bearer ")
		if !ok {
			continue
		}
		s.mu.Lock()
		known := s.tokens[token]
		s.mu.Unlock()
		if known {
			return nil
		}
	}
	s.mu.Lock()
	s.unauthenticatedCalls++
	s.changedLocked()
	s.mu.Unlock()
	return status.Error(codes.Unauthenticated, "c1sim: no valid bearer token")
}

func (s *Server) unaryAuth(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	if err := s.authorized(ctx); err != nil {
		return nil, err
	}
	return next(ctx, req)
}

func (s *Server) streamAuth(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, next grpc.StreamHandler) error {
	if err := s.authorized(ss.Context()); err != nil {
		return err
	}
	return next(srv, ss)
}
