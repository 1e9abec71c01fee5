package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cohort-cdp/cohort/engine"
	"github.com/cohort-cdp/cohort/models"
)

// Options are what the server answers from.
type Options struct {
	// Service is the engine behind /api/v1; nil serves the probes only.
	Service *engine.Service
	// Ready says whether the process can do its work (the state store
	// answers); nil is always ready.
	Ready func(ctx context.Context) error
	Log   *slog.Logger // request log; nil discards it
	// UI serves every path outside /api, /healthz, /readyz and /metrics
	// (the embedded web UI); nil answers 404 there.
	UI http.Handler
	// SecureCookies marks the session cookie Secure even without TLS at
	// this process (behind a TLS-terminating proxy).
	SecureCookies bool
	// LoginAttempts per client address per minute (default 10).
	LoginAttempts int
}

type server struct {
	svc     *engine.Service
	log     *slog.Logger
	o       Options
	login   *limiter
	pii     map[string]bool // the project's personal keys (pii: true columns and their traits)
	reg     *prometheus.Registry
	latency *prometheus.HistogramVec
}

// New returns the HTTP handler of `cohort serve`:
//
//	GET /healthz  200 while the process serves HTTP (liveness)
//	GET /readyz   200 when Ready says so, else 503 with the reason (readiness)
//	/api/v1/...   the JSON API (see openapi.json), when Service is set
//	GET /metrics  Prometheus metrics (from this machine, or with a token)
func New(o Options) http.Handler {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.LoginAttempts <= 0 {
		o.LoginAttempts = 10
	}
	s := &server{svc: o.Service, log: log, o: o, login: newLimiter(o.LoginAttempts, time.Minute)}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	s.metrics()
	e.Use(s.observe)
	e.Use(requestLog(log))
	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.GET("/readyz", func(c echo.Context) error {
		if o.Ready != nil {
			ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
			defer cancel()
			if err := o.Ready(ctx); err != nil {
				return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "not ready", "error": err.Error()})
			}
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	})
	e.GET("/api/v1/openapi.json", func(c echo.Context) error {
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSONCharsetUTF8, openAPI)
	})
	if s.svc != nil {
		s.pii = s.svc.PersonalKeys()
		s.routes(e)
	}
	if o.UI != nil {
		e.GET("/*", echo.WrapHandler(o.UI))
	}
	return e
}

// errorHandler writes every error as {"error": ...}.
func (s *server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code, msg := http.StatusInternalServerError, err.Error()
	var details any
	var he *echo.HTTPError
	var unknown *engine.UnknownError
	var conflict *engine.ConflictError
	var busy *engine.BusyError
	var list models.ErrorList
	var one models.Error
	switch {
	case errors.As(err, &he):
		code, msg = he.Code, http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok {
			msg = m
		}
	case errors.As(err, &list):
		code, msg = http.StatusUnprocessableEntity, invalidWhat(c)
		details = errorDetails(list)
	case errors.As(err, &one):
		code, msg = http.StatusUnprocessableEntity, invalidWhat(c)
		details = errorDetails(models.ErrorList{one})
	case errors.Is(err, engine.ErrNotFound):
		code = http.StatusNotFound
	case errors.As(err, &unknown):
		code = http.StatusNotFound
	case errors.As(err, &conflict), errors.As(err, &busy):
		code = http.StatusConflict
	}
	if code >= 500 {
		s.log.Error("http", "path", c.Request().URL.Path, "err", err)
	}
	body := map[string]any{"error": msg}
	if details != nil {
		body["details"] = details
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(code)
		return
	}
	_ = c.JSON(code, body)
}

// invalidWhat names what a 422 refused, by the route that refused it.
func invalidWhat(c echo.Context) string {
	if strings.HasPrefix(c.Path(), "/api/v1/syncs") {
		return "the sync is not valid"
	}
	return "the segment is not valid"
}

type errorDetail struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Col     int    `json:"col,omitempty"`
	Message string `json:"message"`
}

func errorDetails(l models.ErrorList) []errorDetail {
	out := make([]errorDetail, len(l))
	for i, e := range l {
		out[i] = errorDetail{File: e.Pos.File, Line: e.Pos.Line, Col: e.Pos.Col, Message: e.Msg}
	}
	return out
}

func fail(c echo.Context, code int, msg string) error {
	return echo.NewHTTPError(code, msg)
}

// reply writes v as JSON, with personal data masked for the roles without
// access to it (marketer, editor).
func reply(c echo.Context, code int, v any) error {
	if t := who(c); t == nil || (t.Role != marketer && t.Role != editor) {
		return c.JSON(code, v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return err
	}
	pii, _ := c.Get(piiKey).(map[string]bool)
	return c.JSON(code, mask(doc, "", pii))
}

// requestLog writes one structured line per request; probes that pass are
// logged at debug, so a supervisor asking every few seconds does not fill
// the log.
func requestLog(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			level := slog.LevelInfo
			p := c.Request().URL.Path
			if (p == "/healthz" || p == "/readyz" || p == "/metrics") && c.Response().Status < 400 {
				level = slog.LevelDebug
			}
			log.Log(c.Request().Context(), level, "http", "method", c.Request().Method, "path", p,
				"status", c.Response().Status, "took", time.Since(start).Round(time.Microsecond))
			return nil
		}
	}
}

func intParam(c echo.Context, name string, def, max int) int {
	n, err := strconv.Atoi(c.QueryParam(name))
	if err != nil || n <= 0 {
		return def
	}
	return min(n, max)
}
