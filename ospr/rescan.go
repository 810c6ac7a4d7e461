package ospr

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/ghclient"
)

// A rescan reconciles pull requests that no event pointed at: every open
// one of a repository or of all the repositories of an owner, or every one
// created in a window. It is the same reconcile the jobs run, only called
// in a loop, and a dry run of it shows what the triage would change.

// RescanRequest says which pull requests a rescan reconciles.
type RescanRequest struct {
	// Target is "OWNER/REPO", or "all:OWNER" for every repository of an
	// organisation or user that the app's installation there can see.
	Target string
	// AllPRs takes closed and merged pull requests too, not only open ones.
	AllPRs bool
	// Since keeps pull requests created at or after it; zero keeps all.
	Since time.Time
	// Until keeps pull requests created before it; zero keeps all. A
	// caller that means "through that day" passes the next midnight.
	Until time.Time
	// DryRun plans and reports, and writes nothing.
	DryRun bool
}

// RescanReport is what a rescan did, pull request by pull request. It is
// the JSON answer of POST /api/rescan and of `osprey rescan --json`.
type RescanReport struct {
	Target       string     `json:"target"`
	DryRun       bool       `json:"dry_run"`
	PullRequests []PRReport `json:"pull_requests"`
	// Errors are failures that cost a whole repository, such as listing
	// its pull requests.
	Errors []string `json:"errors"`
}

// PRReport is the outcome of one pull request's reconcile.
type PRReport struct {
	// PullRequest is "owner/repo#number".
	PullRequest string `json:"pull_request"`
	// Class is the pull request's class ("ospr", "internal", …), empty
	// when the reconcile stopped before deciding it.
	Class string `json:"class,omitempty"`
	// Actions are the changes planned; in a real run those not in Failed
	// were made.
	Actions []string `json:"actions"`
	// Failed are the planned actions that GitHub refused.
	Failed []string `json:"failed,omitempty"`
	// ConfigError says why the repository's osprey.yml could not be used.
	ConfigError string `json:"config_error,omitempty"`
	// Problems are configuration problems met on the way.
	Problems []string `json:"problems,omitempty"`
	// Error is why the reconcile failed, or that it never had its turn.
	Error string `json:"error,omitempty"`
}

// How hard a rescan tries a pull request whose lock another reconcile
// holds before reporting it busy.
const (
	busyTries = 10
	busyPause = time.Second
)

var (
	ownerPattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	repoPattern  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
)

// ParseRescanTarget reads "OWNER/REPO" (all false) or "all:OWNER" (all
// true, repo empty). Its errors say what is wrong with the target.
func ParseRescanTarget(s string) (owner, repo string, all bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", "", false, errors.New("no target: give OWNER/REPO or all:ORG")
	}
	if rest, ok := strings.CutPrefix(s, "all:"); ok {
		if owner, err = parseOwner(s, rest); err != nil {
			return "", "", false, err
		}
		return owner, "", true, nil
	}
	owner, repo, ok := strings.Cut(s, "/")
	if !ok {
		return "", "", false, fmt.Errorf("target %q: want OWNER/REPO or all:ORG", s)
	}
	if owner, err = parseOwner(s, owner); err != nil {
		return "", "", false, err
	}
	if strings.Contains(repo, "/") {
		return "", "", false, fmt.Errorf("target %q: want OWNER/REPO with a single slash", s)
	}
	if !repoPattern.MatchString(repo) || repo == "." || repo == ".." {
		return "", "", false, fmt.Errorf("target %q: %q is not a repository name (letters, digits, '.', '-' and '_')", s, repo)
	}
	return owner, repo, false, nil
}

// parseOwner checks the owner part of target.
func parseOwner(target, owner string) (string, error) {
	switch {
	case owner == "" && strings.HasPrefix(target, "all:"):
		return "", fmt.Errorf("target %q: name the organisation after all:", target)
	case owner == "":
		return "", fmt.Errorf("target %q: the owner before the slash is missing", target)
	case strings.Contains(owner, "/"):
		return "", fmt.Errorf("target %q: all: takes an organisation or user, not a repository", target)
	case !ownerPattern.MatchString(owner):
		return "", fmt.Errorf("target %q: %q is not a GitHub organisation or user name (letters, digits and '-')", target, owner)
	}
	return owner, nil
}

// ParseRescanDates reads a rescan's window. Each bound is a date
// (YYYY-MM-DD, UTC) or an RFC 3339 time; empty leaves that side open. A
// date as until means through the end of that day. The errors name the
// bound that is wrong.
func ParseRescanDates(since, until string) (from, to time.Time, err error) {
	if from, err = parseRescanDate("since", since, false); err != nil {
		return from, to, err
	}
	if to, err = parseRescanDate("until", until, true); err != nil {
		return from, to, err
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return from, to, fmt.Errorf("since %s is not before until %s: the window is empty", since, until)
	}
	return from, to, nil
}

// parseRescanDate reads one bound; a date as the end of the window is
// moved to the next midnight, since until keeps what is before it.
func parseRescanDate(name, s string, end bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if day, err := time.Parse(time.DateOnly, s); err == nil {
		if end {
			day = day.AddDate(0, 0, 1)
		}
		return day, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is neither a date (YYYY-MM-DD) nor an RFC 3339 time (2026-01-02T15:04:05Z)", name, s)
	}
	return t, nil
}

// Rescan reconciles the pull requests req names, one at a time, through
// the installation on the target's owner, and reports on each. A pull
// request that fails is reported and the others still run; so is a
// repository whose pull requests cannot be listed. The error is for what
// stops the whole rescan: a bad request, no installation, a list of
// repositories that cannot be read, or ctx ending.
func (s *Service) Rescan(ctx context.Context, req RescanRequest) (RescanReport, error) {
	report := RescanReport{Target: strings.TrimSpace(req.Target), DryRun: req.DryRun, PullRequests: []PRReport{}, Errors: []string{}}
	owner, repo, all, err := ParseRescanTarget(req.Target)
	if err != nil {
		return report, err
	}
	if !req.Since.IsZero() && !req.Until.IsZero() && !req.Since.Before(req.Until) {
		return report, fmt.Errorf("since %s is not before until %s: the window is empty", req.Since.Format(time.RFC3339), req.Until.Format(time.RFC3339))
	}
	installation, err := InstallationOn(ctx, s.Clients, owner)
	if err != nil {
		return report, err
	}
	client, err := s.Clients.NewInstallationClient(installation)
	if err != nil {
		return report, fmt.Errorf("creating the client of installation %d: %w", installation, err)
	}
	repos := []RepoName{{owner, repo}}
	if all {
		if repos, err = OwnerRepositories(ctx, client, owner); err != nil {
			return report, err
		}
	}
	for _, r := range repos {
		if err := s.rescanRepository(ctx, client, installation, r.Owner, r.Name, req, &report); err != nil {
			return report, err
		}
	}
	return report, nil
}

// RepoName is a repository's owner and name, spelt as GitHub does.
type RepoName struct{ Owner, Name string }

// OwnerRepositories lists the repositories of owner that the installation
// client sees and that are not archived (an archived repository takes no
// writes, and its pull requests no longer change).
func OwnerRepositories(ctx context.Context, client *github.Client, owner string) ([]RepoName, error) {
	repos, err := installationRepositories(ctx, client)
	if err != nil {
		return nil, err
	}
	var names []RepoName
	for _, r := range repos {
		if login := r.GetOwner().GetLogin(); strings.EqualFold(login, owner) {
			names = append(names, RepoName{login, r.GetName()})
		}
	}
	return names, nil
}

// installationRepositories lists every repository the installation client
// sees (GET /installation/repositories), leaving out archived ones.
func installationRepositories(ctx context.Context, client *github.Client) ([]*github.Repository, error) {
	var out []*github.Repository
	err := ghclient.EachPage(func(page int) ([]*github.Repository, *github.Response, error) {
		repos, resp, err := client.Apps.ListRepos(ctx, &github.ListOptions{PerPage: ghclient.PerPage, Page: page})
		if err != nil {
			return nil, resp, err
		}
		return repos.Repositories, resp, nil
	}, func(page []*github.Repository) bool {
		for _, r := range page {
			if !r.GetArchived() {
				out = append(out, r)
			}
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("listing the installation's repositories: %w", err)
	}
	return out, nil
}

// rescanRepository lists the pull requests of owner/repo that req keeps
// and reconciles each. A failed listing is reported, not returned; the
// error is ctx's, when it ends.
func (s *Service) rescanRepository(ctx context.Context, client *github.Client, installation int64, owner, repo string,
	req RescanRequest, report *RescanReport) error {
	state := "open"
	if req.AllPRs {
		state = "all"
	}
	numbers, err := pullRequestNumbers(ctx, client, owner, repo, state, req.Since, req.Until)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		zerolog.Ctx(ctx).Error().Err(err).Str("repository", owner+"/"+repo).Msg("Rescan: cannot list the pull requests; the other repositories still run")
		report.Errors = append(report.Errors, fmt.Sprintf("%s/%s: %v", owner, repo, err))
		return nil
	}
	for _, n := range numbers {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("rescan stopped before %s/%s#%d: %w", owner, repo, n, err)
		}
		report.PullRequests = append(report.PullRequests, s.rescanPullRequest(ctx, installation, owner, repo, n, req.DryRun))
	}
	return nil
}

// pullRequestNumbers lists the numbers of owner/repo's pull requests in
// state ("open" or "all") created in [since, until), newest first. GitHub
// sorts them by creation, so the pages stop at the first one older than
// since.
func pullRequestNumbers(ctx context.Context, client *github.Client, owner, repo, state string, since, until time.Time) ([]int, error) {
	var numbers []int
	err := ghclient.EachPage(func(page int) ([]*github.PullRequest, *github.Response, error) {
		return client.PullRequests.List(ctx, owner, repo, &github.PullRequestListOptions{State: state, Sort: "created", Direction: "desc",
			ListOptions: github.ListOptions{PerPage: ghclient.PerPage, Page: page}})
	}, func(page []*github.PullRequest) bool {
		for _, pr := range page {
			created := pr.GetCreatedAt().Time
			if !since.IsZero() && created.Before(since) {
				return false
			}
			if until.IsZero() || created.Before(until) {
				numbers = append(numbers, pr.GetNumber())
			}
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("listing the pull requests: %w", err)
	}
	return numbers, nil
}

// rescanPullRequest reconciles one pull request and reports the outcome.
func (s *Service) rescanPullRequest(ctx context.Context, installation int64, owner, repo string, number int, dryRun bool) PRReport {
	res, err := s.reconcileWhenFree(ctx, installation, owner, repo, number, dryRun)
	report := newPRReport(fmt.Sprintf("%s/%s#%d", owner, repo, number), res, err)
	logRescanned(ctx, report, dryRun)
	return report
}

// reconcileWhenFree reconciles, waiting a little for the turn of a pull
// request that another reconcile holds.
func (s *Service) reconcileWhenFree(ctx context.Context, installation int64, owner, repo string, number int, dryRun bool) (Result, error) {
	for try := 1; ; try++ {
		res, err := s.Reconcile(ctx, installation, owner, repo, number, dryRun)
		if !errors.Is(err, ErrBusy) {
			return res, err
		}
		if try == busyTries {
			return res, fmt.Errorf("busy: %w (tried %d times, %s apart)", err, busyTries, busyPause)
		}
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("busy, and stopped waiting: %w", ctx.Err())
		case <-time.After(busyPause):
		}
	}
}

// newPRReport turns a reconcile's result and error into its report.
func newPRReport(name string, res Result, err error) PRReport {
	r := PRReport{PullRequest: name, Actions: actionStrings(res.Actions), Failed: actionStrings(res.Failed),
		ConfigError: res.ConfigError, Problems: res.Problems}
	if r.Actions == nil {
		r.Actions = []string{}
	}
	// Class is only known when the reconcile got as far as planning; a
	// failed read leaves Result.Class at its zero value, which is a class
	// too, so it is not reported then.
	if res.ConfigError == "" && (err == nil || len(res.Actions) > 0) {
		r.Class = res.Class.String()
	}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

func actionStrings(actions []Action) []string {
	var out []string
	for _, a := range actions {
		out = append(out, a.String())
	}
	return out
}

// logRescanned logs one pull request's outcome.
func logRescanned(ctx context.Context, r PRReport, dryRun bool) {
	logger := zerolog.Ctx(ctx)
	ev, msg := logger.Info(), "Rescan: pull request reconciled"
	if r.Error != "" {
		ev, msg = logger.Warn().Str("error", r.Error), "Rescan: pull request not reconciled; the others still run"
	}
	ev = ev.Str("pull_request", r.PullRequest).Bool("dry_run", dryRun).Str("class", r.Class).
		Strs("actions", r.Actions).Strs("failed", r.Failed).Strs("problems", r.Problems)
	if r.ConfigError != "" {
		ev = ev.Str("config_error", r.ConfigError)
	}
	ev.Msg(msg)
}
