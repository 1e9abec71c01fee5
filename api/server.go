package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Options are what the server answers from.
type Options struct {
	// Ready says whether the process can do its work (the state store
	// answers); nil is always ready.
	Ready func(ctx context.Context) error
	Log   *slog.Logger // request log; nil discards it
}

// New returns the HTTP handler of `cohort serve`:
//
//	GET /healthz  200 while the process serves HTTP (liveness)
//	GET /readyz   200 when Ready says so, else 503 with the reason (readiness)
func New(o Options) http.Handler {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
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
	return e
}

// requestLog writes one structured line per request.
func requestLog(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			level, path := slog.LevelInfo, c.Request().URL.Path
			if (path == "/healthz" || path == "/readyz") && c.Response().Status == http.StatusOK {
				level = slog.LevelDebug // a supervisor asks every few seconds
			}
			log.Log(c.Request().Context(), level, "http", "method", c.Request().Method, "path", path,
				"status", c.Response().Status, "took", time.Since(start).Round(time.Microsecond))
			return nil
		}
	}
}
