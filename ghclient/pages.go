package ghclient

import "github.com/google/go-github/v60/github"

// PerPage is the largest page GitHub's REST lists give.
const PerPage = 100

// EachPage reads a paginated list: list fetches page number page (0 for
// the first, which asks for no page at all, as go-github does), each takes
// its items and says whether to read on. It follows GitHub's
// Link header (go-github's NextPage) until the last page, or until each
// says stop.
func EachPage[T any](list func(page int) ([]T, *github.Response, error), each func(items []T) bool) error {
	for page := 0; ; {
		items, resp, err := list(page)
		if err != nil {
			return err
		}
		if !each(items) || resp == nil || resp.NextPage == 0 {
			return nil
		}
		page = resp.NextPage
	}
}
