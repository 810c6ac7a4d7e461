package ospr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/appconfig"

	"github.com/osprey-bot/osprey/ghclient"
)

// GitHub is what a reconcile reads and writes on GitHub, for one
// installation. RESTGitHub implements it; everything is idempotent.
type GitHub interface {
	// PullRequest reads the pull request (labels included).
	PullRequest(ctx context.Context, owner, repo string, number int) (PR, error)
	// IssueComments lists the pull request's conversation comments.
	IssueComments(ctx context.Context, owner, repo string, number int) ([]IssueComment, error)
	// Status is the newest status of context on ref, or nil.
	Status(ctx context.Context, owner, repo, ref, context string) (*StatusWant, error)
	// File reads a file of the default branch; found is false when it
	// does not exist.
	File(ctx context.Context, owner, repo, path string) (data []byte, found bool, err error)
	// ConfigLayers reads the organisation's osprey.yml (in its .github
	// repository) and the repository's .github/osprey.yml, in that order,
	// leaving out those that do not exist. An error means GitHub could not
	// be read (try again later); what the files say is judged by Effective.
	ConfigLayers(ctx context.Context, owner, repo string) ([]Layer, error)
	// UserName is the full name of the account login ("" when it has none).
	UserName(ctx context.Context, login string) (string, error)

	SetStatus(ctx context.Context, owner, repo, ref string, s StatusWant) error
	AddLabel(ctx context.Context, owner, repo string, number int, label string) error
	RemoveLabel(ctx context.Context, owner, repo string, number int, label string) error
	// CreateComment writes a conversation comment and returns it as
	// GitHub stored it.
	CreateComment(ctx context.Context, owner, repo string, number int, body string) (IssueComment, error)
	EditComment(ctx context.Context, owner, repo string, id int64, body string) error
}

// IssueComment is a conversation comment as the reconcile reads it.
type IssueComment struct {
	ID        int64
	Author    string
	Body      string
	CreatedAt time.Time
}

// RESTGitHub is GitHub through go-github's REST client (the installation's,
// so reads go through the ETag cache).
type RESTGitHub struct {
	Client *github.Client
}

var _ GitHub = RESTGitHub{}

// PullRequest implements GitHub.
func (g RESTGitHub) PullRequest(ctx context.Context, owner, repo string, number int) (PR, error) {
	pr, _, err := g.Client.PullRequests.Get(ctx, owner, repo, number)
	if err != nil {
		return PR{}, fmt.Errorf("reading pull request %s/%s#%d: %w", owner, repo, number, err)
	}
	return FromGitHub(pr), nil
}

// FromGitHub is the triage's view of a go-github pull request.
func FromGitHub(pr *github.PullRequest) PR {
	base := pr.GetBase().GetRepo()
	out := PR{
		Owner: base.GetOwner().GetLogin(), Repo: base.GetName(), RepoID: base.GetID(), Number: pr.GetNumber(),
		ID: pr.GetID(), NodeID: pr.GetNodeID(), Title: pr.GetTitle(), Body: pr.GetBody(), Author: pr.GetUser().GetLogin(), AuthorType: pr.GetUser().GetType(),
		AuthorAssociation: pr.GetAuthorAssociation(), Draft: pr.GetDraft(), Private: base.GetPrivate(),
		State: pr.GetState(), Merged: pr.GetMerged() || pr.MergedAt != nil, HeadSHA: pr.GetHead().GetSHA(),
		CreatedAt: pr.GetCreatedAt().Time, ClosedAt: pr.GetClosedAt().Time, MergedAt: pr.GetMergedAt().Time,
	}
	for _, l := range pr.Labels {
		out.Labels = append(out.Labels, l.GetName())
	}
	return out
}

// IssueComments implements GitHub, reading every page.
func (g RESTGitHub) IssueComments(ctx context.Context, owner, repo string, number int) ([]IssueComment, error) {
	var out []IssueComment
	err := ghclient.EachPage(func(page int) ([]*github.IssueComment, *github.Response, error) {
		return g.Client.Issues.ListComments(ctx, owner, repo, number,
			&github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: ghclient.PerPage, Page: page}})
	}, func(page []*github.IssueComment) bool {
		for _, c := range page {
			out = append(out, IssueComment{ID: c.GetID(), Author: c.GetUser().GetLogin(), Body: c.GetBody()})
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("listing the comments of %s/%s#%d: %w", owner, repo, number, err)
	}
	return out, nil
}

// Status implements GitHub: statuses come newest first.
func (g RESTGitHub) Status(ctx context.Context, owner, repo, ref, context string) (*StatusWant, error) {
	var found *StatusWant
	err := ghclient.EachPage(func(page int) ([]*github.RepoStatus, *github.Response, error) {
		return g.Client.Repositories.ListStatuses(ctx, owner, repo, ref, &github.ListOptions{PerPage: ghclient.PerPage, Page: page})
	}, func(page []*github.RepoStatus) bool {
		for _, s := range page {
			if s.GetContext() == context {
				found = &StatusWant{Context: context, State: s.GetState(), Description: s.GetDescription(), TargetURL: s.GetTargetURL()}
				return false
			}
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("reading the statuses of %s/%s@%s: %w", owner, repo, ref, err)
	}
	return found, nil
}

// File implements GitHub.
func (g RESTGitHub) File(ctx context.Context, owner, repo, path string) ([]byte, bool, error) {
	file, _, resp, err := g.Client.Repositories.GetContents(ctx, owner, repo, path, nil)
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading %s/%s:%s: %w", owner, repo, path, err)
	}
	if file == nil {
		return nil, false, fmt.Errorf("reading %s/%s:%s: it is a directory", owner, repo, path)
	}
	content, err := file.GetContent()
	if err != nil {
		return nil, false, fmt.Errorf("decoding %s/%s:%s: %w", owner, repo, path, err)
	}
	return []byte(content), true, nil
}

// The places osprey.yml is read from: the repository's file, and the
// organisation's default in its .github repository (the convention GitHub
// Apps share). Remote references ("remote: owner/repo") are followed.
var (
	repoConfigLoader = appconfig.NewLoader([]string{".github/osprey.yml"}, appconfig.WithOwnerDefault("", nil))
	orgConfigLoader  = appconfig.NewLoader([]string{"osprey.yml"}, appconfig.WithOwnerDefault("", nil))
)

// ConfigLayers implements GitHub with go-githubapp's appconfig loader.
func (g RESTGitHub) ConfigLayers(ctx context.Context, owner, repo string) ([]Layer, error) {
	var layers []Layer
	for _, at := range []struct {
		loader *appconfig.Loader
		repo   string
	}{{orgConfigLoader, ".github"}, {repoConfigLoader, repo}} {
		c, err := at.loader.LoadConfig(ctx, g.Client, owner, at.repo, "")
		if err != nil && !leadsNowhere(err) {
			return nil, fmt.Errorf("reading %s in %s: %w", c.Path, c.Source, err)
		}
		if err != nil {
			// The file is there but leads nowhere (a remote reference to
			// a file that does not exist, say): the repository's to fix.
			return nil, &LayerError{Layer: strings.TrimSuffix(c.Source, "@") + ":" + c.Path, Err: err}
		}
		if c.IsUndefined() {
			continue
		}
		name := strings.TrimSuffix(c.Source, "@") + ":" + c.Path
		layers = append(layers, Layer{Name: name, YAML: c.Content})
	}
	return layers, nil
}

// leadsNowhere reports whether appconfig failed because the repository's
// file says something impossible (a remote reference to a file or
// repository that does not exist, or an empty one): the repository's to
// fix. Anything else (the network, GitHub's errors, rate limits, a cut-off
// answer, a permission the app lacks) is tried again later rather than
// pinned on the repository.
func leadsNowhere(err error) bool {
	return strings.Contains(err.Error(), "invalid remote reference") || strings.Contains(err.Error(), "invalid remote value")
}

// UserName implements GitHub.
func (g RESTGitHub) UserName(ctx context.Context, login string) (string, error) {
	u, _, err := g.Client.Users.Get(ctx, login)
	if err != nil {
		return "", fmt.Errorf("reading user %s: %w", login, err)
	}
	return u.GetName(), nil
}

// SetStatus implements GitHub.
func (g RESTGitHub) SetStatus(ctx context.Context, owner, repo, ref string, s StatusWant) error {
	status := &github.RepoStatus{State: &s.State, Description: &s.Description, Context: &s.Context}
	if s.TargetURL != "" {
		status.TargetURL = &s.TargetURL
	}
	_, _, err := g.Client.Repositories.CreateStatus(ctx, owner, repo, ref, status)
	return err
}

// AddLabel implements GitHub: one label, never the whole set.
func (g RESTGitHub) AddLabel(ctx context.Context, owner, repo string, number int, label string) error {
	_, _, err := g.Client.Issues.AddLabelsToIssue(ctx, owner, repo, number, []string{label})
	return err
}

// RemoveLabel implements GitHub; a label already gone is not an error.
func (g RESTGitHub) RemoveLabel(ctx context.Context, owner, repo string, number int, label string) error {
	resp, err := g.Client.Issues.RemoveLabelForIssue(ctx, owner, repo, number, label)
	var ghErr *github.ErrorResponse
	if resp != nil && resp.StatusCode == http.StatusNotFound && errors.As(err, &ghErr) &&
		strings.Contains(ghErr.Message, "Label does not exist") {
		return nil
	}
	return err
}

// CreateComment implements GitHub.
func (g RESTGitHub) CreateComment(ctx context.Context, owner, repo string, number int, body string) (IssueComment, error) {
	c, _, err := g.Client.Issues.CreateComment(ctx, owner, repo, number, &github.IssueComment{Body: &body})
	if err != nil {
		return IssueComment{}, err
	}
	return IssueComment{ID: c.GetID(), Author: c.GetUser().GetLogin(), Body: c.GetBody(), CreatedAt: c.GetCreatedAt().Time}, nil
}

// EditComment implements GitHub.
func (g RESTGitHub) EditComment(ctx context.Context, owner, repo string, id int64, body string) error {
	_, _, err := g.Client.Issues.EditComment(ctx, owner, repo, id, &github.IssueComment{Body: &body})
	return err
}
