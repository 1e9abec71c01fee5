package ui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/api"
	"github.com/cohort-cdp/cohort/engine"
	"github.com/cohort-cdp/cohort/engine/destinations/webhook"
	"github.com/cohort-cdp/cohort/engine/destinations/webhook/fake"
	"github.com/cohort-cdp/cohort/models"
)

// shots is where the tests leave a screenshot of every page, for people to
// look at (gitignored).
const shots = "testdata/screenshots"

// site is the real API server with the embedded UI over a small demo
// project (embedded DuckDB, SQLite state), and a token per role.
type site struct {
	url    string
	svc    *engine.Service
	tokens map[string]string
	crm    *fake.Fake // the crm_webhook destination: a faithful receiver that can refuse people
}

func newSite(t *testing.T) *site {
	t.Helper()
	ctx := context.Background()
	crm := fake.New(t)
	t.Setenv("CRM_WEBHOOK_URL", crm.URL())
	t.Setenv("CRM_WEBHOOK_SECRET", fake.Secret)
	dir := t.TempDir()
	require.NoError(t, engine.WriteDemoProject(dir, false))
	p, err := models.LoadAndValidate(dir)
	require.NoError(t, err)
	// a campaign to measure: the crm sync sends high_churn_risk, 30% held out
	p.Segment("high_churn_risk").Holdout = 30
	svc := engine.NewService(p, engine.ServiceOptions{})
	t.Cleanup(func() { svc.Close() })
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	svc.Clock = func() time.Time { return now }
	_, err = svc.GenerateDemo(ctx, engine.DemoOptions{Profiles: 300, Seed: 7, Now: now})
	require.NoError(t, err)
	_, err = svc.Run(ctx, engine.RunOptions{})
	require.NoError(t, err)
	s := &site{svc: svc, tokens: map[string]string{}, crm: crm}
	for _, r := range engine.Roles {
		s.tokens[r], _, err = svc.CreateToken(ctx, "Sam "+r, r)
		require.NoError(t, err)
	}
	srv := httptest.NewServer(api.New(api.Options{Service: svc, UI: api.WebUI()}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// call is one API request with a role's token, decoded into out.
func (s *site) call(t *testing.T, role, method, path string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+"/api/v1"+path, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.tokens[role])
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	require.Less(t, res.StatusCode, 300, "%s %s: %s", method, path, b)
	require.NoError(t, json.Unmarshal(b, out), "%s", b)
}

// browser starts headless Chromium, or skips when it is not installed and
// CI is not set (in CI the browser tests must run).
func browser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") == "" {
			t.Skip("browser tests skipped: chromium is not installed (apt-get install -y chromium); in CI (CI set) they run")
		}
		t.Fatal("CI is set but chromium is not installed: .ci/run installs it (apt-get install -y chromium)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// the first run starts the browser, without the timeout (see chromedp.Run)
	require.NoError(t, chromedp.Do(ctx), "start %s", path)
	// a script error nothing caught, or anything the page's
	// Content-Security-Policy refused, fails the test
	var mu sync.Mutex
	var bad []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				mu.Lock()
				bad = append(bad, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, b := range bad {
			t.Errorf("the page's console: %s", b)
		}
	})
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelTimeout)
	return ctx
}

// choose picks an option of a <select> the way a click does: it sets the
// value and fires change.
func choose(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		js := fmt.Sprintf(`(() => { const el = document.querySelector(%q); if (!el || ![...el.options].some(o => o.value === %q)) return false;
			el.value = %q; el.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`, sel, value, value)
		ok, err := chromedp.Evaluate[bool](js)(ctx, tg)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("no option %q in %s", value, sel)
		}
		return nil
	})
}

// waitText waits until the element's text is want.
func waitText(sel, want string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](fmt.Sprintf(`(() => { const el = document.querySelector(%q); return !!el && el.textContent.trim() === %q; })()`, sel, want))
}

// waitContains waits until the element's text contains want.
func waitContains(sel, want string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](fmt.Sprintf(`(() => { const el = document.querySelector(%q); return !!el && el.textContent.includes(%q); })()`, sel, want))
}

func screenshot(t *testing.T, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		png, err := chromedp.FullScreenshot(100)(ctx, tg)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(shots, 0o755); err != nil {
			return err
		}
		t.Logf("screenshot %s", filepath.Join(shots, name+".png"))
		return os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644)
	})
}

func login(s *site, role string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(s.url+"/#/segments"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), s.tokens[role]),
		chromedp.Click(chromedp.CSS("#login-submit")),
		waitText("#who .role", role),
	)
}

func logout() chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Click(chromedp.CSS("#logout")),
		chromedp.WaitVisible(chromedp.CSS("#token")),
	)
}

type preview struct {
	Count int64 `json:"count"`
}

func fmtCount(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// do runs the actions; when one fails it leaves a screenshot and the
// page's text in the test's log, to see where the page was.
func do(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	err := chromedp.Do(ctx, actions...)
	if err == nil {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = chromedp.Do(cctx, screenshot(t, "failed-"+strings.ReplaceAll(t.Name(), "/", "-")))
	if text, terr := chromedp.Run(cctx, chromedp.Evaluate[string](`document.body.innerText`)); terr == nil {
		t.Logf("the page said:\n%s", text)
	}
	require.NoError(t, err)
}

// labelled fails when a form control on the page has no name a screen
// reader can say (a <label>, aria-label or aria-labelledby).
func labelled(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	missing, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("input, select, textarea, button")]
		.filter((el) => el.type !== "hidden" && !(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby") && !(el.tagName === "BUTTON" && el.textContent.trim()))
		.map((el) => el.outerHTML.slice(0, 120))`))
	require.NoError(t, err)
	require.Empty(t, missing, "%s: form controls without a label", page)
}

// jsonOf is v as compact JSON, for comparing definitions.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// A marketer signs in, builds a nested segment by clicking and sees the
// count follow each change (the same count the API gives for that
// definition), compares it with another segment before and after saving
// it, sees a project segment read-only with its groups, and dry-runs a
// sync; personal data stays masked for them throughout.
func TestBrowser(t *testing.T) {
	ctx := browser(t)
	s := newSite(t)

	count := func(where map[string]any) string {
		var p preview
		s.call(t, "admin", "POST", "/segments/preview", map[string]any{"name": "x", "where": where}, &p)
		require.Positive(t, p.Count, "the demo must have people for %v", where)
		return fmtCount(p.Count)
	}
	ltv := func(n int) map[string]any { return map[string]any{"trait": "lifetime_value", "gte": n} }
	country := func(c string) map[string]any { return map[string]any{"trait": "country", "eq": c} }
	atLeast100 := count(map[string]any{"all": []any{ltv(100)}})
	atLeast1000 := count(map[string]any{"all": []any{ltv(1000)}})
	notNL := count(map[string]any{"all": []any{ltv(1000), map[string]any{"not": map[string]any{"any": []any{country("NL")}}}}})
	notNLBE := count(map[string]any{"all": []any{ltv(1000), map[string]any{"not": map[string]any{"any": []any{country("NL"), country("BE")}}}}})
	require.NotEqual(t, atLeast100, atLeast1000, "pick thresholds that change the count")
	require.NotEqual(t, atLeast1000, notNL, "leaving out NL must change the count")
	require.NotEqual(t, notNL, notNLBE, "leaving out BE too must change the count")

	// the login page, then the role shown
	do(t, ctx,
		chromedp.Navigate(s.url+"/"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.WaitNotVisible(chromedp.CSS("#top")),
		screenshot(t, "1-login"),
		chromedp.SendKeys(chromedp.CSS("#token"), "not-a-token"),
		chromedp.Click(chromedp.CSS("#login-submit")),
		waitContains("#login-result", "not valid"),
		chromedp.Clear(chromedp.CSS("#token")),
	)
	do(t, ctx, login(s, "marketer"))
	profileNavHidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('#top nav a[data-page="profiles"]').hidden`))
	require.NoError(t, err)
	require.True(t, profileNavHidden, "a marketer is not offered the customer lookup")

	// build a nested segment by clicking: lifetime value at least 1000, and
	// leave out a group "any of: country NL, country BE"; the count follows
	// every change
	cond := func(path, what string) string { return fmt.Sprintf(`#conditions .cond[data-path=%q] %s`, path, what) }
	do(t, ctx,
		chromedp.Click(chromedp.CSS("#new-segment")),
		chromedp.WaitVisible(chromedp.CSS(cond("0", "select.trait"))),
		choose(cond("0", "select.trait"), "lifetime_value"),
		chromedp.WaitVisible(chromedp.CSS(cond("0", "select.op"))),
		chromedp.Focus(chromedp.CSS(cond("0", "select.op"))),
		choose(cond("0", "select.op"), "gt"),
		// the builder redraws on a choice; the focus stays on the control
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.activeElement === document.querySelector(%q)`, cond("0", "select.op"))),
		choose(cond("0", "select.op"), "gte"),
		chromedp.SendKeys(chromedp.CSS(cond("0", "input.value")), "100"),
		waitText("#preview:not(.busy) #count", atLeast100),
		chromedp.SendKeys(chromedp.CSS(cond("0", "input.value")), "0"), // 1000
		waitText("#preview:not(.busy) #count", atLeast1000),
		chromedp.Click(chromedp.CSS("#add-group")),
		chromedp.WaitVisible(chromedp.CSS(`#conditions .group[data-path="1"]`)),
		choose(`#conditions .group[data-path="1"] > .group-head select.combine`, "any"),
		chromedp.Click(chromedp.CSS(`#conditions .group[data-path="1"] > .group-head input.negate`)),
		choose(cond("1.0", "select.trait"), "country"),
		choose(cond("1.0", "select.op"), "eq"),
		chromedp.SendKeys(chromedp.CSS(cond("1.0", "input.value")), "NL"),
		waitText("#preview:not(.busy) #count", notNL),
		chromedp.Click(chromedp.CSS(`#conditions .group[data-path="1"] > .group-actions .add-condition`)),
		choose(cond("1.1", "select.trait"), "country"),
		choose(cond("1.1", "select.op"), "eq"),
		chromedp.SendKeys(chromedp.CSS(cond("1.1", "input.value")), "BE"),
		waitText("#preview:not(.busy) #count", notNLBE),
		chromedp.WaitVisible(chromedp.CSS(`#preview table.sample tbody tr`)),
		// before saving, compare with vip: everyone who spent 1000 is one
		choose("#overlap-with", "vip"),
		waitContains("#overlap-words", notNLBE+" people are in both"),
	)
	// the marketer's sample is masked by the API, and shown as hidden
	sample, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#preview")))
	require.NoError(t, err)
	require.NotRegexp(t, `[a-z0-9.]{2,}@[a-z0-9-]{2,}\.`, sample, "a marketer sees masked personal data only")
	require.Contains(t, sample, "hidden for your role")

	labelled(t, ctx, "segment builder")

	// hold 10% out to measure the campaign, and save it
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#seg-holdout"), "10"),
		waitContains("#preview:not(.busy)", "held out"),
		chromedp.SendKeys(chromedp.CSS("#seg-name"), "big_spenders_abroad"),
		chromedp.SendKeys(chromedp.CSS("#seg-desc"), "Spent 1000 or more, outside the Netherlands and Belgium"),
		chromedp.Click(chromedp.CSS("#save")),
		chromedp.WaitVisible(chromedp.CSS(`.seglist a[data-segment="big_spenders_abroad"]`)),
		waitContains("#toast", "Saved"),
		screenshot(t, "2-segment-builder"),
	)
	var saved struct {
		Source     string `json:"source"`
		Definition struct {
			Where   map[string]any `json:"where"`
			Holdout float64        `json:"holdout"`
		} `json:"definition"`
	}
	s.call(t, "admin", "GET", "/segments/big_spenders_abroad", nil, &saved)
	require.Equal(t, "ui", saved.Source)
	require.Equal(t, 10.0, saved.Definition.Holdout)
	require.JSONEq(t, jsonOf(t, map[string]any{"all": []any{ltv(1000), map[string]any{"not": map[string]any{"any": []any{country("NL"), country("BE")}}}}}),
		jsonOf(t, saved.Definition.Where))

	// saved, it compares through the overlap API: the same figure
	do(t, ctx,
		chromedp.WaitVisible(chromedp.CSS("#overlap-with")),
		choose("#overlap-with", "vip"),
		waitContains("#overlap-words", notNLBE+" people are in both"),
	)

	// an event with a detail, by clicking: added something of 50 or more to
	// the cart in the last 7 days, as the project's big_spenders_recent_cart
	var recentCart preview
	s.call(t, "marketer", "POST", "/segments/preview", map[string]any{"name": "big_spenders_recent_cart"}, &recentCart)
	require.NotEqual(t, fmtCount(recentCart.Count), count(map[string]any{"event": map[string]any{"source": "web_events", "name": "add_to_cart", "within": "7d"}}),
		"the detail must change the count")
	do(t, ctx,
		chromedp.Click(chromedp.CSS("#new-segment")),
		chromedp.WaitVisible(chromedp.CSS(cond("0", "select.kind"))),
		choose(cond("0", "select.kind"), "event"),
		choose(cond("0", "select.source"), "web_events"),
		chromedp.WaitVisible(chromedp.CSS(cond("0", "input.event-name"))),
		chromedp.SendKeys(chromedp.CSS(cond("0", "input.event-name")), "add_to_cart"),
		chromedp.SendKeys(chromedp.CSS(cond("0", "input.days")), "7"),
		chromedp.Click(chromedp.CSS(cond("0", "button.add-where"))),
		choose(cond("0", `.where-row[data-where="0"] select.column`), "value"),
		choose(cond("0", `.where-row[data-where="0"] select.op`), "gte"),
		chromedp.SendKeys(chromedp.CSS(cond("0", `.where-row[data-where="0"] input.wvalue`)), "50"),
		waitText("#preview:not(.busy) #count", fmtCount(recentCart.Count)),
	)

	// project segments open read-only, with their conditions and count:
	// an excluded event, and an event with a detail
	var abandoners preview
	s.call(t, "marketer", "POST", "/segments/preview", map[string]any{"name": "cart_abandoners"}, &abandoners)
	do(t, ctx,
		chromedp.Click(chromedp.CSS(`.seglist a[data-segment="cart_abandoners"]`)),
		waitText(`#preview[data-shown="cart_abandoners"]:not(.busy) #count`, fmtCount(abandoners.Count)),
		chromedp.WaitVisible(chromedp.CSS(cond("1", "input.negate:checked"))),
		chromedp.WaitVisible(chromedp.CSS("#save-copy")),
		chromedp.WaitNotPresent(chromedp.CSS("#save")),
		screenshot(t, "2b-project-segment"),
		chromedp.Click(chromedp.CSS(`.seglist a[data-segment="big_spenders_recent_cart"]`)),
		chromedp.WaitVisible(chromedp.CSS(cond("0", ".where-row select.column"))),
	)
	col, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#conditions .cond[data-path="0"] .where-row select.column').value`))
	require.NoError(t, err)
	require.Equal(t, "value", col, "the event's detail (value at least 50) is shown as fields")

	// a dry run from the sync dashboard
	var dry struct {
		Added  int64 `json:"added"`
		Sample []struct {
			Key map[string]string `json:"key"`
		} `json:"sample"`
	}
	s.call(t, "admin", "POST", "/syncs/churn_risk_to_crm/dry-run", nil, &dry)
	require.Greater(t, len(dry.Sample), 1, "the dry run shows who would be sent")
	// the crm refuses one of them: the run is partial, and says why
	refused := dry.Sample[len(dry.Sample)-1].Key
	s.crm.Reject(webhook.KeyOf(refused))
	do(t, ctx,
		chromedp.Navigate(s.url+"/#/syncs"),
		chromedp.WaitVisible(chromedp.CSS(`[data-sync="churn_risk_to_crm"] button.dry-run`)),
		chromedp.Click(chromedp.CSS(`[data-sync="churn_risk_to_crm"] button.dry-run`)),
		waitContains("#sync-result-churn_risk_to_crm .dry-result", "would add "+fmtCount(dry.Added)),
		// what would be sent is shown to the marketer masked, and marked so
		chromedp.WaitVisible(chromedp.CSS("#sync-result-churn_risk_to_crm table.sample .masked")),
		// then for real: the run shows in the history, and the card is healthy
		chromedp.Click(chromedp.CSS(`[data-sync="churn_risk_to_crm"] button.run-now`)),
		waitContains(`[data-sync="churn_risk_to_crm"] table.runs tbody`, "Partial"),
		waitText(`[data-sync="churn_risk_to_crm"] .health`, "Some rejected"),
		chromedp.Click(chromedp.CSS(`[data-sync="churn_risk_to_crm"] table.runs button.why`)),
		waitContains(`[data-sync="churn_risk_to_crm"] table.rejected`, "block list"),
		waitContains(`[data-sync="churn_risk_to_crm"] table.rejected`, "***@"),
		chromedp.WaitVisible(chromedp.CSS(`[data-sync="churn_risk_to_crm"] svg.chart rect.bar`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-sync="churn_risk_to_crm"] svg.chart circle.dot`)),
		chromedp.WaitNotPresent(chromedp.CSS(`.sync-detail .loading`)),
		screenshot(t, "3-syncs"),
	)
	// the marketer never sees the refused person's address, not even
	// inside the destination's reason
	page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	require.NoError(t, err)
	require.NotContains(t, page, refused["email"])

	// where the destination keeps its data, and how many people may go there
	var statuses []struct {
		Name            string `json:"name"`
		Region          string `json:"region"`
		AllowedProfiles *int64 `json:"allowed_profiles"`
	}
	s.call(t, "marketer", "GET", "/syncs", nil, &statuses)
	checked := 0
	for _, l := range statuses {
		if l.Name != "churn_risk_to_crm" {
			continue
		}
		checked++
		require.Equal(t, "eu", l.Region)
		require.NotNil(t, l.AllowedProfiles)
		do(t, ctx,
			waitText(`[data-sync="churn_risk_to_crm"] .region`, "in the EU"),
			waitContains(`[data-sync="churn_risk_to_crm"] .allowed`, fmtCount(*l.AllowedProfiles)+" people"),
		)
	}
	require.Equal(t, 1, checked, "churn_risk_to_crm is listed")
	labelled(t, ctx, "syncs")
	var runs []struct {
		Added    int64  `json:"added"`
		Rejected int64  `json:"rejected"`
		Status   string `json:"status"`
	}
	s.call(t, "admin", "GET", "/syncs/churn_risk_to_crm/runs", nil, &runs)
	require.Len(t, runs, 1, "the one run now (a dry run is not a run)")
	require.Equal(t, int64(1), runs[0].Rejected)
	require.Equal(t, dry.Added, runs[0].Added+runs[0].Rejected, "the run sends what the dry run said it would, but for the one refused")

	// an editor creates a sync from the nested segment: to the crm, add and
	// update, with the first name; the server's objection to a taken name
	// shows on the form; then a dry run of the new sync
	const newSync = "big_spenders_abroad_to_crm_webhook"
	do(t, ctx,
		logout(),
		login(s, "editor"),
		chromedp.WaitVisible(chromedp.CSS(`.seglist a[data-segment="big_spenders_abroad"]`)),
		chromedp.Click(chromedp.CSS(`.seglist a[data-segment="big_spenders_abroad"]`)),
		chromedp.WaitVisible(chromedp.CSS("#create-sync summary")),
		chromedp.Click(chromedp.CSS("#create-sync summary")),
		chromedp.WaitVisible(chromedp.CSS("#sync-destination")),
		chromedp.Click(chromedp.CSS("#create-sync-go")),
		waitContains("#create-sync-result", "Choose where to send"),
		choose("#sync-destination", "crm_webhook"),
		chromedp.Poll[chromedp.Void](`document.querySelector("#sync-name").value === "`+newSync+`"`),
		chromedp.Click(chromedp.CSS(`input[name="sync-mode"][value="upsert"]`)),
		chromedp.Click(chromedp.CSS(`[data-pairs="field"] .add-pair`)),
		choose(`[data-pairs="field"] .pair select.pair-trait`, "first_name"),
		chromedp.Evaluate[chromedp.Void](`(() => { const n = document.querySelector("#sync-name"); n.value = "churn_risk_to_crm"; n.dispatchEvent(new Event("input", {bubbles: true})); })()`),
		chromedp.Click(chromedp.CSS("#create-sync-go")),
		waitContains("#create-sync-result .error", "churn_risk_to_crm"),
		chromedp.Evaluate[chromedp.Void](`(() => { const n = document.querySelector("#sync-name"); n.value = "`+newSync+`"; n.dispatchEvent(new Event("input", {bubbles: true})); })()`),
		screenshot(t, "2c-create-sync"),
		chromedp.Click(chromedp.CSS("#create-sync-go")),
		chromedp.WaitVisible(chromedp.CSS(`#segment-sync-list li[data-sync="`+newSync+`"]`)),
		// a segment saved here has members after the next warehouse run:
		// the editor starts one
		chromedp.WaitVisible(chromedp.CSS("#not-built #run-warehouse")),
		chromedp.Click(chromedp.CSS("#run-warehouse")),
		chromedp.WaitNotPresent(chromedp.CSS("#not-built")),
		chromedp.WaitVisible(chromedp.CSS(`#segment-sync-list li[data-sync="`+newSync+`"] button.dry-run`)),
	)
	labelled(t, ctx, "create a sync")
	var created []struct {
		Name, Segment, Destination, Mode, Source string
	}
	s.call(t, "admin", "GET", "/syncs", nil, &created)
	listed := false
	for _, c := range created {
		if c.Name == newSync {
			listed = true
			require.Equal(t, "big_spenders_abroad", c.Segment)
			require.Equal(t, "crm_webhook", c.Destination)
			require.Equal(t, "upsert", c.Mode)
			require.Equal(t, "ui", c.Source)
		}
	}
	require.True(t, listed, "the sync is listed: %+v", created)
	var newDry struct {
		Added  int64 `json:"added"`
		Sample []struct {
			Fields map[string]any `json:"fields"`
		} `json:"sample"`
	}
	s.call(t, "admin", "POST", "/syncs/"+newSync+"/dry-run", nil, &newDry)
	require.NotEmpty(t, newDry.Sample)
	require.Contains(t, newDry.Sample[0].Fields, "first_name", "the field chosen on the form is sent")
	do(t, ctx,
		chromedp.Click(chromedp.CSS(`#segment-sync-list li[data-sync="`+newSync+`"] button.dry-run`)),
		waitContains("#sync-result-"+newSync+" .dry-result", "would add "+fmtCount(newDry.Added)),
		screenshot(t, "2d-new-sync-dry-run"),
		// on the dashboard: pause it, then delete it (a sync made here)
		chromedp.Navigate(s.url+"/#/syncs"),
		chromedp.WaitVisible(chromedp.CSS(`[data-sync="`+newSync+`"] button.pause`)),
		chromedp.Click(chromedp.CSS(`[data-sync="`+newSync+`"] button.pause`)),
		waitText(`[data-sync="`+newSync+`"] .health`, "Paused"),
		waitText(`[data-sync="`+newSync+`"] button.pause`, "Resume"),
		chromedp.WaitNotPresent(chromedp.CSS(`[data-sync="churn_risk_to_crm"] button.delete-sync`)), // YAML ones stay
		chromedp.Click(chromedp.CSS(`[data-sync="`+newSync+`"] button.delete-sync`)),
		chromedp.WaitVisible(chromedp.CSS("#dialog-yes")),
		chromedp.Click(chromedp.CSS("#dialog-yes")),
		chromedp.WaitNotPresent(chromedp.CSS(`[data-sync="`+newSync+`"]`)),
	)
	var after []struct{ Name string }
	s.call(t, "admin", "GET", "/syncs", nil, &after)
	for _, a := range after {
		require.NotEqual(t, newSync, a.Name, "deleted from the dashboard")
	}

	// campaign results: the crm sync sent high_churn_risk; its lift on
	// completed orders since September, as the API measures it, with the
	// chart and its interval band
	var lift struct {
		Sent struct {
			Members int64 `json:"members"`
		} `json:"sent"`
		Lift   float64 `json:"lift"`
		Series []any   `json:"series"`
	}
	s.call(t, "marketer", "GET", "/segments/high_churn_risk/lift?metric=web_events.order_completed&since=2026-09-01&points=12", nil, &lift)
	require.Greater(t, len(lift.Series), 2, "a series to draw")
	liftText := strconv.FormatFloat(lift.Lift*100, 'f', 1, 64) + " pt"
	if lift.Lift > 0 {
		liftText = "+" + liftText
	}
	do(t, ctx,
		chromedp.Navigate(s.url+"/#/results"),
		chromedp.WaitVisible(chromedp.CSS("#lift-segment")),
		choose("#lift-segment", "high_churn_risk"),
		choose("#lift-metric", "web_events.order_completed"),
		chromedp.Evaluate[chromedp.Void](`(() => { const d = document.querySelector("#lift-since"); d.value = "2026-09-01"; d.dispatchEvent(new Event("change", {bubbles: true})); })()`),
		waitContains("#results .figure.sent", fmtCount(lift.Sent.Members)+" people"),
		waitText("#results .figure.lift .fig", liftText),
		chromedp.WaitVisible(chromedp.CSS("#lift-chart svg.chart path.band")),
		chromedp.WaitVisible(chromedp.CSS("#verdict")),
		screenshot(t, "5-results"),
	)
	labelled(t, ctx, "campaign results")
	do(t, ctx, logout())

	// a support agent looks a customer up by e-mail
	var who struct {
		Identity struct {
			Identifiers []struct{ Type, Value string } `json:"identifiers"`
		} `json:"identity"`
	}
	s.call(t, "admin", "GET", "/profiles/lookup?q=customer_id:C100001", nil, &who)
	email := ""
	for _, i := range who.Identity.Identifiers {
		if i.Type == "email" {
			email = i.Value
		}
	}
	require.NotEmpty(t, email, "customer C100001 of the demo has an e-mail address")
	sent := dry.Sample[0].Key["email"]
	require.NotEmpty(t, sent)
	do(t, ctx,
		login(s, "support"),
		chromedp.Navigate(s.url+"/#/profiles"),
		chromedp.WaitVisible(chromedp.CSS("#lookup")),
		chromedp.SendKeys(chromedp.CSS("#lookup"), email),
		chromedp.Click(chromedp.CSS("#lookup-go")),
		chromedp.WaitVisible(chromedp.CSS("#traits")),
		waitContains("#profile", "C100001"),
		waitContains("#traits", email),
		screenshot(t, "4-profile"),
		// a person the crm sync sent: the destination is listed
		chromedp.Evaluate[chromedp.Void](`void (document.querySelector("#lookup").value = "")`),
		chromedp.SendKeys(chromedp.CSS("#lookup"), sent),
		chromedp.Click(chromedp.CSS("#lookup-go")),
		waitContains("#traits", sent),
		waitContains(`#deliveries tr[data-sync="churn_risk_to_crm"]`, "Crm webhook"),
		waitContains(`#deliveries tr[data-sync="churn_risk_to_crm"]`, "Sent"),
		screenshot(t, "4b-profile-deliveries"),
		chromedp.Evaluate[chromedp.Void](`void (document.querySelector("#lookup").value = "")`),
		chromedp.SendKeys(chromedp.CSS("#lookup"), refused["email"]),
		chromedp.Click(chromedp.CSS("#lookup-go")),
		waitContains("#traits", refused["email"]),
		waitContains(`#deliveries tr[data-sync="churn_risk_to_crm"]`, "Rejected"),
		waitContains(`#deliveries tr[data-sync="churn_risk_to_crm"]`, "block list"),
		// from a segment's sample to the person's page
		chromedp.Navigate(s.url+"/#/segments"),
		chromedp.WaitVisible(chromedp.CSS(`.seglist a[data-segment="vip"]`)),
		chromedp.Click(chromedp.CSS(`.seglist a[data-segment="vip"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#preview[data-shown="vip"] table.sample tbody a`)),
		chromedp.Click(chromedp.CSS(`#preview table.sample tbody a`)),
		chromedp.WaitVisible(chromedp.CSS("#traits")),
		chromedp.WaitVisible(chromedp.CSS("#segments")),
		waitContains("#segments", "Vip"),
		chromedp.Evaluate[chromedp.Void](`void (document.querySelector("#lookup").value = "")`),
		chromedp.SendKeys(chromedp.CSS("#lookup"), "nobody@nowhere.test"),
		chromedp.Click(chromedp.CSS("#lookup-go")),
		chromedp.WaitVisible(chromedp.CSS("#not-found")),
	)
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#not-found")))
	require.NoError(t, err)
	require.True(t, strings.Contains(text, "email:nobody@nowhere.test"), text)
	labelled(t, ctx, "customer lookup")

	// an admin exports, then forgets, a person the crm sync sent: the
	// dialog says what happens, Cancel changes nothing, and the report
	// names the destination asked to erase them
	do(t, ctx,
		logout(),
		login(s, "admin"),
		chromedp.Navigate(s.url+"/#/profiles"),
		chromedp.WaitVisible(chromedp.CSS("#lookup")),
		chromedp.SendKeys(chromedp.CSS("#lookup"), sent),
		chromedp.Click(chromedp.CSS("#lookup-go")),
		waitContains("#traits", sent),
		chromedp.Click(chromedp.CSS("#export")),
		waitContains("#export-ready", "The export is ready"),
		chromedp.Click(chromedp.CSS("#forget")),
		chromedp.WaitVisible(chromedp.CSS("dialog #forget-explained")),
		waitContains("dialog #forget-explained", "email:"+sent),
		waitContains("dialog #forget-explained", "suppression list"),
		screenshot(t, "6-forget-dialog"),
		chromedp.Click(chromedp.CSS("#dialog-no")),
		chromedp.WaitNotPresent(chromedp.CSS("dialog")),
	)
	var found map[string]any
	s.call(t, "admin", "GET", "/profiles/lookup?q=email:"+sent, nil, &found) // Cancel forgot no one
	do(t, ctx,
		chromedp.Click(chromedp.CSS("#forget")),
		chromedp.WaitVisible(chromedp.CSS("#dialog-yes")),
		chromedp.Click(chromedp.CSS("#dialog-yes")),
		chromedp.WaitVisible(chromedp.CSS("#forget-report")),
		waitContains(`#erasures li[data-sync="churn_risk_to_crm"]`, "Deleted"),
		screenshot(t, "6-forgotten"),
		chromedp.Click(chromedp.CSS("#lookup-go")),
		chromedp.WaitVisible(chromedp.CSS("#not-found")),
	)
}
