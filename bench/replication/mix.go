package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// delivery is one event of the mix, ready to post.
type delivery struct {
	event string
	body  []byte
}

// kind is one sort of delivery in the mix: the fixture it is made from, its
// event, its weight, and how to make an instance of it.
type kind struct {
	event, fixture string
	weight         int
	make           func(w *world, m map[string]any, i int)
}

var kinds = []kind{
	{"pull_request", "pull_request_opened.json", 10, (*world).pullRequest},
	{"pull_request", "pull_request_labeled.json", 10, (*world).pullRequest},
	{"pull_request", "pull_request_synchronize.json", 10, (*world).pullRequest},
	{"issues", "issues_opened.json", 5, (*world).issue},
	{"issues", "issues_edited.json", 5, (*world).issue},
	{"issues", "issues_labeled.json", 5, (*world).issue},
	{"issue_comment", "issue_comment_created_issue.json", 13, (*world).issueComment},
	{"issue_comment", "issue_comment_created_pr.json", 12, (*world).issueComment},
	{"pull_request_review", "pull_request_review_submitted.json", 10, (*world).review},
	{"pull_request_review_comment", "pull_request_review_comment_created.json", 10, (*world).reviewComment},
	{"label", "label_created.json", 5, (*world).label},
	{"label", "label_edited.json", 5, (*world).label},
}

// world is the synthetic organisation the mix happens in: repositories,
// users, and the pull requests and issues of each repository.
type world struct {
	rng          *rand.Rand
	repos, users int
	base         time.Time
	now          time.Time
	user         map[string]any // template of a simple user
	repo         map[string]any // template of a repository
}

// buildMix makes n deliveries from the fixtures in dir.
func buildMix(dir string, n, repos, users int) ([]delivery, error) {
	templates := make([][]byte, len(kinds))
	total := 0
	for i, k := range kinds {
		b, err := os.ReadFile(filepath.Join(dir, k.fixture))
		if err != nil {
			return nil, err
		}
		templates[i] = b
		total += k.weight
	}
	var opened map[string]any
	if err := json.Unmarshal(templates[0], &opened); err != nil {
		return nil, err
	}
	w := &world{rng: rand.New(rand.NewPCG(1, 2)), repos: repos, users: users,
		base: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		user: opened["sender"].(map[string]any), repo: opened["repository"].(map[string]any)}
	out := make([]delivery, 0, n)
	for i := 0; i < n; i++ {
		pick := w.rng.IntN(total)
		k := 0
		for ; pick >= kinds[k].weight; k++ {
			pick -= kinds[k].weight
		}
		var m map[string]any
		if err := json.Unmarshal(templates[k], &m); err != nil {
			return nil, fmt.Errorf("%s: %w", kinds[k].fixture, err)
		}
		w.now = w.base.Add(time.Duration(i) * time.Second)
		kinds[k].make(w, m, i)
		body, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		out = append(out, delivery{event: kinds[k].event, body: body})
	}
	return out, nil
}

func (w *world) stamp() string { return w.now.Format(time.RFC3339) }

// newUser is user u as a simple user object.
func (w *world) newUser(u int) map[string]any {
	m := clone(w.user)
	m["id"] = 200000 + u
	m["login"] = fmt.Sprintf("user-%d", u)
	m["node_id"] = fmt.Sprintf("U_%d", u)
	return m
}

func (w *world) randomUser() map[string]any { return w.newUser(w.rng.IntN(w.users)) }

// newRepo is repository r of the organisation.
func (w *world) newRepo(r int) map[string]any {
	m := clone(w.repo)
	m["id"] = 100000 + r
	m["name"] = fmt.Sprintf("repo-%d", r)
	m["full_name"] = fmt.Sprintf("acme/repo-%d", r)
	m["node_id"] = fmt.Sprintf("R_%d", r)
	return m
}

func (w *world) newLabel(r, k int) map[string]any {
	return map[string]any{"id": 1_000_000 + r*100 + k, "node_id": fmt.Sprintf("LA_%d_%d", r, k),
		"name": fmt.Sprintf("label-%d", k), "color": "ededed", "default": false, "description": nil,
		"url": fmt.Sprintf("https://api.github.com/repos/acme/repo-%d/labels/label-%d", r, k)}
}

func (w *world) someLabels(r int) []any {
	labels := []any{}
	for k := 0; k < w.rng.IntN(3); k++ {
		labels = append(labels, w.newLabel(r, w.rng.IntN(10)))
	}
	return labels
}

// target picks a repository and a pull request (or issue) number in it; the
// same few hundred numbers per repository recur, so updates hit existing rows.
func (w *world) target() (repo map[string]any, r, number int) {
	r = w.rng.IntN(w.repos)
	return w.newRepo(r), r, 1 + w.rng.IntN(300)
}

// shapePullRequest turns the pull request template pr into pull request
// number in repository r.
func (w *world) shapePullRequest(pr map[string]any, repo map[string]any, r, number int) {
	author := w.newUser((r*7919 + number) % w.users)
	pr["id"] = 10_000_000 + r*1000 + number
	pr["number"] = number
	pr["node_id"] = fmt.Sprintf("PR_%d_%d", r, number)
	pr["title"] = fmt.Sprintf("Change %d in repo %d", number, r)
	pr["user"] = author
	pr["updated_at"] = w.stamp()
	pr["labels"] = w.someLabels(r)
	pr["requested_reviewers"] = []any{w.randomUser()}
	pr["assignees"] = []any{}
	pr["assignee"] = nil
	pr["milestone"] = nil
	pr["merged_by"] = nil
	for _, side := range []string{"base", "head"} {
		if ref, ok := pr[side].(map[string]any); ok {
			ref["repo"] = repo
			ref["user"] = repo["owner"]
		}
	}
	if head, ok := pr["head"].(map[string]any); ok {
		head["ref"] = fmt.Sprintf("change-%d", number)
		head["sha"] = fmt.Sprintf("%040x", w.rng.Uint64())
	}
}

func (w *world) pullRequest(m map[string]any, _ int) {
	repo, r, number := w.target()
	m["repository"] = repo
	m["number"] = number
	m["sender"] = w.randomUser()
	w.shapePullRequest(m["pull_request"].(map[string]any), repo, r, number)
	if _, ok := m["label"]; ok {
		m["label"] = w.newLabel(r, w.rng.IntN(10))
	}
}

func (w *world) shapeIssue(is map[string]any, r, number int) {
	is["id"] = 20_000_000 + r*1000 + number
	is["number"] = number
	is["node_id"] = fmt.Sprintf("I_%d_%d", r, number)
	is["user"] = w.newUser((r*104729 + number) % w.users)
	is["title"] = fmt.Sprintf("Problem %d in repo %d", number, r)
	is["updated_at"] = w.stamp()
	is["labels"] = w.someLabels(r)
	is["milestone"] = nil
	is["assignee"] = nil
	is["assignees"] = []any{}
	is["closed_by"] = nil
}

func (w *world) issue(m map[string]any, _ int) {
	repo, r, number := w.target()
	m["repository"] = repo
	m["sender"] = w.randomUser()
	w.shapeIssue(m["issue"].(map[string]any), r, number+1000)
	if _, ok := m["label"]; ok {
		m["label"] = w.newLabel(r, w.rng.IntN(10))
	}
}

func (w *world) issueComment(m map[string]any, i int) {
	repo, r, number := w.target()
	m["repository"] = repo
	author := w.randomUser()
	m["sender"] = author
	is := m["issue"].(map[string]any)
	if _, onPR := is["pull_request"]; onPR {
		w.shapeIssue(is, r, number)
		is["id"] = 30_000_000 + r*1000 + number // the issue side of pull request number
	} else {
		w.shapeIssue(is, r, number+1000)
	}
	c := m["comment"].(map[string]any)
	c["id"] = 40_000_000 + i
	c["node_id"] = fmt.Sprintf("IC_%d", i)
	c["user"] = author
	c["created_at"], c["updated_at"] = w.stamp(), w.stamp()
}

func (w *world) review(m map[string]any, i int) {
	repo, r, number := w.target()
	m["repository"] = repo
	reviewer := w.randomUser()
	m["sender"] = reviewer
	w.shapePullRequest(m["pull_request"].(map[string]any), repo, r, number)
	rv := m["review"].(map[string]any)
	rv["id"] = 50_000_000 + i
	rv["node_id"] = fmt.Sprintf("PRR_%d", i)
	rv["user"] = reviewer
	rv["submitted_at"] = w.stamp()
	rv["state"] = []string{"approved", "commented", "changes_requested"}[w.rng.IntN(3)]
}

func (w *world) reviewComment(m map[string]any, i int) {
	repo, r, number := w.target()
	m["repository"] = repo
	author := w.randomUser()
	m["sender"] = author
	w.shapePullRequest(m["pull_request"].(map[string]any), repo, r, number)
	c := m["comment"].(map[string]any)
	c["id"] = 60_000_000 + i
	c["node_id"] = fmt.Sprintf("PRRC_%d", i)
	c["pull_request_review_id"] = 70_000_000 + i
	c["user"] = author
	c["created_at"], c["updated_at"] = w.stamp(), w.stamp()
}

func (w *world) label(m map[string]any, _ int) {
	r := w.rng.IntN(w.repos)
	m["repository"] = w.newRepo(r)
	m["sender"] = w.randomUser()
	l := w.newLabel(r, w.rng.IntN(10))
	l["description"] = fmt.Sprintf("Described at %s", w.stamp())
	m["label"] = l
}

// clone copies a JSON object deeply enough for the fields the mix rewrites.
func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if inner, ok := v.(map[string]any); ok {
			v = clone(inner)
		}
		out[k] = v
	}
	return out
}
