// Command snowflake-emulator serves github.com/nnnkkk7/snowflake-emulator
// (the Snowflake protocol over DuckDB) on the address -addr gives,
// 127.0.0.1 by default: the emulator's own command listens on every
// interface, which a test machine must not.
package main

import (
	"database/sql"
	"flag"
	"log"
	"net/http"
	"os"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/go-chi/chi/v5"
	"github.com/nnnkkk7/snowflake-emulator/pkg/connection"
	"github.com/nnnkkk7/snowflake-emulator/pkg/metadata"
	"github.com/nnnkkk7/snowflake-emulator/pkg/query"
	"github.com/nnnkkk7/snowflake-emulator/pkg/session"
	"github.com/nnnkkk7/snowflake-emulator/pkg/stage"
	"github.com/nnnkkk7/snowflake-emulator/server/handlers"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	stages := flag.String("stages", os.TempDir(), "folder for COPY INTO stages")
	flag.Parse()

	db, err := sql.Open("duckdb", "")
	if err != nil {
		log.Fatal(err)
	}
	conns := connection.NewManager(db)
	repo, err := metadata.NewRepository(conns)
	if err != nil {
		log.Fatal(err)
	}
	sessions := session.NewManager(24 * time.Hour)
	statements := query.NewStatementManager(time.Hour)
	exec := query.NewExecutor(conns, repo)
	exec.Configure(
		query.WithCopyProcessor(query.NewCopyProcessor(stage.NewManager(repo, *stages), repo, exec)),
		query.WithMergeProcessor(query.NewMergeProcessor(exec)),
	)
	sh := handlers.NewSessionHandler(sessions, repo)
	qh := handlers.NewQueryHandler(exec, sessions)
	rest := handlers.NewRestAPIv2Handler(exec, statements, repo)

	r := chi.NewRouter()
	// what gosnowflake calls
	r.Post("/session/v1/login-request", sh.Login)
	r.Post("/session/token-request", sh.TokenRequest)
	r.Post("/session/heartbeat", sh.Heartbeat)
	r.Post("/session/renew", sh.RenewSession)
	r.Post("/session/logout", sh.Logout)
	r.Post("/session/use", sh.UseContext)
	r.Post("/session", sh.CloseSession)
	r.Post("/queries/v1/query-request", qh.ExecuteQuery)
	r.Post("/queries/v1/abort-request", qh.AbortQuery)
	r.Post("/api/v2/statements", rest.SubmitStatement)
	r.Get("/api/v2/statements/{handle}", rest.GetStatement)
	r.Post("/telemetry/send", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"success":true}`))
	})
	r.Get("/health", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("OK")) })

	srv := &http.Server{Addr: *addr, Handler: r, ReadTimeout: 5 * time.Minute, WriteTimeout: 5 * time.Minute}
	log.Printf("snowflake emulator on %s", *addr)
	log.Fatal(srv.ListenAndServe())
}
