package fakegithub

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The write endpoints of a repository's pull requests that the triage
// uses: labels, issue comments, commit statuses; and file contents. They
// keep their state in the same resources and lists the GETs answer from, so
// a write shows in the next read (with a new ETag), as on GitHub.

// AddPullRequest makes the pull request pr (a JSON object as GitHub returns
// it, with "number", "labels" and "head"."sha") readable at
// /repos/OWNER/REPO/pulls/N and first in /repos/OWNER/REPO/pulls, with an
// empty list of comments.
func (s *Server) AddPullRequest(owner, repo string, pr map[string]any) {
	n := fmt.Sprint(pr["number"])
	if _, ok := pr["labels"]; !ok {
		pr["labels"] = []any{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resources[fmt.Sprintf("/repos/%s/%s/pulls/%s", owner, repo, n)] = pr
	// The repository's list of pull requests, newest first (GitHub's
	// default order); a test's SetList afterwards replaces it.
	list := fmt.Sprintf("/repos/%s/%s/pulls", owner, repo)
	s.lists[list] = append([]any{pr}, s.lists[list]...)
	key := fmt.Sprintf("/repos/%s/%s/issues/%s/comments", owner, repo, n)
	if _, ok := s.lists[key]; !ok {
		s.lists[key] = []any{}
	}
}

// SetFile makes GET /repos/OWNER/REPO/contents/PATH answer content.
func (s *Server) SetFile(owner, repo, path string, content []byte) {
	s.SetResource(fmt.Sprintf("/repos/%s/%s/contents/%s", owner, repo, path), map[string]any{
		"type": "file", "name": path[strings.LastIndex(path, "/")+1:], "path": path, "size": len(content),
		"encoding": "base64", "content": base64.StdEncoding.EncodeToString(content),
		"sha": fmt.Sprintf("%x", len(content)),
	})
}

// Comment is an issue comment the fake holds.
type Comment struct {
	ID   int64
	User string
	Body string
}

// AddComment adds a comment by user to pull request number, as if posted
// before the test (by a person, or by a previous bot).
func (s *Server) AddComment(owner, repo string, number int, user, body string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addCommentLocked(fmt.Sprintf("/repos/%s/%s/issues/%d/comments", owner, repo, number), user, body)
}

func (s *Server) addCommentLocked(listPath, user, body string) int64 {
	s.nextID++
	id := 900000 + s.nextID
	now := time.Now().UTC().Format(time.RFC3339)
	s.lists[listPath] = append(s.lists[listPath], map[string]any{
		"id": id, "body": body, "user": map[string]any{"login": user, "type": userType(user)},
		"created_at": now, "updated_at": now,
	})
	return id
}

func userType(login string) string {
	if strings.HasSuffix(login, "[bot]") {
		return "Bot"
	}
	return "User"
}

// Comments returns the comments of pull request number, oldest first.
func (s *Server) Comments(owner, repo string, number int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, item := range s.lists[fmt.Sprintf("/repos/%s/%s/issues/%d/comments", owner, repo, number)] {
		c := item.(map[string]any)
		out = append(out, Comment{ID: c["id"].(int64), User: c["user"].(map[string]any)["login"].(string), Body: c["body"].(string)})
	}
	return out
}

// Labels returns the label names of pull request number.
func (s *Server) Labels(owner, repo string, number int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	pr, _ := s.resources[fmt.Sprintf("/repos/%s/%s/pulls/%d", owner, repo, number)].(map[string]any)
	var out []string
	for _, l := range labelsOf(pr) {
		out = append(out, l["name"].(string))
	}
	return out
}

// AddLabelByHand puts a label on a pull request, as a person would.
func (s *Server) AddLabelByHand(owner, repo string, number int, label string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pr, _ := s.resources[fmt.Sprintf("/repos/%s/%s/pulls/%d", owner, repo, number)].(map[string]any)
	if pr != nil && !hasLabel(pr, label) {
		pr["labels"] = append(pr["labels"].([]any), map[string]any{"name": label})
	}
}

// Statuses returns the commit statuses of sha, newest first.
func (s *Server) Statuses(owner, repo, sha string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, item := range s.lists[fmt.Sprintf("/repos/%s/%s/commits/%s/statuses", owner, repo, sha)] {
		out = append(out, item.(map[string]any))
	}
	return out
}

func labelsOf(pr map[string]any) []map[string]any {
	var out []map[string]any
	if pr == nil {
		return nil
	}
	list, _ := pr["labels"].([]any)
	for _, l := range list {
		if m, ok := l.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func hasLabel(pr map[string]any, name string) bool {
	for _, l := range labelsOf(pr) {
		if strings.EqualFold(l["name"].(string), name) {
			return true
		}
	}
	return false
}

// write answers the write endpoints; it reports whether it took the
// request.
func (s *Server) write(w http.ResponseWriter, r *http.Request) bool {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 4 || parts[0] != "repos" {
		return false
	}
	owner, repo, rest := parts[1], parts[2], parts[3:]
	switch {
	case r.Method == http.MethodPost && len(rest) == 3 && rest[0] == "issues" && rest[2] == "labels":
		s.addLabels(w, r, owner, repo, rest[1])
	case r.Method == http.MethodDelete && len(rest) == 4 && rest[0] == "issues" && rest[2] == "labels":
		name, _ := url.PathUnescape(rest[3])
		s.removeLabel(w, owner, repo, rest[1], name)
	case r.Method == http.MethodPost && len(rest) == 3 && rest[0] == "issues" && rest[2] == "comments":
		s.createComment(w, r, owner, repo, rest[1])
	case r.Method == http.MethodPatch && len(rest) == 3 && rest[0] == "issues" && rest[1] == "comments":
		s.editComment(w, r, owner, repo, rest[2])
	case r.Method == http.MethodPost && len(rest) == 2 && rest[0] == "statuses":
		s.createStatus(w, r, owner, repo, rest[1])
	default:
		return false
	}
	return true
}

// botLogin is the login the fake gives the app's writes.
const botLogin = "osprey-test[bot]"

// BotLogin is the login of the comments the app writes through the fake.
func (s *Server) BotLogin() string { return botLogin }

func decodeBody(w http.ResponseWriter, r *http.Request, into any) bool {
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || json.Unmarshal(data, into) != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) addLabels(w http.ResponseWriter, r *http.Request, owner, repo, number string) {
	var names []string
	if !decodeBody(w, r, &names) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pr, ok := s.resources[fmt.Sprintf("/repos/%s/%s/pulls/%s", owner, repo, number)].(map[string]any)
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	for _, name := range names {
		if !hasLabel(pr, name) {
			pr["labels"] = append(pr["labels"].([]any), map[string]any{"name": name})
		}
	}
	writeJSON(w, http.StatusOK, pr["labels"])
}

func (s *Server) removeLabel(w http.ResponseWriter, owner, repo, number, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pr, ok := s.resources[fmt.Sprintf("/repos/%s/%s/pulls/%s", owner, repo, number)].(map[string]any)
	if !ok || !hasLabel(pr, name) {
		writeError(w, http.StatusNotFound, "Label does not exist")
		return
	}
	var kept []any
	for _, l := range labelsOf(pr) {
		if !strings.EqualFold(l["name"].(string), name) {
			kept = append(kept, l)
		}
	}
	if kept == nil {
		kept = []any{}
	}
	pr["labels"] = kept
	writeJSON(w, http.StatusOK, kept)
}

func (s *Server) createComment(w http.ResponseWriter, r *http.Request, owner, repo, number string) {
	var body struct {
		Body string `json:"body"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	listPath := fmt.Sprintf("/repos/%s/%s/issues/%s/comments", owner, repo, number)
	if _, ok := s.lists[listPath]; !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	s.addCommentLocked(listPath, botLogin, body.Body)
	list := s.lists[listPath]
	writeJSON(w, http.StatusCreated, list[len(list)-1])
}

func (s *Server) editComment(w http.ResponseWriter, r *http.Request, owner, repo, idText string) {
	id, err := strconv.ParseInt(idText, 10, 64)
	var body struct {
		Body string `json:"body"`
	}
	if err != nil || !decodeBody(w, r, &body) {
		if err != nil {
			writeError(w, http.StatusNotFound, "Not Found")
		}
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	prefix := fmt.Sprintf("/repos/%s/%s/issues/", owner, repo)
	for path, items := range s.lists {
		if !strings.HasPrefix(path, prefix) || !strings.HasSuffix(path, "/comments") {
			continue
		}
		for _, item := range items {
			c := item.(map[string]any)
			if c["id"].(int64) != id {
				continue
			}
			if c["user"].(map[string]any)["login"] != botLogin {
				// Only the author may edit a comment.
				writeError(w, http.StatusForbidden, "Resource not accessible by integration")
				return
			}
			c["body"] = body.Body
			c["updated_at"] = time.Now().UTC().Format(time.RFC3339)
			writeJSON(w, http.StatusOK, c)
			return
		}
	}
	writeError(w, http.StatusNotFound, "Not Found")
}

func (s *Server) createStatus(w http.ResponseWriter, r *http.Request, owner, repo, sha string) {
	var status map[string]any
	if !decodeBody(w, r, &status) {
		return
	}
	switch status["state"] {
	case "error", "failure", "pending", "success":
	default:
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed")
		return
	}
	if d, _ := status["description"].(string); len(d) > 140 {
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed: description is too long (maximum is 140 characters)")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	status["id"] = s.nextID
	status["created_at"] = time.Now().UTC().Format(time.RFC3339)
	if _, ok := status["context"]; !ok {
		status["context"] = "default"
	}
	listPath := fmt.Sprintf("/repos/%s/%s/commits/%s/statuses", owner, repo, sha)
	s.lists[listPath] = append([]any{status}, s.lists[listPath]...)
	writeJSON(w, http.StatusCreated, status)
}

// DeleteComment removes comment id from pull request number, as a person
// deleting it on GitHub would.
func (s *Server) DeleteComment(owner, repo string, number int, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := fmt.Sprintf("/repos/%s/%s/issues/%d/comments", owner, repo, number)
	kept := []any{}
	for _, c := range s.lists[key] {
		if m, ok := c.(map[string]any); ok && fmt.Sprint(m["id"]) == fmt.Sprint(id) {
			continue
		}
		kept = append(kept, c)
	}
	s.lists[key] = kept
}
