package ospr

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/jiramap"
)

// The Jira comment kinds: their markers, as the previous bot wrote them
// where it had them, and the line naming the nickname a comment is about.
const (
	JiraIssueComment     CommentKind = "jira-issue"
	NoJiraServerComment  CommentKind = "no-jira-server"
	NoJiraMappingComment CommentKind = "no-jira-mapping"
)

// The Jira actions.
const (
	// CreateJiraIssue makes sure the pull request has its issue for the
	// nickname (at most one, ever) and comments its link.
	CreateJiraIssue ActionKind = "jira-issue"
	// CommentNoJira writes the comment saying why no issue can be made.
	CommentNoJira ActionKind = "jira-comment"
)

var jiraNickLine = regexp.MustCompile(`(?m)^<!-- jira:([^ >]+) -->[ \t]*\r?$`)

// jiraMarkers is the pair of lines that mark a Jira comment about nick. The
// nickname is escaped, so that whatever a label holds (a space, a ">")
// reads back as the same nickname.
func jiraMarkers(kind CommentKind, nick string) string {
	return Marker(string(kind)) + "\n<!-- jira:" + url.PathEscape(strings.ToLower(nick)) + " -->\n"
}

// JiraComments are the Jira comments of osprey (or its predecessor) on a
// pull request: by lower-cased nickname, the kinds present.
type JiraComments map[string]map[CommentKind]bool

// ReadJiraComments finds the Jira comments among bot comment bodies.
func ReadJiraComments(bodies []string) JiraComments {
	out := JiraComments{}
	for _, body := range bodies {
		nicks := jiraNickLine.FindAllStringSubmatch(body, -1)
		if len(nicks) == 0 {
			continue
		}
		for _, m := range markerLine.FindAllStringSubmatch(body, -1) {
			kind := CommentKind(m[1])
			if kind != JiraIssueComment && kind != NoJiraServerComment && kind != NoJiraMappingComment {
				continue
			}
			for _, n := range nicks {
				nick, err := url.PathUnescape(n[1])
				if err != nil {
					nick = n[1]
				}
				nick = strings.ToLower(nick)
				if out[nick] == nil {
					out[nick] = map[CommentKind]bool{}
				}
				out[nick][kind] = true
			}
		}
	}
	return out
}

// PlanJira lists the Jira actions a pull request needs. It is pure: labels
// are the pull request's, config the Jira configuration, allowed the
// nicknames the repository's settings allow (nil: all), have the Jira
// comments already there. For each jira:<nick> label: nothing once its
// link comment is there; otherwise the issue and its comment, or, when the
// nickname names no server (or one the repository does not allow) or the
// repository has no mapping, one comment saying so. While that comment is
// there, nothing is tried again; once someone deletes it, the next
// reconcile tries again.
func PlanJira(repo string, labels []string, config *JiraConfig, allowed []string, have JiraComments) []Action {
	var nicks []string
	for _, l := range labels {
		if nick, ok := jiramap.NickOf(l); ok && !containsFold(nicks, nick) {
			nicks = append(nicks, nick)
		}
	}
	sort.Strings(nicks)
	var actions []Action
	for _, nick := range nicks {
		if have[nick][JiraIssueComment] || have[nick][NoJiraServerComment] || have[nick][NoJiraMappingComment] {
			continue // done; or told why not, until someone deletes that comment
		}
		_, target, err := config.Resolve(nick, repo)
		if allowed != nil && !containsFold(allowed, nick) {
			err = ErrNoJiraServer
		}
		if !config.Loaded {
			err = errors.New("the Jira servers file is not loaded")
		}
		switch {
		case errors.Is(err, ErrNoJiraServer):
			if !have[nick][NoJiraServerComment] {
				actions = append(actions, Action{Kind: CommentNoJira, Nick: nick, Comment: NoJiraServerComment})
			}
		case errors.Is(err, ErrNoJiraMapping):
			if !have[nick][NoJiraMappingComment] {
				actions = append(actions, Action{Kind: CommentNoJira, Nick: nick, Comment: NoJiraMappingComment})
			}
		case err != nil:
			// The configuration is not loaded: nothing can be said yet.
			actions = append(actions, Action{Kind: CreateJiraIssue, Nick: nick, Err: err.Error()})
		default:
			actions = append(actions, Action{Kind: CreateJiraIssue, Nick: nick, JiraTarget: target})
		}
	}
	return actions
}

// JiraIssueBody is the description of the issue made for pr.
func JiraIssueBody(pr PR, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Pull request: https://github.com/%s/%s/pull/%d\nAuthor: %s (https://github.com/%s)\n",
		pr.Owner, pr.Repo, pr.Number, pr.Author, pr.Author)
	if strings.TrimSpace(body) != "" {
		b.WriteString("\n{quote}\n" + strings.TrimSpace(body) + "\n{quote}\n")
	}
	return b.String()
}

// jiraComment is the pull request comment of a Jira action.
func jiraComment(kind CommentKind, nick string, srv jiramap.Server, key string) string {
	var text string
	switch kind {
	case JiraIssueComment:
		text = fmt.Sprintf("Jira issue [%s](%s) is tracking this pull request in %s.", key, srv.Browse(key), srv.Description)
	case NoJiraServerComment:
		text = fmt.Sprintf("The label `jira:%s` names no Jira server osprey knows for this repository, so no issue was made. "+
			"Check the label's spelling; once the server is configured, delete this comment and osprey will try again.", nick)
	case NoJiraMappingComment:
		text = fmt.Sprintf("%s has no project set for this repository, so no issue was made for the label `jira:%s`.", srv.Description, nick)
		if srv.Contact != "" {
			text += fmt.Sprintf(" Contact %s to have it mapped;", srv.Contact)
		} else {
			text += " Once it is mapped,"
		}
		text += " delete this comment and osprey will try again."
	}
	return jiraMarkers(kind, nick) + text + "\n"
}

// ErrJiraNotLoaded says the Jira configuration a label needs is not loaded
// (yet): the reconcile waits for it rather than spend its attempts.
var ErrJiraNotLoaded = errors.New("the Jira configuration is not loaded")

// JiraStep is the Jira part of a reconcile: the configuration and a client
// for each server.
type JiraStep struct {
	Config  func() *JiraConfig
	DB      *pgxpool.Pool
	Timeout time.Duration
	// Healthy, when set, is told after each call whether a server took
	// osprey's credentials (false after a 401 or 403): the metric
	// operators alert on.
	Healthy func(nick string, ok bool)

	mu      sync.Mutex
	clients map[string]*jiramap.Client // by server URL and email
}

func (j *JiraStep) client(srv jiramap.Server) (*jiramap.Client, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	key := srv.URL + " " + srv.Email
	if c, ok := j.clients[key]; ok && c.Server().Token() == srv.Token() {
		return c, nil
	}
	c, err := jiramap.NewClient(srv, nil, j.Timeout)
	if err != nil {
		return nil, err
	}
	if j.clients == nil {
		j.clients = map[string]*jiramap.Client{}
	}
	j.clients[key] = c
	return c, nil
}

// apply carries out one Jira action: the issue (EnsureJiraIssue) and its
// comment, or a comment saying why not.
func (j *JiraStep) apply(ctx context.Context, gh GitHub, pr PR, body string, a Action) (IssueComment, error) {
	if a.Err != "" {
		return IssueComment{}, fmt.Errorf("%w: %s", ErrJiraNotLoaded, a.Err)
	}
	srv, known := j.Config().Servers.Lookup(a.Nick)
	if a.Kind == CommentNoJira {
		return gh.CreateComment(ctx, pr.Owner, pr.Repo, pr.Number, jiraComment(a.Comment, a.Nick, srv, ""))
	}
	if !known { // the servers file changed since the plan
		return IssueComment{}, fmt.Errorf("%w: jira:%s is gone from the servers file", ErrJiraNotLoaded, a.Nick)
	}
	client, err := j.client(srv)
	if err != nil {
		return IssueComment{}, err
	}
	key, server, _, err := EnsureJiraIssue(ctx, j.DB, client, pr, strings.ToLower(a.Nick), a.JiraTarget, pr.Title, JiraIssueBody(pr, body))
	if j.Healthy != nil && (err == nil || jiramap.IsAuth(err)) {
		j.Healthy(srv.Nick, err == nil)
	}
	if jiramap.IsAuth(err) {
		zerolog.Ctx(ctx).Error().Err(err).Str("jira", srv.String()).
			Msg("Jira refuses osprey's credentials or permissions: fix the servers file; not retried until the next event")
	}
	if err != nil {
		return IssueComment{}, err
	}
	srv.URL = server // where the issue is, should the nickname have moved since
	return gh.CreateComment(ctx, pr.Owner, pr.Repo, pr.Number, jiraComment(JiraIssueComment, a.Nick, srv, key))
}
