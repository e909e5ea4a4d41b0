package transport

// Standard clients at the sidecar's edges (issue 16, point 8): health in the
// names of the standard grpc.health.v1 proto, and unknown methods answered
// as each protocol's clients expect.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/emptypb"
)

func TestHealthOverConnectJSONUsesTheStandardNames(t *testing.T) {
	base := startSidecar(t, 5, "")
	for _, svc := range []string{"", "cursor.plugin.v1.PluginService"} {
		req, _ := json.Marshal(map[string]string{"service": svc})
		resp, err := http.Post(base+"/grpc.health.v1.Health/Check", "application/json", bytes.NewReader(req))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// What a client generated from grpc/health/v1/health.proto decodes.
		var got healthpb.HealthCheckResponse
		if err := protojson.Unmarshal(body, &got); err != nil || got.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Connect JSON health of %q: HTTP %d %s: %v, %v; want {\"status\":\"SERVING\"}", svc, resp.StatusCode, body, got.GetStatus(), err)
		}
	}
	// List, the standard proto's newer call, answers both.
	resp, err := http.Post(base+"/grpc.health.v1.Health/List", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var list healthpb.HealthListResponse
	if err := protojson.Unmarshal(body, &list); err != nil || len(list.GetStatuses()) != 2 ||
		list.GetStatuses()["cursor.plugin.v1.PluginService"].GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("Connect JSON health List: HTTP %d %s: %v", resp.StatusCode, body, err)
	}
}

func TestHealthOverGRPCWithTheStandardClient(t *testing.T) {
	base := startSidecar(t, 5, "")
	conn, err := grpc.NewClient(strings.TrimPrefix(base, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	for _, svc := range []string{"", "cursor.plugin.v1.PluginService"} {
		if resp, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: svc}); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("grpc-go health Check(%q) = %v, %v; want SERVING", svc, resp.GetStatus(), err)
		}
	}
	if _, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "nope.v1.Nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("grpc-go health Check of an unknown service: %v, want NotFound", err)
	}
	// Unknown methods and services: Unimplemented, as grpc-go's own servers say.
	for _, method := range []string{"/cursor.plugin.v1.PluginService/Nope", "/nope.v1.Nope/Get"} {
		err := conn.Invoke(context.Background(), method, &emptypb.Empty{}, &emptypb.Empty{})
		if status.Code(err) != codes.Unimplemented || !strings.Contains(status.Convert(err).Message(), method) {
			t.Errorf("grpc-go %s: %v, want Unimplemented naming the method", method, err)
		}
	}
}

// unknown posts an empty message to an unknown method with contentType and
// returns the HTTP status, the headers and trailers, and the body.
func unknown(t *testing.T, base, method, contentType string, body []byte) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+method, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if strings.HasPrefix(contentType, "application/grpc") && !strings.HasPrefix(contentType, "application/grpc-web") {
		req.Header.Set("TE", "trailers")
	}
	resp, err := h2c().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	for k, v := range resp.Trailer {
		resp.Header[k] = v
	}
	return resp.StatusCode, resp.Header, string(out)
}

func TestUnknownMethodsGetEachProtocolsUnimplemented(t *testing.T) {
	base := startSidecar(t, 5, "")
	emptyFrame := []byte{0, 0, 0, 0, 0} // a gRPC message of no bytes
	for _, method := range []string{"/cursor.plugin.v1.PluginService/Nope", "/nope.v1.Nope/Get", "/grpc.health.v1.Health/Nope"} {
		for _, ct := range []string{"application/grpc", "application/grpc+proto", "application/grpc-web+proto"} {
			code, h, _ := unknown(t, base, method, ct, emptyFrame)
			if code != http.StatusOK || h.Get("Grpc-Status") != "12" || !strings.Contains(strings.ToLower(h.Get("Grpc-Message")), "nope") {
				t.Errorf("%s %s: HTTP %d, grpc-status %q, grpc-message %q; want 200 with grpc-status 12 naming the method",
					ct, method, code, h.Get("Grpc-Status"), h.Get("Grpc-Message"))
			}
		}
		for _, ct := range []string{"application/json", "application/proto"} {
			code, h, body := unknown(t, base, method, ct, nil)
			var e struct{ Code, Message string }
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Code != "unimplemented" || code/100 != 4 && code/100 != 5 ||
				!strings.HasPrefix(h.Get("Content-Type"), "application/json") {
				t.Errorf("Connect %s %s: HTTP %d %s %q; want a Connect error body with code unimplemented", ct, method, code, h.Get("Content-Type"), body)
			}
		}
	}
	// Anything that is not an RPC (a browser's GET of the root) stays a plain 404.
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /: HTTP %d, want 404", resp.StatusCode)
	}
}
