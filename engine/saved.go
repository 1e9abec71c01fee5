package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/cohort-cdp/cohort/engine/state"
	"github.com/cohort-cdp/cohort/models"
)

// project is the project as runs, syncs, the scheduler and the API use
// it: the YAML definitions, then the segments and syncs saved from the UI
// that are still valid against them. One that is not (the YAML changed
// under it, or now defines the same name) is left out and logged; Syncs
// lists such a sync with the reason.
func (s *Service) project(ctx context.Context) (*models.Project, error) {
	p, _, _, err := s.merged(ctx)
	return p, err
}

// merged is project, the saved syncs left out with the reason, and the
// saved syncs as the store lists them (deleted ones included), so that
// callers needing them too do not read them again.
func (s *Service) merged(ctx context.Context) (*models.Project, map[string]error, []state.SavedSync, error) {
	store, err := s.store(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	segs, err := store.SavedSegments(ctx, s.Project.Name)
	if err != nil {
		return nil, nil, nil, err
	}
	syncs, err := store.SavedSyncs(ctx, s.Project.Name)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(segs) == 0 && len(syncs) == 0 {
		return s.Project, nil, nil, nil
	}
	p := *s.Project
	p.Segments = slices.Clone(s.Project.Segments)
	p.Syncs = slices.Clone(s.Project.Syncs)
	log := s.logger()

	// segments: those that validate join, until none more does (one may
	// name another saved one)
	var pending []*models.Segment
	for _, sv := range segs {
		seg, err := models.ParseSegment(sv.Definition)
		switch {
		case err != nil:
			log.Warn("a segment saved from the UI is no longer valid: left out", "segment", sv.Name, "error", err)
		case s.Project.Segment(seg.Name) != nil:
			log.Warn("a segment saved from the UI has the name of a YAML one: the YAML one is used", "segment", sv.Name)
		default:
			pending = append(pending, seg)
		}
	}
	for added := true; added && len(pending) > 0; {
		added = false
		for i := 0; i < len(pending); i++ {
			if models.ValidateSegment(&p, pending[i]) == nil {
				p.Segments = append(p.Segments, pending[i])
				pending = slices.Delete(pending, i, i+1)
				i--
				added = true
			}
		}
	}
	for _, seg := range pending {
		log.Warn("a segment saved from the UI is no longer valid: left out", "segment", seg.Name, "error", models.ValidateSegment(&p, seg))
	}

	invalid := map[string]error{}
	for _, sv := range syncs {
		if sv.DeletedAt != nil {
			continue
		}
		sy, err := models.ParseSync(sv.Definition)
		if err == nil && hasSync(s.Project, sv.Name) {
			err = fmt.Errorf("the project's YAML defines a sync %q too: the YAML one is used", sv.Name)
		}
		if err == nil {
			err = models.ValidateSync(&p, sy)
		}
		if err != nil {
			invalid[sv.Name] = err
			log.Warn("a sync saved from the UI is not valid: left out", "sync", sv.Name, "error", err)
			continue
		}
		p.Syncs = append(p.Syncs, sy)
	}
	return &p, invalid, syncs, nil
}

// SaveSync validates a sync definition (JSON or YAML, the keys of a YAML
// sync) with the rules and messages of validate, and saves it in the state
// store. Its name must be free; its segment may be one saved from the UI.
func (s *Service) SaveSync(ctx context.Context, def []byte, by string) (*models.Sync, error) {
	sy, err := models.ParseSync(def)
	if err != nil {
		return nil, err
	}
	p, invalid, _, err := s.merged(ctx)
	if err != nil {
		return nil, err
	}
	if hasSync(s.Project, sy.Name) {
		return nil, &ConflictError{fmt.Sprintf("sync %q is defined in the project's YAML: choose another name", sy.Name)}
	}
	if _, bad := invalid[sy.Name]; hasSync(p, sy.Name) || bad {
		return nil, &ConflictError{fmt.Sprintf("a sync named %q exists: choose another name, or delete it first", sy.Name)}
	}
	if err := models.ValidateSync(p, sy); err != nil {
		return nil, err
	}
	store, err := s.store(ctx)
	if err != nil {
		return nil, err
	}
	return sy, store.SaveSync(ctx, s.Project.Name, state.SavedSync{Name: sy.Name, Definition: bytes.TrimSpace(def), UpdatedBy: by, UpdatedAt: s.now()})
}

// DeleteSync deletes a sync created from the UI: it is no longer listed,
// scheduled or run. What it sent stays at the destination, and its
// snapshot, run history and definition stay: a forget still asks that
// destination to erase the person, and a sync created again under the same
// name continues from them.
func (s *Service) DeleteSync(ctx context.Context, name string) error {
	if hasSync(s.Project, name) {
		return &ConflictError{fmt.Sprintf("sync %q is defined in the project's YAML and is read-only here", name)}
	}
	store, err := s.store(ctx)
	if err != nil {
		return err
	}
	if err := store.DeleteSync(ctx, s.Project.Name, name); errors.Is(err, state.ErrNoSync) {
		return &UnknownError{fmt.Errorf("unknown sync %q", name)}
	} else if err != nil {
		return err
	}
	return nil
}

// liveSyncs is who last saved each UI sync not deleted, and when, by name.
func liveSyncs(list []state.SavedSync) map[string]state.SavedSync {
	out := map[string]state.SavedSync{}
	for _, sv := range list {
		if sv.DeletedAt == nil {
			out[sv.Name] = sv
		}
	}
	return out
}

// everySync is project with the syncs deleted from the UI whose definition
// still reads: what a forget asks to erase and an export shows, since
// their destinations may still hold the people they sent.
func (s *Service) everySync(ctx context.Context) (*models.Project, error) {
	p, _, list, err := s.merged(ctx)
	if err != nil {
		return nil, err
	}
	var gone []*models.Sync
	for _, sv := range list {
		if sv.DeletedAt == nil || hasSync(p, sv.Name) {
			continue
		}
		sy, err := models.ParseSync(sv.Definition)
		if err != nil || p.Destination(sy.Destination) == nil {
			s.logger().Warn("a sync deleted from the UI no longer reads: a forget cannot reach its destination", "sync", sv.Name, "error", err)
			continue
		}
		gone = append(gone, sy)
	}
	if len(gone) == 0 {
		return p, nil
	}
	all := *p
	all.Syncs = append(slices.Clone(p.Syncs), gone...)
	return &all, nil
}
