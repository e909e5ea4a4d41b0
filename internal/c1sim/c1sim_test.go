package c1sim

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	v1 "github.com/conductorone/baton-sdk/pb/c1/connectorapi/baton/v1"
	"github.com/conductorone/baton-sdk/pkg/crypto"
	"github.com/conductorone/baton-sdk/pkg/ugrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"
)

// shared is started by TestMain so that baton-sdk's own token source (which
// trusts only the system roots) can reach it: SSL_CERT_FILE is set before
// anything in this process loads the roots.
var shared *Server

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "c1sim-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared, err = Start(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("SSL_CERT_FILE", shared.CAFile())
	os.Setenv("BATON_C1_API_HOST", shared.Addr())
	code := m.Run()
	shared.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// dial connects as baton-sdk does: TLS and its per-call C1 credentials
// (the token exchange with a signed assertion) for the given secret.
func dial(t *testing.T, s *Server, secret string) v1.BatonServiceClient {
	t.Helper()
	creds, _, _, err := ugrpc.NewC1CredentialProvider(context.Background(), s.ClientID(), secret)
	if err != nil {
		t.Fatalf("NewC1CredentialProvider: %v", err)
	}
	return dialWith(t, s, grpc.WithPerRPCCredentials(creds))
}

func dialWith(t *testing.T, s *Server, opts ...grpc.DialOption) v1.BatonServiceClient {
	t.Helper()
	opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: s.RootCAs()})))
	cc, err := grpc.NewClient(s.Addr(), opts...)
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	t.Cleanup(func() { cc.Close() })
	return v1.NewBatonServiceClient(cc)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestClientSecretParsesWithBatonSDK(t *testing.T) {
	secret, pub, err := NewClientSecret()
	if err != nil {
		t.Fatal(err)
	}
	key, err := crypto.ParseClientSecret([]byte(secret), false)
	if err != nil {
		t.Fatalf("baton-sdk refuses the secret: %v", err)
	}
	priv, ok := key.Key.(ed25519.PrivateKey)
	if !ok || !priv.Public().(ed25519.PublicKey).Equal(pub) {
		t.Fatalf("the secret's key %T does not match the public key returned", key.Key)
	}
}

func TestTaskRoundTripWithBatonSDKCredentials(t *testing.T) {
	s := shared
	c := dial(t, s, s.ClientSecret())
	ctx := ctxT(t)

	if _, err := c.Hello(ctx, v1.BatonServiceHelloRequest_builder{HostId: "pod-a"}.Build()); err != nil {
		t.Fatalf("Hello: %v", err)
	}
	if h, err := s.WaitHello(ctx); err != nil || h.HostID != "pod-a" {
		t.Fatalf("recorded hello %+v, %v; want host pod-a", h, err)
	}

	s.SetIdlePoll(250 * time.Millisecond)
	resp, err := c.GetTask(ctx, &v1.BatonServiceGetTaskRequest{})
	if err != nil {
		t.Fatalf("GetTask: %v", err)
	}
	if resp.GetTask() != nil || resp.GetNextPoll().AsDuration() != 250*time.Millisecond {
		t.Fatalf("empty queue: task %v next_poll %v; want none and 250ms", resp.GetTask(), resp.GetNextPoll().AsDuration())
	}
	s.SetIdlePoll(DefaultIdlePoll)

	id := s.EnqueueSync()
	if len(id) != 27 {
		t.Errorf("task id %q is not 27 characters", id)
	}
	resp, err = c.GetTask(ctx, &v1.BatonServiceGetTaskRequest{})
	if err != nil || resp.GetTask().GetId() != id || !resp.GetTask().HasSyncFull() {
		t.Fatalf("GetTask = %v, %v; want the sync task %s", resp.GetTask(), err, id)
	}

	hb, err := c.Heartbeat(ctx, v1.BatonServiceHeartbeatRequest_builder{HostId: "pod-a", TaskId: id}.Build())
	if err != nil || hb.GetCancelled() {
		t.Fatalf("Heartbeat = %v, %v; want not cancelled", hb, err)
	}
	s.CancelTask(id)
	hb, err = c.Heartbeat(ctx, v1.BatonServiceHeartbeatRequest_builder{HostId: "pod-a", TaskId: id}.Build())
	if err != nil || !hb.GetCancelled() {
		t.Fatalf("Heartbeat after CancelTask = %v, %v; want cancelled", hb, err)
	}
	if n := len(s.Heartbeats(id)); n != 2 {
		t.Errorf("%d heartbeats recorded, want 2", n)
	}

	data := []byte(strings.Repeat("c1z bytes ", 100000)) // two chunks' worth
	if err := upload(ctx, c, id, data, nil); err != nil {
		t.Fatalf("upload: %v", err)
	}
	ups := s.Uploads(id)
	if len(ups) != 1 || ups[0].Size != int64(len(data)) || ups[0].HostID != "pod-a" {
		t.Fatalf("uploads %+v; want one of %d bytes from pod-a", ups, len(data))
	}
	if got, err := os.ReadFile(ups[0].Path); err != nil || string(got) != string(data) {
		t.Fatalf("uploaded file differs from what was sent (err %v)", err)
	}

	created, _ := anypb.New(v2.CreateAccountResponse_builder{}.Build())
	if _, err := c.FinishTask(ctx, v1.BatonServiceFinishTaskRequest_builder{
		HostId: "pod-a", TaskId: id,
		Success: v1.BatonServiceFinishTaskRequest_Success_builder{Response: created}.Build(),
	}.Build()); err != nil {
		t.Fatalf("FinishTask: %v", err)
	}
	out, err := s.WaitOutcome(ctx, id)
	if err != nil || !out.Success || out.Response.GetTypeUrl() != created.GetTypeUrl() {
		t.Fatalf("outcome %+v, %v; want success carrying the response", out, err)
	}
}

func TestFailedTaskOutcome(t *testing.T) {
	s := shared
	c := dial(t, s, s.ClientSecret())
	ctx := ctxT(t)
	id := s.EnqueueDelete("user", "dana@example.com")
	_, err := c.FinishTask(ctx, v1.BatonServiceFinishTaskRequest_builder{
		HostId: "pod-b", TaskId: id,
		Status: status.New(codes.FailedPrecondition, "remove them in the dashboard").Proto(),
		Error:  v1.BatonServiceFinishTaskRequest_Error_builder{NonRetryable: true}.Build(),
	}.Build())
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.WaitOutcome(ctx, id)
	if err != nil || out.Success || !out.NonRetryable || out.Code != codes.FailedPrecondition || out.Message != "remove them in the dashboard" {
		t.Fatalf("outcome %+v, %v", out, err)
	}
}

func TestUploadWithWrongChecksumIsRefused(t *testing.T) {
	s := shared
	c := dial(t, s, s.ClientSecret())
	ctx := ctxT(t)
	id := s.EnqueueSync()
	bad := sha256.Sum256([]byte("something else"))
	err := upload(ctx, c, id, []byte("the data"), bad[:])
	if status.Code(err) != codes.DataLoss {
		t.Fatalf("upload with a wrong sha256: %v, want DataLoss", err)
	}
	if ups := s.Uploads(id); len(ups) != 0 {
		t.Fatalf("a refused upload was recorded: %+v", ups)
	}
}

func TestWrongClientSecretGetsNoToken(t *testing.T) {
	s := shared
	wrong, _, err := NewClientSecret()
	if err != nil {
		t.Fatal(err)
	}
	before := len(s.TokenRejections())
	c := dial(t, s, wrong)
	_, err = c.Hello(ctxT(t), v1.BatonServiceHelloRequest_builder{HostId: "pod-c"}.Build())
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("Hello with a wrong secret: %v, want Unauthenticated", err)
	}
	rej := s.TokenRejections()
	if len(rej) != before+1 || !strings.Contains(rej[len(rej)-1], "does not verify") {
		t.Fatalf("token rejections %q; want one for the signature", rej[before:])
	}
}

func TestCallWithoutTokenIsUnauthenticated(t *testing.T) {
	s := shared
	c := dialWith(t, s)
	before := s.UnauthenticatedCalls()
	_, err := c.GetTask(ctxT(t), &v1.BatonServiceGetTaskRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("GetTask without a token: %v, want Unauthenticated", err)
	}
	if s.UnauthenticatedCalls() != before+1 {
		t.Fatal("the refused call was not counted")
	}
}

// upload sends data the way baton-sdk's service client does; sum nil means
// the right checksum.
func upload(ctx context.Context, c v1.BatonServiceClient, taskID string, data, sum []byte) error {
	st, err := c.UploadAsset(ctx)
	if err != nil {
		return err
	}
	if sum == nil {
		s := sha256.Sum256(data)
		sum = s[:]
	}
	msgs := []*v1.BatonServiceUploadAssetRequest{v1.BatonServiceUploadAssetRequest_builder{
		Metadata: v1.BatonServiceUploadAssetRequest_UploadMetadata_builder{HostId: "pod-a", TaskId: taskID}.Build(),
	}.Build()}
	for len(data) > 0 {
		n := min(len(data), 512<<10)
		msgs = append(msgs, v1.BatonServiceUploadAssetRequest_builder{
			Data: v1.BatonServiceUploadAssetRequest_UploadData_builder{Data: data[:n]}.Build(),
		}.Build())
		data = data[n:]
	}
	msgs = append(msgs, v1.BatonServiceUploadAssetRequest_builder{
		Eof: v1.BatonServiceUploadAssetRequest_UploadEOF_builder{Sha256Checksum: sum}.Build(),
	}.Build())
	for _, m := range msgs {
		if err := st.Send(m); err != nil {
			return err
		}
	}
	_, err = st.CloseAndRecv()
	return err
}

// --- the assertion check on its own ---

func signJWS(t *testing.T, priv ed25519.PrivateKey, alg string, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(map[string]string{"alg": alg})
	p, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	return input + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(input)))
}

func TestVerifyAssertion(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	const id = "name@" + Audience + "/x"
	now := time.Now()
	good := func() map[string]any {
		return map[string]any{"iss": id, "sub": id, "aud": []string{Audience}, "exp": now.Add(2 * time.Minute).Unix(), "nbf": now.Add(-2 * time.Minute).Unix()}
	}
	with := func(k string, v any) map[string]any { c := good(); c[k] = v; return c }

	if err := verifyAssertion(signJWS(t, priv, "EdDSA", good()), pub, id, Audience, now); err != nil {
		t.Fatalf("a good assertion was refused: %v", err)
	}
	if err := verifyAssertion(signJWS(t, priv, "EdDSA", with("aud", Audience)), pub, id, Audience, now); err != nil {
		t.Fatalf("aud as a plain string was refused: %v", err)
	}
	tampered := signJWS(t, priv, "EdDSA", good())
	parts := strings.Split(tampered, ".")
	evil, _ := json.Marshal(with("sub", "someone@else/x"))
	parts[1] = base64.RawURLEncoding.EncodeToString(evil)

	for name, jws := range map[string]string{
		"signed by another key": signJWS(t, otherPriv, "EdDSA", good()),
		"payload changed":       strings.Join(parts, "."),
		"alg none":              signJWS(t, priv, "none", good()),
		"other issuer":          signJWS(t, priv, "EdDSA", with("iss", "other@"+Audience+"/x")),
		"other subject":         signJWS(t, priv, "EdDSA", with("sub", "other@"+Audience+"/x")),
		"other audience":        signJWS(t, priv, "EdDSA", with("aud", []string{"evil.example"})),
		"expired":               signJWS(t, priv, "EdDSA", with("exp", now.Add(-time.Second).Unix())),
		"no exp":                signJWS(t, priv, "EdDSA", with("exp", nil)),
		"not yet valid":         signJWS(t, priv, "EdDSA", with("nbf", now.Add(time.Minute).Unix())),
		"not a JWS":             "abc",
	} {
		if err := verifyAssertion(jws, pub, id, Audience, now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
