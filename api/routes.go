package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cohort-cdp/cohort/engine"
	"github.com/cohort-cdp/cohort/models"
)

const (
	admin    = "admin"
	editor   = "editor"
	marketer = "marketer"
	support  = "support"
)

var everyone = []string{admin, editor, marketer, support}

func (s *server) routes(e *echo.Echo) {
	e.POST("/api/v1/login", s.postLogin)
	e.POST("/api/v1/logout", s.postLogout)
	e.GET("/metrics", s.serveMetrics)

	g := e.Group("/api/v1", s.authenticate)
	all := allow(everyone...)
	change := allow(admin, editor, marketer)
	g.GET("/me", s.getMe, all)
	g.GET("/catalog", s.getCatalog, all)
	g.GET("/segments", s.getSegments, all)
	g.POST("/segments/preview", s.postPreview, all)
	g.POST("/segments/overlap", s.postOverlap, all)
	g.POST("/segments", s.postSegment, change)
	g.GET("/segments/:name", s.getSegment, all)
	g.PUT("/segments/:name", s.putSegment, change)
	g.DELETE("/segments/:name", s.deleteSegment, change)
	g.GET("/segments/:name/history", s.getSegmentHistory, all)
	g.GET("/segments/:name/lift", s.getLift, all)
	g.GET("/syncs", s.getSyncs, all)
	g.POST("/syncs", s.postSync, allow(admin, editor))
	g.DELETE("/syncs/:name", s.deleteSync, allow(admin, editor))
	g.POST("/syncs/:name/run", s.postSyncRun(false), change)
	g.POST("/syncs/:name/dry-run", s.postSyncRun(true), change)
	g.GET("/syncs/:name/runs", s.getSyncRuns, all)
	g.GET("/syncs/:name/runs/:id/rejections", s.getRejections, all)
	g.POST("/syncs/:name/pause", s.postPause(true), allow(admin, editor))
	g.POST("/syncs/:name/resume", s.postPause(false), allow(admin, editor))
	g.GET("/profiles/lookup", s.getProfile, allow(admin, support))
	g.GET("/profiles/export", s.getProfileExport, allow(admin))
	g.POST("/profiles/forget", s.postForget, allow(admin))
	g.GET("/runs", s.getRuns, all)
	g.POST("/runs", s.postRun, allow(admin, editor))
	g.GET("/runs/:id", s.getRun, all)
	g.GET("/audit", s.getAudit, allow(admin))
}

// audit writes who did what to the audit log; the change is done, so a
// failure to record it is logged loudly rather than undoing it.
func (s *server) audit(c echo.Context, action, target, detail string) {
	t := who(c)
	e := engine.AuditEntry{Action: action, Target: target, Detail: detail}
	if t != nil {
		e.Actor, e.Role = t.Name, t.Role
	}
	if err := s.svc.Audit(context.WithoutCancel(c.Request().Context()), e); err != nil {
		s.log.Error("audit log: could not record", "action", action, "target", target, "actor", e.Actor, "err", err)
	}
}

type loginRequest struct {
	Token string `json:"token" form:"token"`
}

type meResponse struct {
	Name string `json:"name"`
	Role string `json:"role"`
	CSRF string `json:"csrf"`
}

func (s *server) postLogin(c echo.Context) error {
	if !s.login.allow(clientIP(c.Request())) {
		return fail(c, http.StatusTooManyRequests, "too many login attempts from this address: wait a minute")
	}
	var req loginRequest
	if err := c.Bind(&req); err != nil || strings.TrimSpace(req.Token) == "" {
		return fail(c, http.StatusBadRequest, "send {\"token\": \"...\"} (a token from cohort tokens create)")
	}
	tok, err := s.svc.Authenticate(c.Request().Context(), strings.TrimSpace(req.Token))
	if err != nil {
		s.log.Warn("login refused", "from", clientIP(c.Request()))
		return fail(c, http.StatusUnauthorized, "unknown or revoked token")
	}
	if !engine.ValidRole(tok.Role) {
		return fail(c, http.StatusForbidden, "token "+tok.Name+" has no valid role: ask an admin for a new one")
	}
	c.SetCookie(&http.Cookie{Name: SessionCookie, Value: strings.TrimSpace(req.Token), Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.o.SecureCookies || c.Request().TLS != nil})
	c.Set(whoKey, tok)
	s.audit(c, "login", tok.Name, "")
	return c.JSON(http.StatusOK, meResponse{Name: tok.Name, Role: tok.Role, CSRF: csrfFor(strings.TrimSpace(req.Token))})
}

func (s *server) postLogout(c echo.Context) error {
	c.SetCookie(&http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.o.SecureCookies || c.Request().TLS != nil})
	return c.JSON(http.StatusOK, map[string]string{"status": "logged out"})
}

func (s *server) getMe(c echo.Context) error {
	t := who(c)
	csrf, _ := c.Get("cohort.csrf").(string)
	return c.JSON(http.StatusOK, meResponse{Name: t.Name, Role: t.Role, CSRF: csrf})
}

func (s *server) getCatalog(c echo.Context) error {
	cat, err := s.svc.Catalog(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cat)
}

func (s *server) getSegments(c echo.Context) error {
	segs, err := s.svc.Segments(c.Request().Context())
	if err != nil {
		return err
	}
	if segs == nil {
		segs = []engine.SegmentInfo{}
	}
	for i := range segs {
		segs[i].Definition = nil // the list is light; GET /segments/{name} has it
	}
	return c.JSON(http.StatusOK, segs)
}

func (s *server) getSegment(c echo.Context) error {
	seg, err := s.svc.FindSegment(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, seg)
}

func body(c echo.Context) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(c.Request().Body, 1<<20))
	if err != nil {
		return nil, fail(c, http.StatusBadRequest, "could not read the request body")
	}
	return b, nil
}

// previewResponse is a preview with the agreed name of its change.
type previewResponse struct {
	*engine.PreviewResult
	ChangeSinceLastRun *int64 `json:"change_since_last_run"`
}

// postPreview previews a definition, or a saved segment sent as {"name": ...}.
func (s *server) postPreview(c echo.Context) error {
	ctx := c.Request().Context()
	b, err := body(c)
	if err != nil {
		return err
	}
	var probe map[string]json.RawMessage
	_ = json.Unmarshal(b, &probe)
	var seg = (*engine.Segment)(nil)
	if _, hasWhere := probe["where"]; probe != nil && !hasWhere && probe["name"] != nil {
		var name string
		_ = json.Unmarshal(probe["name"], &name)
		info, err := s.svc.FindSegment(ctx, name)
		if err != nil {
			return err
		}
		seg = info.Definition
		if yaml, err := s.svc.Segment(name); err == nil {
			seg = yaml // the project's own: preview compares with its last run
		}
	} else if seg, err = s.svc.ParseSegment(b); err != nil {
		return err
	}
	res, err := s.svc.Preview(ctx, seg, engine.PreviewOptions{Sample: intParam(c, "sample", 10, 100)})
	if err != nil {
		return err
	}
	return reply(c, http.StatusOK, previewResponse{PreviewResult: res, ChangeSinceLastRun: res.Change})
}

type overlapRequest struct {
	Segments []string `json:"segments"`
}

func (s *server) postOverlap(c echo.Context) error {
	var req overlapRequest
	if err := c.Bind(&req); err != nil || len(req.Segments) < 2 {
		return fail(c, http.StatusBadRequest, "send {\"segments\": [\"a\", \"b\"]}: two to five segment names")
	}
	res, err := s.svc.Overlap(c.Request().Context(), req.Segments)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

func (s *server) postSegment(c echo.Context) error { return s.saveSegment(c, true) }
func (s *server) putSegment(c echo.Context) error  { return s.saveSegment(c, false) }

func (s *server) saveSegment(c echo.Context, create bool) error {
	b, err := body(c)
	if err != nil {
		return err
	}
	if !create { // the path names it; a body without a name takes it
		var m map[string]any
		if json.Unmarshal(b, &m) == nil {
			if n, _ := m["name"].(string); n == "" {
				m["name"] = c.Param("name")
				b, _ = json.Marshal(m)
			} else if n != c.Param("name") {
				return fail(c, http.StatusBadRequest, "the body names segment "+n+" but the path "+c.Param("name")+": renaming is delete and create")
			}
		}
	}
	seg, err := s.svc.SaveSegment(c.Request().Context(), b, who(c).Name, create)
	if err != nil {
		return err
	}
	action := "segment.update"
	code := http.StatusOK
	if create {
		action, code = "segment.create", http.StatusCreated
	}
	s.audit(c, action, seg.Name, string(bytes.TrimSpace(b)))
	info, err := s.svc.FindSegment(c.Request().Context(), seg.Name)
	if err != nil {
		return err
	}
	return c.JSON(code, info)
}

func (s *server) deleteSegment(c echo.Context) error {
	if err := s.svc.DeleteSegment(c.Request().Context(), c.Param("name")); err != nil {
		return err
	}
	s.audit(c, "segment.delete", c.Param("name"), "")
	return c.NoContent(http.StatusNoContent)
}

func (s *server) getSegmentHistory(c echo.Context) error {
	h, err := s.svc.SegmentHistory(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h)
}

func (s *server) getSyncs(c echo.Context) error {
	syncs, err := s.svc.Syncs(c.Request().Context())
	if err != nil {
		return err
	}
	if syncs == nil {
		syncs = []engine.SyncStatus{}
	}
	return c.JSON(http.StatusOK, syncs)
}

// syncRunResponse is a sync's run (or dry run) with the agreed totals.
type syncRunResponse struct {
	*engine.SyncResult
	Added   int64 `json:"added"`
	Changed int64 `json:"changed"`
	Removed int64 `json:"removed"`
}

func (s *server) postSyncRun(dry bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		name := c.Param("name")
		// the run goes to its end even if the caller hangs up
		res, err := s.svc.Sync(context.WithoutCancel(c.Request().Context()), engine.SyncOptions{Names: []string{name}, DryRun: dry, Sample: 10})
		if len(res) == 0 {
			if err == nil {
				err = fail(c, http.StatusInternalServerError, "the sync returned nothing")
			}
			return err
		}
		action := "sync.run"
		if dry {
			action = "sync.dry_run"
		}
		r := res[0]
		s.audit(c, action, name, r.Run.ID+" "+r.Run.Status)
		out := syncRunResponse{SyncResult: r, Added: r.Planned.Adds, Changed: r.Planned.Changes, Removed: r.Planned.Removes}
		if !dry {
			out.Added, out.Changed, out.Removed = r.Run.Added, r.Run.Changed, r.Run.Removed
		}
		return reply(c, http.StatusOK, out) // a partial run is reported, with its status, not as a failure of the call
	}
}

func (s *server) getSyncRuns(c echo.Context) error {
	h, err := s.svc.SyncHistory(c.Request().Context(), c.Param("name"), intParam(c, "limit", 50, 1000), 0)
	if err != nil {
		return err
	}
	if h.Runs == nil {
		h.Runs = []engine.SyncRun{}
	}
	return c.JSON(http.StatusOK, h.Runs)
}

func (s *server) getRejections(c echo.Context) error {
	rs, err := s.svc.Rejections(c.Request().Context(), c.Param("name"), c.Param("id"), intParam(c, "limit", 100, 10000))
	if err != nil {
		return err
	}
	return reply(c, http.StatusOK, rs)
}

func (s *server) postPause(pause bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		name := c.Param("name")
		var err error
		action := "sync.pause"
		if pause {
			err = s.svc.PauseSync(c.Request().Context(), name, who(c).Name)
		} else {
			action = "sync.resume"
			err = s.svc.ResumeSync(c.Request().Context(), name)
		}
		if err != nil {
			return err
		}
		s.audit(c, action, name, "")
		return c.JSON(http.StatusOK, map[string]any{"name": name, "paused": pause})
	}
}

func (s *server) getProfile(c echo.Context) error {
	q := c.QueryParam("q")
	if q == "" && c.QueryParam("type") != "" {
		q = c.QueryParam("type") + ":" + c.QueryParam("value")
	}
	id, err := engine.ParseIdent(q)
	if err != nil {
		return fail(c, http.StatusBadRequest, "look up with ?q=TYPE:VALUE (e.g. email:jan@example.com) or ?type=&value=: "+err.Error())
	}
	p, err := s.svc.Profile(c.Request().Context(), id)
	// every look-up is a view of personal data, found or not
	s.audit(c, "profile.view", id.Type+":"+models.Mask(id.Value), "")
	if err != nil {
		return err
	}
	return reply(c, http.StatusOK, p)
}

// getProfileExport answers a subject access request: everything Cohort
// holds about a person, as a JSON file.
func (s *server) getProfileExport(c echo.Context) error {
	id, err := engine.ParseIdent(c.QueryParam("identifier"))
	if err != nil {
		return fail(c, http.StatusBadRequest, "name the person with ?identifier=TYPE:VALUE (e.g. email:jan@example.com): "+err.Error())
	}
	exp, err := s.svc.ExportProfile(c.Request().Context(), id)
	detail := "not found"
	if exp != nil {
		detail = "profile " + exp.ProfileID
		if exp.Suppressed {
			detail = "forgotten"
		}
	}
	s.audit(c, "profile.export", id.Type+":"+models.Mask(id.Value), detail)
	if err != nil {
		return err
	}
	name := "cohort-export-" + exp.ProfileID + ".json"
	if exp.Suppressed {
		name = "cohort-export-forgotten.json"
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, exp)
}

type forgetRequest struct {
	Identifier string `json:"identifier"`
}

// forgetResponse is the erasure's report; error says why it is not done
// yet (a destination that did not answer: the next forget, run or sync
// tries again).
type forgetResponse struct {
	*engine.ForgetReport
	Error string `json:"error,omitempty"`
}

// postForget is cohort forget for an admin: it waits for a run or sync in
// progress and goes to its end even if the caller hangs up.
func (s *server) postForget(c echo.Context) error {
	var req forgetRequest
	if err := c.Bind(&req); err != nil || strings.TrimSpace(req.Identifier) == "" {
		return fail(c, http.StatusBadRequest, `send {"identifier": "TYPE:VALUE"}, e.g. {"identifier": "email:jan@example.com"}`)
	}
	id, err := engine.ParseIdent(strings.TrimSpace(req.Identifier))
	if err != nil {
		return fail(c, http.StatusBadRequest, "identifier: "+err.Error())
	}
	rep, err := s.svc.Forget(context.WithoutCancel(c.Request().Context()), id, engine.ForgetOptions{})
	if rep == nil {
		return err
	}
	// the audit names the person masked, and the request by its hash
	s.audit(c, "profile.forget", rep.Identifier, "request "+rep.RequestID)
	out := forgetResponse{ForgetReport: rep}
	if err != nil {
		out.Error = err.Error()
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) getRuns(c echo.Context) error {
	runs, err := s.svc.Runs(c.Request().Context(), intParam(c, "limit", 50, 1000))
	if err != nil {
		return err
	}
	if runs == nil {
		runs = []engine.RunRecord{}
	}
	return c.JSON(http.StatusOK, runs)
}

func (s *server) getRun(c echo.Context) error {
	r, err := s.svc.RunRecord(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

// postRun runs the warehouse build and answers with its record; with
// ?wait=false it answers 202 as soon as the run is recorded as running
// (GET /runs/{id} then shows its steps as they go), or 409 when the
// project is busy.
func (s *server) postRun(c echo.Context) error {
	if c.QueryParam("wait") == "false" {
		return s.startRun(c)
	}
	res, err := s.svc.Run(context.WithoutCancel(c.Request().Context()), engine.RunOptions{})
	if err != nil {
		return err
	}
	s.audit(c, "run", res.RunID, "")
	r, err := s.svc.RunRecord(c.Request().Context(), res.RunID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (s *server) getAudit(c echo.Context) error {
	log, err := s.svc.AuditLog(c.Request().Context(), intParam(c, "limit", 200, 10000))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, log)
}

// getLift is a campaign's lift with its series for the chart. The segment
// must exist (404) and have a holdout (400); a metric or date that cannot
// be measured is a bad request too.
func (s *server) getLift(c echo.Context) error {
	ctx := c.Request().Context()
	name := c.Param("name")
	seg, err := s.svc.FindSegment(ctx, name)
	if err != nil {
		return err
	}
	if seg.Definition == nil || seg.Definition.Holdout <= 0 {
		return fail(c, http.StatusBadRequest, "segment "+name+" has no holdout, so there is nothing to compare its members with: give it a holdout (e.g. 10%), run, sync, and measure once the campaign has run")
	}
	o := engine.LiftOptions{Metric: c.QueryParam("metric"), Points: intParam(c, "points", 30, engine.MaxLiftPoints)}
	if o.Metric == "" {
		return fail(c, http.StatusBadRequest, "name a metric: ?metric=TRAIT (boolean or numeric) or ?metric=SOURCE[.EVENT]")
	}
	if v := c.QueryParam("since"); v != "" {
		t, err := time.ParseInLocation(time.DateOnly, v, s.svc.Project.Location())
		if err != nil {
			return fail(c, http.StatusBadRequest, "since="+v+": give a date as YYYY-MM-DD")
		}
		o.Since = &t
	}
	res, err := s.svc.Lift(ctx, name, o)
	var unknown *engine.UnknownError
	if errors.As(err, &unknown) {
		return fail(c, http.StatusBadRequest, unknown.Error())
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// postSync creates a sync from the UI: validated as a YAML sync is, kept in
// the state store, scheduled and run like the others.
func (s *server) postSync(c echo.Context) error {
	ctx := c.Request().Context()
	b, err := body(c)
	if err != nil {
		return err
	}
	sy, err := s.svc.SaveSync(ctx, b, who(c).Name)
	if err != nil {
		return err
	}
	s.audit(c, "sync.create", sy.Name, string(bytes.TrimSpace(b)))
	syncs, err := s.svc.Syncs(ctx)
	if err != nil {
		return err
	}
	for _, st := range syncs {
		if st.Name == sy.Name {
			return c.JSON(http.StatusCreated, st)
		}
	}
	return fail(c, http.StatusInternalServerError, "sync "+sy.Name+" was saved but is not listed")
}

func (s *server) deleteSync(c echo.Context) error {
	if err := s.svc.DeleteSync(c.Request().Context(), c.Param("name")); err != nil {
		return err
	}
	s.audit(c, "sync.delete", c.Param("name"), "")
	return c.NoContent(http.StatusNoContent)
}

func (s *server) startRun(c echo.Context) error {
	ctx := c.Request().Context()
	id := engine.NewRunID()
	failed := make(chan error, 1)
	go func() {
		_, err := s.svc.Run(context.WithoutCancel(ctx), engine.RunOptions{ID: id})
		if err != nil {
			s.log.Warn("run started from the API failed", "run_id", id, "err", err)
		}
		failed <- err
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-failed:
			if r, rerr := s.svc.RunRecord(ctx, id); rerr == nil { // ended already: as it ended
				s.audit(c, "run", id, "")
				return c.JSON(http.StatusAccepted, r)
			}
			if err == nil {
				err = fail(c, http.StatusInternalServerError, "the run ended without a record")
			}
			return err // busy (409), or it could not start
		case <-tick.C:
			if r, err := s.svc.RunRecord(ctx, id); err == nil {
				s.audit(c, "run", id, "")
				return c.JSON(http.StatusAccepted, r)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
