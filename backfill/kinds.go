package backfill

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
// objects in r, and returns their ids. It calls answered once GitHub's
// answer is read, before decoding it: the caller's slot for requests in
// flight is free from then on.
type listPage func(ctx context.Context, c *github.Client, s store.Scan, page int, answered func(), r *store.Replicator) ([]int64, *github.Response, error)

// lists are the list kinds read page by page in parallel. Lists are read
// oldest first, so that objects created during a scan land on pages after
// the ones already read rather than pushing older ones past the last page.
var lists = map[string]listPage{
	KindPulls: func(ctx context.Context, c *github.Client, s store.Scan, page int, answered func(), r *store.Replicator) ([]int64, *github.Response, error) {
		return readPage(ctx, c, s, "pulls", url.Values{"state": {"all"}, "sort": {"created"}, "direction": {"asc"}}, page, answered,
			func(pr *github.PullRequest) int64 { r.PullRequest(pr); return pr.GetID() })
	},
	KindIssues: func(ctx context.Context, c *github.Client, s store.Scan, page int, answered func(), r *store.Replicator) ([]int64, *github.Response, error) {
		return readPage(ctx, c, s, "issues", withSince(url.Values{"state": {"all"}, "sort": {"created"}, "direction": {"asc"}}, s.Since), page, answered,
			func(is *github.Issue) int64 { r.Issue(s.RepositoryID, is); return is.GetID() })
	},
	KindComments: func(ctx context.Context, c *github.Client, s store.Scan, page int, answered func(), r *store.Replicator) ([]int64, *github.Response, error) {
		return readPage(ctx, c, s, "issues/comments", withSince(url.Values{"sort": {"created"}, "direction": {"asc"}}, s.Since), page, answered,
			func(cm *github.IssueComment) int64 {
				r.IssueComment(commentOn(s.RepositoryID, cm), cm)
				return cm.GetID()
			})
	},
	KindLabels: func(ctx context.Context, c *github.Client, s store.Scan, page int, answered func(), r *store.Replicator) ([]int64, *github.Response, error) {
		return readPage(ctx, c, s, "labels", url.Values{}, page, answered,
			func(l *github.Label) int64 { r.Label(s.RepositoryID, l); return l.GetID() })
	},
	KindMilestones: func(ctx context.Context, c *github.Client, s store.Scan, page int, answered func(), r *store.Replicator) ([]int64, *github.Response, error) {
		return readPage(ctx, c, s, "milestones", url.Values{"state": {"all"}, "sort": {"due_on"}, "direction": {"asc"}}, page, answered,
			func(m *github.Milestone) int64 { r.Milestone(s.RepositoryID, m); return m.GetID() })
	},
}

// withSince adds since to a list's query, when set.
func withSince(q url.Values, since *time.Time) url.Values {
	if since != nil {
		q.Set("since", since.UTC().Format(time.RFC3339))
	}
	return q
}

// readPage GETs one page of the list /repos/OWNER/REPO/LIST of scan s with
// query q, calls answered once the answer's body is read, then decodes
// the page and hands each object to each, which replicates it and says its
// id. It goes through go-github's BareDo, so errors, rate limits and the
// Link header are go-github's as for its own list methods.
func readPage[T any](ctx context.Context, c *github.Client, s store.Scan, list string, q url.Values, page int, answered func(),
	each func(T) int64) ([]int64, *github.Response, error) {
	path := fmt.Sprintf("repos/%s/%s/%s", url.PathEscape(s.Owner), url.PathEscape(s.Repo), list)
	q.Set("per_page", strconv.Itoa(ghclient.PerPage))
	if page > 0 {
		q.Set("page", strconv.Itoa(page))
	}
	body, resp, err := func() ([]byte, *github.Response, error) {
		defer answered()
		req, err := c.NewRequest(http.MethodGet, path+"?"+q.Encode(), nil)
		if err != nil {
			return nil, nil, err
		}
		resp, err := c.BareDo(ctx, req)
		if err != nil {
			return nil, resp, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, resp, fmt.Errorf("reading GET %s: %w", path, err)
		}
		return body, resp, nil
	}()
	if err != nil {
		return nil, resp, err
	}
	var items []T
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, resp, fmt.Errorf("decoding GET %s: %w", path, err)
	}
	ids := make([]int64, 0, len(items))
	for _, item := range items {
		ids = append(ids, each(item))
	}
	return ids, resp, nil
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
