package jiramap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	jira "github.com/andygrunwald/go-jira"
)

// Client talks to one Jira server through go-jira, authenticated with the
// server's account email and API token (basic auth).
type Client struct {
	server Server
	jira   *jira.Client

	mu         sync.Mutex
	searchPath string // the search endpoint that answered last; "" until one has
}

// Jira's search endpoints. Jira Cloud removed /rest/api/2/search and
// /rest/api/3/search in 2025 (they answer 410 Gone) in favour of
// /rest/api/3/search/jql; Jira Data Center serves only /rest/api/2/search.
// go-jira v1.16's Issue.Search calls the removed one, so search goes
// through NewRequest and Do.
const (
	searchCloud      = "rest/api/3/search/jql"
	searchDataCenter = "rest/api/2/search"
)

// NewClient returns a client of server; base carries the requests (nil:
// http.DefaultTransport) and timeout bounds each one.
func NewClient(server Server, base http.RoundTripper, timeout time.Duration) (*Client, error) {
	auth := &jira.BasicAuthTransport{Username: server.Email, Password: server.token, Transport: base}
	httpClient := auth.Client()
	httpClient.Timeout = timeout
	j, err := jira.NewClient(httpClient, server.URL+"/")
	if err != nil {
		return nil, fmt.Errorf("jira:%s: %w", server.Nick, err)
	}
	return &Client{server: server, jira: j}, nil
}

// Server is the server the client talks to.
func (c *Client) Server() Server { return c.server }

// APIError is a Jira answer outside 2xx: its status, what Jira said, and,
// for a 429, how long Jira asked to wait.
type APIError struct {
	Status     int
	Messages   []string
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	if len(e.Messages) == 0 {
		return fmt.Sprintf("Jira answered %d", e.Status)
	}
	return fmt.Sprintf("Jira answered %d: %s", e.Status, strings.Join(e.Messages, "; "))
}

// IsAuth reports whether err says the credentials are wrong (401) or lack
// a permission (403): trying again changes nothing until an operator acts.
func IsAuth(err error) bool {
	var e *APIError
	return errors.As(err, &e) && (e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden)
}

// IsRejected reports whether Jira refused a request as wrong (400): for a
// create, a project, issue type or field the mapping names that the server
// does not take. Trying again sends the same request.
func IsRejected(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == http.StatusBadRequest
}

// RetryAfter is how long Jira asked to be left alone (429 Retry-After),
// and whether it asked.
func RetryAfter(err error) (time.Duration, bool) {
	var e *APIError
	if errors.As(err, &e) && e.Status == http.StatusTooManyRequests && e.RetryAfter > 0 {
		return e.RetryAfter, true
	}
	return 0, false
}

// do sends a request to path (relative to the server) and decodes a 2xx
// answer into out; anything else is an *APIError. Errors name the server
// and the path, never the credentials.
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	req, err := c.jira.NewRequestWithContext(ctx, method, path, body)
	if err != nil {
		return fmt.Errorf("jira:%s %s %s: %w", c.server.Nick, method, path, err)
	}
	resp, err := c.jira.Do(req, out)
	if resp != nil && resp.Body != nil && (resp.StatusCode < 200 || resp.StatusCode > 299) {
		defer resp.Body.Close()
		return fmt.Errorf("jira:%s %s %s: %w", c.server.Nick, method, path, apiError(resp.Response))
	}
	if err != nil {
		return fmt.Errorf("jira:%s %s %s: %w", c.server.Nick, method, path, withoutURL(err))
	}
	return nil
}

// withoutURL keeps a transport error's cause and drops the URL net/http
// quotes: the server is named already, and nothing else belongs in logs.
func withoutURL(err error) error {
	var u *url.Error
	if errors.As(err, &u) {
		return fmt.Errorf("%s: %w", strings.ToLower(u.Op), u.Err)
	}
	return err
}

func apiError(resp *http.Response) *APIError {
	e := &APIError{Status: resp.StatusCode}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body struct {
		ErrorMessages []string          `json:"errorMessages"`
		Errors        map[string]string `json:"errors"`
	}
	if json.Unmarshal(data, &body) == nil {
		e.Messages = append(e.Messages, body.ErrorMessages...)
		for field, msg := range body.Errors {
			e.Messages = append(e.Messages, field+": "+msg)
		}
	}
	if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}

// Myself proves the credentials: the account's display name.
func (c *Client) Myself(ctx context.Context) (string, error) {
	var me struct {
		DisplayName  string `json:"displayName"`
		EmailAddress string `json:"emailAddress"`
	}
	if err := c.do(ctx, http.MethodGet, "rest/api/2/myself", nil, &me); err != nil {
		return "", err
	}
	if me.DisplayName == "" {
		return me.EmailAddress, nil
	}
	return me.DisplayName, nil
}

// NewIssue is an issue to create.
type NewIssue struct {
	Target
	Summary, Description string
	Labels               []string
}

// maxSummary is the longest summary Jira takes.
const maxSummary = 255

// Create creates the issue and returns its key.
func (c *Client) Create(ctx context.Context, issue NewIssue) (string, error) {
	summary := issue.Summary
	if r := []rune(summary); len(r) > maxSummary {
		summary = string(r[:maxSummary-3]) + "..."
	}
	body := map[string]any{"fields": map[string]any{
		"project":     map[string]string{"key": issue.Project},
		"issuetype":   map[string]string{"name": issue.Type},
		"summary":     summary,
		"description": issue.Description,
		"labels":      issue.Labels,
	}}
	var created struct {
		Key string `json:"key"`
	}
	if err := c.do(ctx, http.MethodPost, "rest/api/2/issue", body, &created); err != nil {
		return "", err
	}
	if created.Key == "" {
		return "", fmt.Errorf("jira:%s created an issue but did not say its key", c.server.Nick)
	}
	return created.Key, nil
}

// FindByLabels returns the key of an issue in project ("" for any
// project the account sees) carrying every one of labels, and whether there
// is one. It asks Jira Cloud's search endpoint first and Jira Data
// Center's when that one is gone or missing, and remembers which answered.
func (c *Client) FindByLabels(ctx context.Context, project string, labels ...string) (string, bool, error) {
	var clauses []string
	if project != "" {
		clauses = append(clauses, "project = "+quote(project))
	}
	for _, l := range labels {
		clauses = append(clauses, "labels = "+quote(l))
	}
	jql := strings.Join(clauses, " AND ")
	c.mu.Lock()
	paths := []string{searchCloud, searchDataCenter}
	if c.searchPath == searchDataCenter {
		paths = []string{searchDataCenter}
	}
	c.mu.Unlock()
	var lastErr error
	for _, p := range paths {
		var found struct {
			Issues []struct {
				Key string `json:"key"`
			} `json:"issues"`
		}
		err := c.do(ctx, http.MethodPost, p, map[string]any{"jql": jql, "maxResults": 1, "fields": []string{"summary"}}, &found)
		var apiErr *APIError
		if errors.As(err, &apiErr) && (apiErr.Status == http.StatusGone || apiErr.Status == http.StatusNotFound) {
			lastErr = err
			continue // not this kind of Jira
		}
		if err != nil {
			return "", false, err
		}
		c.mu.Lock()
		c.searchPath = p
		c.mu.Unlock()
		if len(found.Issues) == 0 {
			return "", false, nil
		}
		return found.Issues[0].Key, true, nil
	}
	return "", false, lastErr
}

// quote writes s as a JQL string.
func quote(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}
