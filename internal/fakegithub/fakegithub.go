// Package fakegithub is an httptest server that answers like GitHub's REST
// API for the endpoints osprey uses, so tests and benchmarks exercise the real
// clients: app JWTs are verified against the app's public key, installation
// tokens are issued and checked, GETs carry ETags and answer 304 to a
// matching If-None-Match (without spending rate limit, like GitHub), every
// answer carries x-ratelimit-* headers, and lists are paginated with Link
// headers. POST /graphql validates every document against GitHub's published
// schema before a test's resolver answers it. Tests can count the requests
// it served.
package fakegithub

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
)

// RateLimit is the primary limit every installation starts with.
const RateLimit = 5000

// Server is a fake GitHub. Create it with New; its URL is the API base.
type Server struct {
	*httptest.Server

	AppID     int64
	publicKey *rsa.PublicKey

	mu        sync.Mutex
	resources map[string]any   // path → JSON object for GET
	lists     map[string][]any // path → items of a paginated list
	tokens    map[string]int64 // token → installation id
	remaining map[string]int   // rate-limit bucket → remaining
	resetAt   time.Time
	requests  []Request
	manifests map[string]ManifestApp // code → app created by that code
	resolver  GraphQLResolver        // answers POST /graphql after validation
	nextID    int64                  // ids of comments and statuses the fake creates
	projects  *projectStore          // Projects (v2) boards and owners' installations (projects.go)
}

// Request is one request the server answered.
type Request struct {
	Method, Path string
	Status       int
}

// ManifestApp is what the manifest conversion endpoint returns for a code.
type ManifestApp struct {
	ID                                          int64
	Slug, Name, PEM, WebhookSecret              string
	ClientID, ClientSecret, HTMLURL, OwnerLogin string
}

// New starts a fake GitHub for the app appID whose private key is privateKeyPEM.
func New(appID int64, privateKeyPEM []byte) (*Server, error) {
	block, _ := pem.Decode(privateKeyPEM)
	if block == nil {
		return nil, fmt.Errorf("fakegithub: private key is not PEM")
	}
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		parsed, err2 := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err2 != nil {
			return nil, fmt.Errorf("fakegithub: parsing private key: %w", err)
		}
		var ok bool
		if key, ok = parsed.(*rsa.PrivateKey); !ok {
			return nil, fmt.Errorf("fakegithub: private key is not RSA")
		}
	}
	s := &Server{
		AppID:     appID,
		publicKey: &key.PublicKey,
		resources: map[string]any{},
		lists:     map[string][]any{},
		tokens:    map[string]int64{},
		remaining: map[string]int{},
		resetAt:   time.Now().Add(time.Hour).Truncate(time.Second),
		manifests: map[string]ManifestApp{},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s, nil
}

// SetResource makes GET path answer obj.
func (s *Server) SetResource(path string, obj any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resources[path] = obj
}

// SetList makes GET path answer items, paginated (per_page, page).
func (s *Server) SetList(path string, items []any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists[path] = items
}

// SetInstallations makes GET /app/installations (with the app's JWT)
// answer installations, paginated.
func (s *Server) SetInstallations(installations []any) {
	s.SetList("/app/installations", installations)
}

// SetInstallationRepositories makes GET /installation/repositories answer
// repos to installation id's tokens (other installations get the list set
// with SetList, if any), paginated and wrapped as GitHub wraps it.
func (s *Server) SetInstallationRepositories(id int64, repos []any) {
	s.SetList(installationList("installation:"+strconv.FormatInt(id, 10), "/installation/repositories"), repos)
}

// installationList is where the list at path is kept for the installation
// whose rate-limit bucket is bucket.
func installationList(bucket, path string) string { return bucket + " " + path }

// AddManifestCode makes POST /app-manifests/{code}/conversions answer app once.
func (s *Server) AddManifestCode(code string, app ManifestApp) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.manifests[code] = app
}

// Requests returns the requests answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count returns how many requests for method and path got status.
func (s *Server) Count(method, path string, status int) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == method && r.Path == path && r.Status == status {
			n++
		}
	}
	return n
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w}
	s.route(rec, r)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Status: rec.status})
	s.mu.Unlock()
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case r.Method == http.MethodPost && strings.HasPrefix(path, "/app-manifests/") && strings.HasSuffix(path, "/conversions"):
		s.manifestConversion(w, strings.TrimSuffix(strings.TrimPrefix(path, "/app-manifests/"), "/conversions"))
	case r.Method == http.MethodPost && strings.HasPrefix(path, "/app/installations/") && strings.HasSuffix(path, "/access_tokens"):
		if !s.appAuthorized(w, r) {
			return
		}
		id, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(path, "/app/installations/"), "/access_tokens"), 10, 64)
		if err != nil {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		s.issueToken(w, id)
	case r.Method == http.MethodPost && path == "/graphql":
		bucket, ok := s.installationAuthorized(w, r)
		if !ok {
			return
		}
		s.graphql(w, r, "graphql:"+bucket)
	case r.Method == http.MethodGet && isOwnerInstallationPath(path):
		if !s.appAuthorized(w, r) {
			return
		}
		s.ownerInstallation(w, path)
	case r.Method == http.MethodGet && (path == "/app" || path == "/app/installations"):
		if !s.appAuthorized(w, r) {
			return
		}
		s.get(w, r, "app")
	case r.Method == http.MethodGet:
		bucket, ok := s.installationAuthorized(w, r)
		if !ok {
			return
		}
		s.get(w, r, bucket)
	case strings.HasPrefix(path, "/repos/"):
		bucket, ok := s.installationAuthorized(w, r)
		if !ok {
			return
		}
		s.rateHeaders(w, bucket, true)
		if !s.write(w, r) {
			writeError(w, http.StatusNotFound, "Not Found")
		}
	default:
		writeError(w, http.StatusNotFound, "Not Found")
	}
}

// get answers a GET from the resources or lists, with an ETag, honouring
// If-None-Match, and charging the rate limit of bucket unless it is a 304.
func (s *Server) get(w http.ResponseWriter, r *http.Request, bucket string) {
	s.mu.Lock()
	obj, isResource := s.resources[r.URL.Path]
	items, isList := s.lists[r.URL.Path]
	if own, ok := s.lists[installationList(bucket, r.URL.Path)]; ok {
		items, isList = own, true // the list of the installation asking
	}
	s.mu.Unlock()
	if !isResource && !isList && strings.HasPrefix(r.URL.Path, "/repos/") && strings.HasSuffix(r.URL.Path, "/statuses") {
		// Any commit has a list of statuses, empty until one is set.
		items, isList = []any{}, true
	}

	var body any
	switch {
	case isResource:
		body = obj
	case isList:
		perPage := atoiDefault(r.URL.Query().Get("per_page"), 30)
		if perPage > 100 {
			perPage = 100
		}
		page := atoiDefault(r.URL.Query().Get("page"), 1)
		last := (len(items) + perPage - 1) / perPage
		if last == 0 {
			last = 1
		}
		start, end := (page-1)*perPage, page*perPage
		if start > len(items) {
			start = len(items)
		}
		if end > len(items) {
			end = len(items)
		}
		body = items[start:end]
		if strings.HasPrefix(r.URL.Path, "/installation/repositories") {
			body = map[string]any{"total_count": len(items), "repositories": items[start:end]}
		}
		if link := linkHeader(s.URL, r.URL, page, last, perPage); link != "" {
			w.Header().Set("Link", link)
		}
	default:
		s.rateHeaders(w, bucket, true)
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}

	data, _ := json.Marshal(body)
	sum := sha256.Sum256(append([]byte(r.Header.Get("Authorization")+"\n"), data...))
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "private, max-age=60, s-maxage=60")
	w.Header().Set("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
	if match := r.Header.Get("If-None-Match"); match != "" && match == etag {
		s.rateHeaders(w, bucket, false)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	s.rateHeaders(w, bucket, true)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(data)
}

func (s *Server) issueToken(w http.ResponseWriter, installationID int64) {
	token := fmt.Sprintf("ghs_fake%d_%d", installationID, time.Now().UnixNano())
	s.mu.Lock()
	s.tokens[token] = installationID
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"token":      token,
		"expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
	})
}

func (s *Server) manifestConversion(w http.ResponseWriter, code string) {
	s.mu.Lock()
	app, ok := s.manifests[code]
	delete(s.manifests, code)
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": app.ID, "slug": app.Slug, "name": app.Name, "pem": app.PEM, "webhook_secret": app.WebhookSecret,
		"client_id": app.ClientID, "client_secret": app.ClientSecret, "html_url": app.HTMLURL,
		"owner": map[string]any{"login": app.OwnerLogin},
	})
}

// appAuthorized checks a Bearer app JWT: RS256, signed by the app's key,
// issued for this app, not expired, at most 10 minutes long.
func (s *Server) appAuthorized(w http.ResponseWriter, r *http.Request) bool {
	jwt, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		writeError(w, http.StatusUnauthorized, "A JSON web token could not be decoded")
		return false
	}
	if err := s.verifyJWT(jwt); err != nil {
		writeError(w, http.StatusUnauthorized, "A JSON web token could not be decoded: "+err.Error())
		return false
	}
	s.rateHeaders(w, "app", true)
	return true
}

func (s *Server) verifyJWT(token string) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return fmt.Errorf("not a JWT")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return fmt.Errorf("bad signature encoding")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(s.publicKey, crypto.SHA256, digest[:], sig); err != nil {
		return fmt.Errorf("signature does not match the app's key")
	}
	claimsJSON, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return fmt.Errorf("bad claims encoding")
	}
	var claims struct {
		Iss json.RawMessage `json:"iss"`
		Iat int64           `json:"iat"`
		Exp int64           `json:"exp"`
	}
	if err := json.Unmarshal(claimsJSON, &claims); err != nil {
		return fmt.Errorf("bad claims")
	}
	if strings.Trim(string(claims.Iss), `"`) != strconv.FormatInt(s.AppID, 10) {
		return fmt.Errorf("issuer %s is not app %d", claims.Iss, s.AppID)
	}
	now := time.Now().Unix()
	if claims.Exp < now || claims.Exp-claims.Iat > 600+60 {
		return fmt.Errorf("expired or longer than 10 minutes")
	}
	return nil
}

func (s *Server) installationAuthorized(w http.ResponseWriter, r *http.Request) (string, bool) {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "token ")
	if !ok {
		token, ok = strings.CutPrefix(auth, "Bearer ")
	}
	s.mu.Lock()
	id, known := s.tokens[token]
	s.mu.Unlock()
	if !ok || !known {
		writeError(w, http.StatusUnauthorized, "Bad credentials")
		return "", false
	}
	return "installation:" + strconv.FormatInt(id, 10), true
}

// rateHeaders writes the x-ratelimit-* headers of bucket, charging one
// request when charge is set.
func (s *Server) rateHeaders(w http.ResponseWriter, bucket string, charge bool) {
	s.mu.Lock()
	remaining, seen := s.remaining[bucket]
	if !seen {
		remaining = RateLimit
	}
	if charge && remaining > 0 {
		remaining--
	}
	s.remaining[bucket] = remaining
	reset := s.resetAt.Unix()
	s.mu.Unlock()
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(RateLimit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Used", strconv.Itoa(RateLimit-remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
	h.Set("X-RateLimit-Resource", "core")
}

// Remaining is the rate limit left for an installation.
func (s *Server) Remaining(installationID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.remaining["installation:"+strconv.FormatInt(installationID, 10)]; ok {
		return n
	}
	return RateLimit
}

func linkHeader(base string, u *url.URL, page, last, perPage int) string {
	link := func(p int, rel string) string {
		q := u.Query()
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(perPage))
		return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, base, u.Path, q.Encode(), rel)
	}
	var parts []string
	if page > 1 {
		parts = append(parts, link(page-1, "prev"), link(1, "first"))
	}
	if page < last {
		parts = append(parts, link(page+1, "next"), link(last, "last"))
	}
	return strings.Join(parts, ", ")
}

func writeError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{
		"message":           message,
		"documentation_url": "https://docs.github.com/rest",
	})
}

func atoiDefault(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return n
	}
	return def
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// NewPrivateKey returns a fresh RSA private key in PEM form, for a test app.
func NewPrivateKey() ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), nil
}

// NewApp starts a fake GitHub for a new test app appID (with a fresh key)
// and returns the go-githubapp configuration that points at it.
func NewApp(appID int64) (*Server, githubapp.Config, error) {
	var cfg githubapp.Config
	key, err := NewPrivateKey()
	if err != nil {
		return nil, cfg, err
	}
	s, err := New(appID, key)
	if err != nil {
		return nil, cfg, err
	}
	cfg.V3APIURL, cfg.V4APIURL, cfg.WebURL = s.URL+"/", s.URL+"/graphql", s.URL
	cfg.App.IntegrationID, cfg.App.PrivateKey = appID, string(key)
	return s, cfg, nil
}

// SetRemaining sets how much of its primary rate limit installation id has
// left, and when the limit resets, as GitHub would report them.
func (s *Server) SetRemaining(installationID int64, remaining int, reset time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remaining["installation:"+strconv.FormatInt(installationID, 10)] = remaining
	s.resetAt = reset.Truncate(time.Second)
}
