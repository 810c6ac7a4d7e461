package backfill

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/osprey-bot/osprey/ghclient"
	"github.com/osprey-bot/osprey/store"
)

// The kinds of scan. A repository scan reads the repository and spawns a
// scan of each list kind it was asked for; pull, issue and pull_files read
// one object.
const (
	KindRepository = "repository"
	KindPulls      = "pulls"
	KindIssues     = "issues"
	KindComments   = "comments"
	KindLabels     = "labels"
	KindMilestones = "milestones"
	KindFiles      = "files"
	KindPull       = "pull"
	KindIssue      = "issue"
	KindPullFiles  = "pull_files"
)

// ListKinds are the kinds a repository scan can spawn, in the order it
// spawns them (files last: they are read for the pull requests the replica
// holds, so they wait for the pulls scan).
var ListKinds = []string{KindPulls, KindIssues, KindComments, KindLabels, KindMilestones, KindFiles}

// DefaultKinds are what a repository scan reads when not told: everything
// but the files, which cost a request per pull request.
var DefaultKinds = []string{KindPulls, KindIssues, KindComments, KindLabels, KindMilestones}

// ParseKinds reads a comma-separated list of list kinds ("pulls,issues"),
// in ListKinds order without repeats; an unknown one is an error naming it.
func ParseKinds(s string) ([]string, error) {
	want := map[string]bool{}
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		if !slices.Contains(ListKinds, k) {
			return nil, fmt.Errorf("unknown kind %q (want some of %s)", k, strings.Join(ListKinds, ","))
		}
		want[k] = true
	}
	if len(want) == 0 {
		return nil, fmt.Errorf("no kind given (want some of %s)", strings.Join(ListKinds, ","))
	}
	var out []string
	for _, k := range ListKinds {
		if want[k] {
			out = append(out, k)
		}
	}
	return out, nil
}

// listPage reads one page of a list kind of scan s (page 0 for the first,
// as ghclient.EachPage numbers them), queues the replication of its
// objects in r, and returns their ids.
type listPage func(ctx context.Context, c *github.Client, s store.Scan, page int, r *store.Replicator) ([]int64, *github.Response, error)

// lists are the list kinds read page by page in parallel. Lists are read
// oldest first, so that objects created during a scan land on pages after
// the ones already read rather than pushing older ones past the last page.
var lists = map[string]listPage{
	KindPulls: func(ctx context.Context, c *github.Client, s store.Scan, page int, r *store.Replicator) ([]int64, *github.Response, error) {
		prs, resp, err := c.PullRequests.List(ctx, s.Owner, s.Repo, &github.PullRequestListOptions{
			State: "all", Sort: "created", Direction: "asc", ListOptions: listOptions(page)})
		ids := make([]int64, 0, len(prs))
		for _, pr := range prs {
			r.PullRequest(pr)
			ids = append(ids, pr.GetID())
		}
		return ids, resp, err
	},
	KindIssues: func(ctx context.Context, c *github.Client, s store.Scan, page int, r *store.Replicator) ([]int64, *github.Response, error) {
		opts := &github.IssueListByRepoOptions{State: "all", Sort: "created", Direction: "asc", ListOptions: listOptions(page)}
		if s.Since != nil {
			opts.Since = *s.Since
		}
		issues, resp, err := c.Issues.ListByRepo(ctx, s.Owner, s.Repo, opts)
		ids := make([]int64, 0, len(issues))
		for _, is := range issues {
			r.Issue(s.RepositoryID, is)
			ids = append(ids, is.GetID())
		}
		return ids, resp, err
	},
	KindComments: func(ctx context.Context, c *github.Client, s store.Scan, page int, r *store.Replicator) ([]int64, *github.Response, error) {
		opts := &github.IssueListCommentsOptions{Sort: github.String("created"), Direction: github.String("asc"), Since: s.Since, ListOptions: listOptions(page)}
		comments, resp, err := c.Issues.ListComments(ctx, s.Owner, s.Repo, 0, opts)
		ids := make([]int64, 0, len(comments))
		for _, cm := range comments {
			r.IssueComment(commentOn(s.RepositoryID, cm), cm)
			ids = append(ids, cm.GetID())
		}
		return ids, resp, err
	},
	KindLabels: func(ctx context.Context, c *github.Client, s store.Scan, page int, r *store.Replicator) ([]int64, *github.Response, error) {
		labels, resp, err := c.Issues.ListLabels(ctx, s.Owner, s.Repo, &github.ListOptions{PerPage: ghclient.PerPage, Page: page})
		ids := make([]int64, 0, len(labels))
		for _, l := range labels {
			r.Label(s.RepositoryID, l)
			ids = append(ids, l.GetID())
		}
		return ids, resp, err
	},
	KindMilestones: func(ctx context.Context, c *github.Client, s store.Scan, page int, r *store.Replicator) ([]int64, *github.Response, error) {
		milestones, resp, err := c.Issues.ListMilestones(ctx, s.Owner, s.Repo, &github.MilestoneListOptions{
			State: "all", Sort: "due_on", Direction: "asc", ListOptions: listOptions(page)})
		ids := make([]int64, 0, len(milestones))
		for _, m := range milestones {
			r.Milestone(s.RepositoryID, m)
			ids = append(ids, m.GetID())
		}
		return ids, resp, err
	},
}

func listOptions(page int) github.ListOptions {
	return github.ListOptions{PerPage: ghclient.PerPage, Page: page}
}

// commentOn names the issue or pull request a comment listed for the whole
// repository belongs to: the number ends its issue_url, and its html_url
// says /pull/ for a pull request's conversation.
func commentOn(repoID int64, c *github.IssueComment) store.IssueRef {
	ref := store.IssueRef{RepositoryID: repoID}
	u := c.GetIssueURL()
	if i := strings.LastIndex(u, "/"); i >= 0 {
		ref.Number, _ = strconv.Atoi(u[i+1:])
	}
	ref.IsPullRequest = strings.Contains(c.GetHTMLURL(), "/pull/")
	return ref
}

// pullsUpdatedSince reads the pull requests updated since s.Since, newest
// update first, page after page until one older: GitHub cannot filter pull
// requests by update time, so this list cannot be cut into pages up front.
func pullsUpdatedSince(ctx context.Context, c *github.Client, s store.Scan, r *store.Replicator) (ids []int64, pages int, err error) {
	err = ghclient.EachPage(func(page int) ([]*github.PullRequest, *github.Response, error) {
		pages++
		return c.PullRequests.List(ctx, s.Owner, s.Repo, &github.PullRequestListOptions{
			State: "all", Sort: "updated", Direction: "desc", ListOptions: listOptions(page)})
	}, func(prs []*github.PullRequest) bool {
		for _, pr := range prs {
			if pr.GetUpdatedAt().Time.Before(*s.Since) {
				return false
			}
			r.PullRequest(pr)
			ids = append(ids, pr.GetID())
		}
		return true
	})
	return ids, pages, err
}

// sinceOf is the start of what a scan asked for "since" covers, or nil.
func sinceOf(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
