package simulator

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Canned bodies. The 401 is the live shape seen on /teams/members (F-401);
// the others are the generic envelope of docs/cursor-api.md §3.2.
var (
	bodyUnauthorized     = []byte(`{"statusCode":401,"error":"Unauthorized","message":"Invalid API key"}`)
	bodyForbidden        = []byte(`{"error":"Forbidden","message":"Enterprise access required"}`)
	bodyNotFound         = []byte(`{"error":"Not Found","message":"Resource not found"}`)
	bodyMethodNotAllowed = []byte(`{"error":"Method Not Allowed","message":"Method not allowed"}`)
	bodyTooManyRequests  = []byte(`{"error":"Too Many Requests","message":"Rate limit exceeded. Please try again later."}`)
	bodyUnavailable      = []byte(`{"error":"Service Unavailable","message":"The service is temporarily unavailable. Please try again later."}`)
	bodyInternal         = []byte(`{"error":"Internal Server Error","message":"An unexpected error occurred"}`)
	// What a proxy in front of the API might send with a 200.
	bodyNotJSON = []byte("<html><head><title>Cursor</title></head><body>Something went wrong</body></html>\n")

	headerJSON = []string{"application/json"}
)

func setRetryAfter(w http.ResponseWriter, v string) {
	if v != "" {
		w.Header()["Retry-After"] = []string{v}
	}
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = headerJSON
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func badRequest(w http.ResponseWriter, message string) {
	body, _ := json.Marshal(map[string]string{"error": "Bad Request", "message": message})
	writeJSON(w, http.StatusBadRequest, body)
}
