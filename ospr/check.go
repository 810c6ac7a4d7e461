package ospr

import (
	"context"
	"errors"
	"fmt"
)

// BoardChecker is implemented by a Projects that can say whether a board is
// usable as configured.
type BoardChecker interface {
	CheckBoard(ctx context.Context, board ProjectRef, fields ...string) error
}

// ConfigReport is what `osprey config check OWNER/REPO` prints: the
// effective settings with the source of each, the files they came from, and
// every problem found.
type ConfigReport struct {
	Repository string
	Layers     []string // the osprey.yml files that apply, organisation's first
	Settings   string   // Describe's listing; empty when a layer is broken
	Problems   []string
}

// CheckConfig works out the effective triage settings of owner/repo the way
// a reconcile does, and checks what a reconcile can only find out when it
// fails: the boards (installation on their owner, project, fields) and the
// repository's catalog-info.yaml. An error means GitHub could not be asked.
func (s *Service) CheckConfig(ctx context.Context, owner, repo string) (ConfigReport, error) {
	report := ConfigReport{Repository: owner + "/" + repo}
	gh, err := RESTForOwner(ctx, s.Clients, owner)
	if err != nil {
		return report, err
	}
	layers, err := gh.ConfigLayers(ctx, owner, repo)
	var layerErr *LayerError
	if errors.As(err, &layerErr) {
		report.Problems = append(report.Problems, err.Error())
		return report, nil
	}
	if err != nil {
		return report, err
	}
	for _, l := range layers {
		report.Layers = append(report.Layers, l.Name)
	}
	rules, sources, err := Effective(s.Reconciler.Defaults, serverLayer, layers...)
	if err != nil {
		report.Problems = append(report.Problems, err.Error())
		return report, nil
	}
	if report.Settings, err = Describe(rules, sources); err != nil {
		return report, err
	}
	boards := []ProjectRef{}
	if b := rules.Projects.ospr; b != nil {
		boards = append(boards, *b)
	}
	if b := rules.Projects.blended; b != nil {
		boards = append(boards, *b)
	}
	data, found, err := gh.File(ctx, owner, repo, catalogFile)
	if err != nil {
		return report, err
	}
	if found {
		catalog, err := ParseCatalog(data, rules.CatalogProjectsAnnotation)
		if err != nil {
			report.Problems = append(report.Problems, fmt.Sprintf("%s/%s:%s: %v (it is ignored)", owner, repo, catalogFile, err))
		} else {
			boards = append(boards, catalog.AddToProjects...)
		}
	}
	checker, ok := s.Reconciler.Projects.(BoardChecker)
	if !ok {
		return report, nil
	}
	for _, b := range boards {
		var fields []string
		if osp := rules.Projects.ospr; osp != nil && b == *osp {
			f := rules.Projects.Fields
			fields = []string{f.DateOpened, f.DateClosed, f.Owner}
		}
		if err := checker.CheckBoard(ctx, b, fields...); err != nil {
			for _, e := range flatten(err) {
				if !IsConfigProblem(e) {
					return report, e
				}
				report.Problems = append(report.Problems, e.Error())
			}
		}
	}
	return report, nil
}
