// Package fakegithub is an httptest server that answers like GitHub's REST
// API for the endpoints osprey uses, so tests and benchmarks exercise the real
// clients: app JWTs are verified against the app's public key, installation
// tokens are issued and checked, GETs carry ETags and answer 304 to a
// matching If-None-Match (without spending rate limit, like GitHub), every
// answer carries x-ratelimit-* headers, and lists are paginated with Link
// headers. POST /graphql validates every document against GitHub's published
// schema before a test's resolver answers it. Tests can count the requests
// it served.
//
// It can also misbehave the way GitHub does: every answer can be delayed
// (SetLatency), an installation whose primary rate limit is spent is refused
// with GitHub's 403 until its window resets, and chosen requests can be made
// to fail with a secondary rate limit or a server error (InjectFault, in
// faults.go).
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
	resources map[string]any         // path → JSON object for GET
	lists     map[string][]any       // path → items of a paginated list
	tokens    map[string]int64       // token → installation id
	remaining map[string]int         // rate-limit bucket → remaining
	resets    map[string]time.Time   // rate-limit bucket → end of its current window
	resetAt   time.Time              // end of the window of buckets with none of their own
	latency   time.Duration          // how long every request waits before it is answered
	faults    []*Fault               // injected failures not yet spent, first match wins (faults.go)
	manifests map[string]ManifestApp // code → app created by that code
	resolver  GraphQLResolver        // answers POST /graphql after validation
	nextID    int64                  // ids of comments and statuses the fake creates
	projects  *projectStore          // Projects (v2) boards and owners' installations (projects.go)

	// The request log has a lock of its own: a request is logged when its
	// status is written, which some handlers do holding mu.
	logMu    sync.Mutex
	requests []Request
}

// Request is one request the server answered: its method, URL path, raw
// query (without the "?") and the status it was answered with.
type Request struct {
	Method, Path string
	Query        string
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
		resets:    map[string]time.Time{},
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

// SetList makes GET path answer items, paginated (per_page, page) with
// Link headers. The answer honours these query parameters, applied before
// pagination (so rel="last" counts only what is kept):
//
//   - since (RFC 3339): keeps the items whose "updated_at" is at or after it;
//     items without a readable "updated_at" are kept. Any other since is a 422.
//   - state: "open" or "closed" keeps the items whose "state" is that (items
//     without a "state" are kept); "all" or no state keeps everything. Any
//     other state is a 422.
//   - direction: items are taken to be stored in the order GitHub answers
//     that list without a direction: newest first for a list whose path ends
//     in /pulls or /issues (as AddPullRequest keeps them), oldest first
//     (ascending creation) for any other list (comments, labels,
//     milestones...). The direction that is the stored one answers the
//     stored order, the other answers it reversed. Without direction, the
//     stored order is kept. Any other direction is a 422.
//
// sort is ignored. Items are JSON objects (map[string]any) for the filters
// to see their fields; other items are always kept.
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
	s.SetList(installationList(installationBucket(id), "/installation/repositories"), repos)
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
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ResetRequests forgets the requests answered so far, so that Requests and
// Count only see the ones that come after.
func (s *Server) ResetRequests() {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.requests = nil
}

// SetLatency makes every request, on any route, wait d before it is
// answered (0 answers at once). Requests wait concurrently, so n parallel
// requests take about d, not n×d. A request whose client gives up stops
// waiting.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
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
	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 {
		// Outside the lock, so that concurrent requests wait together.
		timer := time.NewTimer(latency)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
		}
	}
	// The request is logged as soon as its status is known, before the
	// client can read any of the answer, so that a client that has its
	// answer finds the request in Requests.
	rec := &statusRecorder{ResponseWriter: w, record: func(status int) {
		s.logMu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: status})
		s.logMu.Unlock()
	}}
	if !s.injectedFault(rec, r) {
		s.route(rec, r)
	}
	if rec.status == 0 {
		rec.WriteHeader(http.StatusOK) // what net/http sends for an empty answer
	}
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
		if !s.charge(w, bucket) {
			return
		}
		if !s.write(w, r) {
			writeError(w, http.StatusNotFound, "Not Found")
		}
	default:
		writeError(w, http.StatusNotFound, "Not Found")
	}
}

// get answers a GET from the resources or lists, with an ETag, honouring
// If-None-Match, and charging the rate limit of bucket unless it is a 304
// (an installation whose limit is spent gets GitHub's 403 instead).
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
	var link string
	switch {
	case isResource:
		body = obj
	case isList:
		query := r.URL.Query()
		view, err := selectItems(items, query, storedNewestFirst(r.URL.Path))
		if err != nil {
			if s.charge(w, bucket) {
				writeError(w, http.StatusUnprocessableEntity, "Validation Failed: "+err.Error())
			}
			return
		}
		perPage := atoiDefault(query.Get("per_page"), 30)
		if perPage > 100 {
			perPage = 100
		}
		page := atoiDefault(query.Get("page"), 1)
		n := view.len()
		last := (n + perPage - 1) / perPage
		if last == 0 {
			last = 1
		}
		start, end := min((page-1)*perPage, n), min(page*perPage, n)
		pageItems := view.slice(start, end)
		body = pageItems
		if strings.HasPrefix(r.URL.Path, "/installation/repositories") {
			body = map[string]any{"total_count": n, "repositories": pageItems}
		}
		link = linkHeader(s.URL, r.URL, page, last, perPage)
	default:
		if s.charge(w, bucket) {
			writeError(w, http.StatusNotFound, "Not Found")
		}
		return
	}

	data, _ := json.Marshal(body)
	sum := sha256.Sum256(append([]byte(r.Header.Get("Authorization")+"\n"), data...))
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	if match := r.Header.Get("If-None-Match"); match != "" && match == etag {
		s.rateHeaders(w, bucket, false)
		setCacheHeaders(w, etag, link)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if !s.charge(w, bucket) {
		return
	}
	setCacheHeaders(w, etag, link)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(data)
}

// setCacheHeaders writes the headers GitHub sends with a readable answer.
func setCacheHeaders(w http.ResponseWriter, etag, link string) {
	h := w.Header()
	if link != "" {
		h.Set("Link", link)
	}
	h.Set("ETag", etag)
	h.Set("Cache-Control", "private, max-age=60, s-maxage=60")
	h.Set("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
}

// listView is the items of a list in the order they are answered in,
// reversed without copying them.
type listView struct {
	items   []any
	reverse bool
}

func (v listView) len() int { return len(v.items) }

// slice is the items from start to end (end excluded) in answering order;
// it copies only when reversed.
func (v listView) slice(start, end int) []any {
	if !v.reverse {
		return v.items[start:end]
	}
	out := make([]any, 0, end-start)
	for i := start; i < end; i++ {
		out = append(out, v.items[len(v.items)-1-i])
	}
	return out
}

// selectItems applies a list's since, state and direction parameters (see
// SetList) to its items, stored newest first or oldest first. Without since
// or state, nothing is copied.
func selectItems(items []any, query url.Values, newestFirst bool) (listView, error) {
	var reverse bool
	switch direction := query.Get("direction"); direction {
	case "":
	case "asc", "desc":
		reverse = (direction == "desc") != newestFirst
	default:
		return listView{}, fmt.Errorf("direction %q is not asc or desc", direction)
	}
	state := query.Get("state")
	switch state {
	case "", "all":
		state = ""
	case "open", "closed":
	default:
		return listView{}, fmt.Errorf("state %q is not open, closed or all", state)
	}
	var since time.Time
	var sinceText string // since in GitHub's own format, to compare as text, or ""
	if text := query.Get("since"); text != "" {
		t, err := time.Parse(time.RFC3339, text)
		if err != nil {
			return listView{}, fmt.Errorf("since %q is not an ISO 8601 timestamp", text)
		}
		since = t.UTC()
		if since.Nanosecond() == 0 {
			sinceText = since.Format(githubTime)
		}
	}
	if state == "" && since.IsZero() {
		return listView{items: items, reverse: reverse}, nil
	}
	kept := make([]any, 0, len(items)/2)
	for i := range items {
		item := items[i]
		if reverse {
			item = items[len(items)-1-i]
		}
		if state != "" {
			if got, ok := field(item, "state"); ok && got != state {
				continue
			}
		}
		if !since.IsZero() {
			if updated, ok := field(item, "updated_at"); ok && updatedBefore(updated, since, sinceText) {
				continue
			}
		}
		kept = append(kept, item)
	}
	return listView{items: kept}, nil
}

// githubTime is how GitHub writes its timestamps: RFC 3339 in UTC, to the
// second. Two of them compare as text as they do as times.
const githubTime = "2006-01-02T15:04:05Z"

// updatedBefore reports whether the timestamp updated is before since
// (sinceText is since as githubTime, or "" to parse updated). An unreadable
// updated is not before anything.
func updatedBefore(updated string, since time.Time, sinceText string) bool {
	if sinceText != "" && len(updated) == len(githubTime) && updated[len(updated)-1] == 'Z' {
		return updated < sinceText
	}
	t, err := time.Parse(time.RFC3339, updated)
	return err == nil && t.Before(since)
}

// storedNewestFirst reports whether the list at path is kept newest first,
// GitHub's default order for pull requests and issues (sort=created,
// direction=desc); other lists are kept oldest first.
func storedNewestFirst(path string) bool {
	return strings.HasSuffix(path, "/pulls") || strings.HasSuffix(path, "/issues")
}

// field is the text of a list item's key, if the item is a JSON object
// that has it as text.
func field(item any, key string) (string, bool) {
	m, ok := item.(map[string]any)
	if !ok {
		return "", false
	}
	text, ok := m[key].(string)
	return text, ok
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
	id, known := s.tokenInstallation(r)
	if !known {
		writeError(w, http.StatusUnauthorized, "Bad credentials")
		return "", false
	}
	return installationBucket(id), true
}

// installationBucket is the rate-limit bucket of installation id's REST
// requests.
func installationBucket(id int64) string { return "installation:" + strconv.FormatInt(id, 10) }

// tokenInstallation is the installation whose token r carries ("token
// T" or "Bearer T"), and false for none the fake issued.
func (s *Server) tokenInstallation(r *http.Request) (int64, bool) {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "token ")
	if !ok {
		token, ok = strings.CutPrefix(auth, "Bearer ")
	}
	if !ok {
		return 0, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, known := s.tokens[token]
	return id, known
}

// rateHeaders writes the x-ratelimit-* headers of bucket, charging one
// request when charge is set. A spent bucket stays at 0 and the request is
// not refused (GraphQL, the app's own requests): see charge for REST.
func (s *Server) rateHeaders(w http.ResponseWriter, bucket string, charge bool) {
	remaining, reset, _ := s.spend(bucket, charge, false)
	setRateHeaders(w, remaining, reset)
}

// charge charges one request to bucket and writes its x-ratelimit-*
// headers. When bucket is an installation's and its limit is spent, it
// answers GitHub's 403 instead and reports false: the caller must not
// answer.
func (s *Server) charge(w http.ResponseWriter, bucket string) bool {
	id, isInstallation := strings.CutPrefix(bucket, "installation:")
	remaining, reset, ok := s.spend(bucket, true, isInstallation)
	setRateHeaders(w, remaining, reset)
	if !ok {
		writeJSON(w, http.StatusForbidden, map[string]string{
			"message":           "API rate limit exceeded for installation ID " + id + ".",
			"documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting",
		})
	}
	return ok
}

// spend charges bucket one request when charge is set, and returns what it
// has left and when its window resets. When refuse is set and the bucket is
// spent, it charges nothing and reports false.
func (s *Server) spend(bucket string, charge, refuse bool) (remaining int, reset time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	remaining, reset = s.windowLocked(bucket, time.Now(), true)
	if charge {
		if remaining == 0 && refuse {
			return 0, reset, false
		}
		if remaining > 0 {
			remaining--
		}
	}
	s.remaining[bucket] = remaining
	return remaining, reset, true
}

// windowLocked returns what bucket has left and when its window resets.
// A window whose reset has come refills the bucket, and the next window ends
// an hour later, as on GitHub; a bucket that is still full keeps the reset
// it was given (so SetRemaining(id, RateLimit, past) reports that past).
// With update unset, the refill is computed but not kept. s.mu is held.
func (s *Server) windowLocked(bucket string, now time.Time, update bool) (int, time.Time) {
	remaining, seen := s.remaining[bucket]
	if !seen {
		remaining = RateLimit
	}
	reset, own := s.resets[bucket]
	if !own {
		reset = s.resetAt
	}
	if remaining < RateLimit && !now.Before(reset) {
		remaining, reset = RateLimit, now.Add(time.Hour).Truncate(time.Second)
		if update {
			s.remaining[bucket], s.resets[bucket] = remaining, reset
		}
	}
	return remaining, reset
}

func setRateHeaders(w http.ResponseWriter, remaining int, reset time.Time) {
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(RateLimit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Used", strconv.Itoa(RateLimit-remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

// Remaining is the rate limit left for an installation (a full limit once
// its window has reset, even before its next request).
func (s *Server) Remaining(installationID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	remaining, _ := s.windowLocked(installationBucket(installationID), time.Now(), false)
	return remaining
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

// statusRecorder notes the status of an answer, and calls record with it
// before any of the answer is sent.
type statusRecorder struct {
	http.ResponseWriter
	status int
	record func(status int)
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
		r.record(code)
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
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
// left, and when the limit resets (to the second), as GitHub would report
// them. Each charged request counts remaining down; at 0 the installation's
// REST requests get GitHub's 403 "API rate limit exceeded" (304s are still
// answered) until reset, when the limit refills to RateLimit and the next
// window ends an hour later.
func (s *Server) SetRemaining(installationID int64, remaining int, reset time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bucket := installationBucket(installationID)
	s.remaining[bucket] = remaining
	s.resets[bucket] = reset.Truncate(time.Second)
}
