package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/cohort-cdp/cohort/api"
	"github.com/cohort-cdp/cohort/engine"
)

func serveCmd(g *globals) *cobra.Command {
	var (
		addr          string
		secureCookies bool
		readIdle      time.Duration
	)
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the scheduler and serve the web UI (/), the API (/api/v1), /metrics, /healthz and /readyz until SIGINT or SIGTERM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var h slog.Handler = slog.NewTextHandler(cmd.ErrOrStderr(), nil)
			if g.json {
				h = slog.NewJSONHandler(cmd.ErrOrStderr(), nil)
			}
			log := slog.New(h)
			svc, err := g.service()
			if err != nil {
				return err
			}
			defer svc.Close()
			svc.Logger = log
			svc.Options.ReadIdle = readIdle
			sched, err := svc.Scheduler(ctx, engine.SchedulerOptions{Log: log})
			if err != nil {
				return err
			}
			// Every job has its mark before the port opens: ready means the
			// scheduler has read the state store.
			if err := sched.Survey(ctx); err != nil {
				return err
			}
			ready := func(ctx context.Context) error {
				if ok, err := sched.Ready(); !ok {
					if err == nil {
						err = errors.New("the scheduler has not read the state store yet")
					}
					return err
				}
				return svc.Ready(ctx)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return usagef("--addr %s: %v", addr, err)
			}
			srv := &http.Server{
				Handler:           api.New(api.Options{Service: svc, Ready: ready, Log: log, UI: api.WebUI(), SecureCookies: secureCookies}),
				ReadHeaderTimeout: 10 * time.Second,
			}
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ln) }()
			schedCtx, stopScheduler := context.WithCancel(ctx)
			defer stopScheduler()
			scheduled := make(chan error, 1)
			go func() { scheduled <- sched.Run(schedCtx) }()
			if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() && !secureCookies {
				log.Warn("cohort serve: listening beyond this machine over plain HTTP: put a TLS proxy in front and pass --secure-cookies, so the login cookie only travels encrypted", "addr", ln.Addr().String())
			}
			log.Info("cohort serve: listening", "addr", "http://"+ln.Addr().String(), "project", svc.Project.Name, "jobs", len(sched.Jobs()))
			fmt.Fprintf(cmd.OutOrStdout(), "listening on http://%s\n", ln.Addr())

			var serveErr error
			select {
			case <-ctx.Done():
			case serveErr = <-served:
			}
			// Stop taking requests, let those in flight finish, and wait for
			// the scheduler: a job running now is cancelled and runs again at
			// the next start.
			log.Info("cohort serve: shutting down")
			shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := srv.Shutdown(shutdown); err != nil {
				log.Warn("cohort serve: HTTP shutdown", "err", err)
			}
			stopScheduler()
			<-scheduled
			log.Info("cohort serve: stopped")
			if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
				return fmt.Errorf("serve: %w", serveErr)
			}
			return nil
		},
	}
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (127.0.0.1: this machine only; :8080 for every interface)")
	c.Flags().BoolVar(&secureCookies, "secure-cookies", false, "mark the login cookie Secure (HTTPS only) although this process speaks HTTP: behind a TLS-terminating proxy")
	c.Flags().DurationVar(&readIdle, "read-idle", 30*time.Second, "an embedded DuckDB warehouse: let go of the file after this long without an API read, so another process may write to it (BI tools may read it meanwhile; 0: keep it open)")
	return c
}
