package api

import (
	"context"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cohort-cdp/cohort/engine"
)

// metrics registers the server's own registry (not the global one, so
// several servers in one process, as in tests, keep apart):
//
//	cohort_http_request_duration_seconds{method,route,status}  API latencies
//	cohort_run_duration_seconds, cohort_run_last_success        the last warehouse run (from the state store)
//	cohort_sync_duration_seconds{sync}, cohort_sync_rows_sent{sync},
//	cohort_sync_rejections{sync}, cohort_sync_paused{sync}       the last run of each sync (from the state store)
//
// Run and sync figures are read from the state store at each scrape, so
// they include what the scheduler and other replicas did.
func (s *server) metrics() {
	s.reg = prometheus.NewRegistry()
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "cohort_http_request_duration_seconds",
		Help:    "Latency of API requests, by route and status.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"method", "route", "status"})
	s.reg.MustRegister(s.latency)
	if s.svc != nil {
		s.reg.MustRegister(&stateCollector{svc: s.svc})
	}
}

// observe times every request by its route pattern (not its path, which
// would make one series per segment or profile).
func (s *server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" || route == "/*" {
			route = "other"
		}
		s.latency.WithLabelValues(c.Request().Method, route, strconv.Itoa(c.Response().Status)).Observe(time.Since(start).Seconds())
		return nil
	}
}

// serveMetrics answers this machine without a token, others with one.
func (s *server) serveMetrics(c echo.Context) error {
	if !loopback(c.Request()) {
		if err := s.authenticate(func(echo.Context) error { return nil })(c); err != nil {
			return err
		}
	}
	promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}).ServeHTTP(c.Response(), c.Request())
	return nil
}

var (
	runDuration  = prometheus.NewDesc("cohort_run_duration_seconds", "Duration of the last finished warehouse run.", []string{"status"}, nil)
	runFinished  = prometheus.NewDesc("cohort_run_last_finished_timestamp_seconds", "When the last warehouse run finished.", []string{"status"}, nil)
	syncDuration = prometheus.NewDesc("cohort_sync_duration_seconds", "Duration of the last run of a sync.", []string{"sync", "status"}, nil)
	syncSent     = prometheus.NewDesc("cohort_sync_rows_sent", "Rows the last run of a sync delivered (added, changed, removed).", []string{"sync"}, nil)
	syncRejected = prometheus.NewDesc("cohort_sync_rejections", "Rows the destination refused in the last run of a sync.", []string{"sync"}, nil)
	syncPaused   = prometheus.NewDesc("cohort_sync_paused", "1 while a sync is paused.", []string{"sync"}, nil)
)

type stateCollector struct{ svc *engine.Service }

func (sc *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{runDuration, runFinished, syncDuration, syncSent, syncRejected, syncPaused} {
		ch <- d
	}
}

func (sc *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if runs, err := sc.svc.Runs(ctx, 20); err == nil {
		for _, r := range runs {
			if r.FinishedAt != nil {
				ch <- prometheus.MustNewConstMetric(runDuration, prometheus.GaugeValue, r.FinishedAt.Sub(r.StartedAt).Seconds(), r.Status)
				ch <- prometheus.MustNewConstMetric(runFinished, prometheus.GaugeValue, float64(r.FinishedAt.Unix()), r.Status)
				break
			}
		}
	}
	syncs, err := sc.svc.SyncFigures(ctx) // the state store only: a scrape never queries the warehouse
	if err != nil {
		return
	}
	for _, st := range syncs {
		paused := 0.0
		if st.Paused {
			paused = 1
		}
		ch <- prometheus.MustNewConstMetric(syncPaused, prometheus.GaugeValue, paused, st.Name)
		if r := st.LastRun; r != nil && r.FinishedAt != nil {
			ch <- prometheus.MustNewConstMetric(syncDuration, prometheus.GaugeValue, r.FinishedAt.Sub(r.StartedAt).Seconds(), st.Name, r.Status)
			ch <- prometheus.MustNewConstMetric(syncSent, prometheus.GaugeValue, float64(r.Added+r.Changed+r.Removed), st.Name)
			ch <- prometheus.MustNewConstMetric(syncRejected, prometheus.GaugeValue, float64(r.Rejected), st.Name)
		}
	}
}
